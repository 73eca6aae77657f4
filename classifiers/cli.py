"""``hotline-qa classify`` and ``hotline-qa train`` (contributed through entry points)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

logger = logging.getLogger("hotline_qa.classifiers.cli")

AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".amr", ".opus", ".wma"}


def _load_transcript(path: Path):
    from transcribe.records import Transcript, TranscriptFormatError

    if path.suffix.lower() == ".json":
        try:
            return Transcript.from_dict(json.loads(path.read_text("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path}: 不是有效的 JSON 文件 / not a valid JSON file ({exc})") from exc
        except TranscriptFormatError as exc:
            raise click.ClickException(f"{path}: 转写文件格式有误 / bad transcript document: {exc}") from exc
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise click.ClickException(f"{path}: 无法识别的文件类型，需要转写 JSON 或录音 / "
                                   f"expected a transcript .json or an audio file")
    from transcribe.audio import AudioError
    from transcribe.engine import Transcriber

    from transcribe.sidecar import read_sidecar

    metadata = read_sidecar(path) or None
    if metadata and "sidecar_error" in metadata:
        raise click.ClickException(f"元数据文件无法读取，请修正或删除 / the metadata sidecar "
                                   f"cannot be read, fix or remove it: {metadata['sidecar_error']}")
    try:
        return Transcriber().transcribe(path, metadata=metadata)
    except AudioError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("classify")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the classification as JSON.")
@click.option("--text-only", is_flag=True, help="Ignore voice measurements (words only).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A model directory written by 'hotline-qa train' (default: the shipped model).")
def classify_cmd(inputs: tuple[Path, ...], as_json: bool, text_only: bool, model_dir: Path | None) -> None:
    """Classify calls: call type, complaint type, probabilities and the cues behind them.

    INPUTS are transcript JSON documents (RULES.md) or recordings (transcribed first).

    Example:

        hotline-qa classify tests/data/truth/pub-002.truth.json
    """
    from classifiers.model import ClassifierError, load, load_default

    try:
        clf = load(model_dir) if model_dir else load_default()
    except ClassifierError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in inputs:
        transcript = _load_transcript(path)
        if text_only:
            for u in transcript.utterances:
                u.level_dbfs = None
        try:
            c = clf.classify(transcript)
        except ClassifierError as exc:
            raise click.ClickException(f"{path}: {exc}") from exc
        if as_json:
            click.echo(json.dumps({"input": str(path), **c.to_dict()}, ensure_ascii=False))
            continue
        from classifiers.records import CALL_TYPE_ZH, COMPLAINT_TYPE_ZH

        click.echo(f"{path}")
        click.echo(f"  来电类型 call type: {c.call_type} {CALL_TYPE_ZH[c.call_type]} "
                   f"({c.call_type_confidence:.2f})   " +
                   "  ".join(f"{k} {v:.2f}" for k, v in c.call_type_probabilities.items()))
        if c.complaint_type:
            click.echo(f"  投诉类型 complaint type: {c.complaint_type} {COMPLAINT_TYPE_ZH[c.complaint_type]} "
                       f"({c.complaint_confidence:.2f}, {c.source})   " +
                       "  ".join(f"{k} {v:.2f}" for k, v in c.complaint_probabilities.items()))
        click.echo("  依据 cues:")
        for cue in c.cues:
            click.echo(f"    - {cue}")


@click.command("train")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the shipped model in classifiers/model/).")
@click.option("--extra", "extra_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="JSON Lines of corrections: call_type, complaint_type and "
                                 "transcript/turns/text per line.")
@click.option("--no-cv", is_flag=True, help="Skip cross-validation (faster; no CV scores in metadata).")
def train_cmd(out_dir: Path | None, extra_path: Path | None, no_cv: bool) -> None:
    """Rebuild the classifier from the corpus (reproducible: fixed seeds and folds).

    Prints the training-data hash and the cross-validated scores, and writes
    classifier.skops + metadata.json.

    Example:

        hotline-qa train --out /tmp/model --extra corrections.jsonl
    """
    from classifiers.model import MODEL_DIR, ClassifierError, save, train

    extras = None
    if extra_path:
        try:
            extras = [json.loads(x) for x in extra_path.read_text("utf-8").splitlines() if x.strip()]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{extra_path}: 不是有效的 JSON Lines / not valid JSON Lines ({exc})") from exc
    t0 = time.perf_counter()
    try:
        clf = train(extras, cross_validate=not no_cv)
    except ClassifierError as exc:
        raise click.ClickException(str(exc)) from exc
    where = save(clf, out_dir or MODEL_DIR)
    m = clf.metadata
    click.echo(f"trained in {time.perf_counter() - t0:.1f} s: {m['examples']}")
    click.echo(f"data hash {m['data_hash'][:16]}")
    for k, v in m.get("cv", {}).items():
        click.echo(f"  cv {k}: {v:.4f}")
    click.echo(f"written to {where}")
