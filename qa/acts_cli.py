"""``hotline-qa acts``: the dialogue-act model — show an utterance's acts, retrain the heads
(with the supervisors' verdicts), export the verdicts."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

from qa.calls import _url
from qa.cli_options import db_option


@click.group("acts")
def acts_cmd() -> None:
    """对话行为模型 / the dialogue-act model under the rules (classifiers/acts.py)."""


def _read_jsonl(path: Path) -> list[dict]:
    try:
        return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path}: 不是有效的 JSON Lines / not valid JSON Lines "
                                   f"({exc}); one JSON object a line") from exc


@acts_cmd.command("tag")
@click.argument("texts", nargs=-1)
@click.option("--transcript", "transcript_path", type=click.Path(exists=True, dir_okay=False,
                                                                 path_type=Path),
              help="Tag every utterance of a transcript JSON instead.")
@click.option("--speaker", type=click.Choice(["agent", "customer"]), default="agent",
              show_default=True, help="Who says TEXTS.")
@click.option("--min", "min_p", type=float, default=0.3, show_default=True,
              help="Show acts with at least this probability.")
def tag_cmd(texts: tuple[str, ...], transcript_path: Path | None, speaker: str,
            min_p: float) -> None:
    """Show the acts of utterances, with probabilities.

    Example:

        hotline-qa acts tag "您是不出门还是不识字啊？" "给您添麻烦了，我马上安排。"
    """
    from classifiers.acts import ACTS, ActsError, load_default
    from qa.records import Transcript, TranscriptFormatError

    try:
        tagger = load_default()
    except ActsError as exc:
        raise click.ClickException(str(exc)) from exc
    if transcript_path:
        try:
            t = Transcript.from_dict(json.loads(transcript_path.read_text("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, TranscriptFormatError) as exc:
            raise click.ClickException(f"{transcript_path}: 转写文件格式有误 / bad transcript: {exc}") from exc
        rows = [(u.speaker, u.text, p) for u, p in zip(t.utterances, tagger.tag(t))]
    elif texts:
        rows = [(speaker, x, p) for x, p in zip(texts, tagger.probabilities(list(texts), speaker))]
    else:
        raise click.UsageError("give TEXTS or --transcript")
    for who, text, probs in rows:
        shown = "  ".join(f"{a}/{ACTS[a][1]} {p:.2f}" for a, p in
                          sorted(probs.items(), key=lambda kv: -kv[1]) if p >= min_p)
        click.echo(f"[{who}] {text}\n    {shown or '—'}")


@acts_cmd.command("verdicts")
@db_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="JSON Lines file to write.")
def verdicts_cmd(db_url: str | None, out_path: Path) -> None:
    """Export the supervisors' verdicts on findings as act training lines.

    Example:

        hotline-qa acts verdicts --out verdicts.jsonl
    """
    from models import session_scope
    from qa.verdicts import verdict_examples

    with session_scope(_url(db_url)) as s:
        rows = verdict_examples(s)
    out_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    click.echo(f"{len(rows)} 条 / lines written to {out_path}")


@acts_cmd.command("train")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the shipped model in classifiers/model/).")
@click.option("--extra", "extra_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More lines (JSON Lines: corpus lines, or verdicts {act, present, text}).")
@click.option("--from-db", is_flag=True,
              help="Add the supervisors' upheld/overturned findings from the database.")
@db_option
def train_cmd(out_dir: Path | None, extra_paths: tuple[Path, ...], from_db: bool,
              db_url: str | None) -> None:
    """Retrain the act heads on the corpus, extra lines and the stored verdicts.

    Example:

        hotline-qa acts train --from-db --out /srv/hotline-qa/acts-model
    """
    from classifiers.acts import MODEL_DIR, ActsError, save, train

    extra: list[dict] = []
    for p in extra_paths:
        extra += _read_jsonl(p)
    if from_db:
        from models import session_scope
        from qa.verdicts import verdict_examples

        with session_scope(_url(db_url)) as s:
            found = verdict_examples(s)
        click.echo(f"{len(found)} 条复核结论 / verdict lines from the database")
        extra += found
    t0 = time.perf_counter()
    try:
        tagger = train(extra)
    except ActsError as exc:
        raise click.ClickException(str(exc)) from exc
    where = save(tagger, out_dir or MODEL_DIR)
    m = tagger.metadata
    click.echo(f"trained in {time.perf_counter() - t0:.1f} s on {m['examples']} lines "
               f"({len(tagger.heads)} acts), data hash {m['data_hash'][:16]}")
    click.echo(f"written to {where}")
