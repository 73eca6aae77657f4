"""``hotline-qa rules test``: the rule studio's dry run from the command line.

A rule document (:mod:`qa.custom_rules`) is tried on stored calls (the last N, or a date
range, from the database of ``--db`` / ``HOTLINE_QA_DATABASE_URL``; the stored transcripts,
never the audio) or on transcript JSON files (``--calls``: files or folders of ``*.json``;
a ``*.truth.json``'s ``labels`` give the call type and the expected status, which then counts
as the verdict). Prints each call's status and the counts, and the precision and recall where
there are verdicts (:func:`qa.rule_store.dry_run`).
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from qa.cli_options import db_option

STATUS_ZH = {"pass": "合格", "fail": "不合格", "n/a": "不适用"}
#: a stored call's verdict (a supervisor's review of the code's fail) / a file's label
VERDICT = {"fail": "　主管：维持", "pass": "　主管：推翻"}
VERDICT_FILES = {"fail": "　标注：不合格", "pass": "　标注：合格"}


def _transcript_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.glob("*.json"))
        else:
            files.append(p)
    return [f for f in files if not f.name.endswith(".meta.json")]


def _read(path: Path, classify: bool) -> tuple[Any, dict[str, Any]]:
    from qa.pipeline import InputError, read_transcript
    tr = read_transcript(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # read_transcript read it a moment ago
        raise InputError(f"无法读取 / cannot read {path}: {exc}") from exc
    labels = dict(data.get("labels") or {}) if isinstance(data, dict) else {}
    if tr.call_id is None:
        tr.call_id = path.name.split(".")[0]
    if classify and not labels.get("call_type"):
        from qa.engine import default_classifier
        clf = default_classifier()
        if clf is not None:
            c = clf.classify(tr)
            labels.update(call_type=c.call_type, complaint_type=c.complaint_type)
    return tr, labels


def _when(ts: datetime | None) -> str:
    if ts is None:
        return "-"
    from zoneinfo import ZoneInfo

    from qa.settings import get_settings
    return ts.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def result_text(doc: Any, result: Any, *, fails_only: bool = False) -> str:
    """The dry run as the terminal shows it (Chinese)."""
    kind = "自定义" if doc.kind == "custom" else "修改内置规则"
    lines = [f"规则 {doc.code} {doc.name}（{kind}）试运行 {result.calls} 通，"
             f"用时 {result.seconds:.2f} 秒"]
    for i in result.items:
        if fails_only and i.status != "fail":
            continue
        verdict = (VERDICT_FILES if result.source == "files" else VERDICT).get(i.verdict or "",
                                                                               "")
        lines.append(f"{i.call_id or '-':<16} {_when(i.started_at):<16} {i.agent_id or '-':<8} "
                     f"{STATUS_ZH.get(i.status, i.status):<4} {i.confidence:.2f}"
                     f"{'　' + i.message if i.message and i.status == 'fail' else ''}{verdict}")
    c = result.counts
    lines.append(f"合格 {c.get('pass', 0)}　不合格 {c.get('fail', 0)}　不适用 {c.get('n/a', 0)}")
    v = result.verdicts
    if v.get("calls"):
        whose = "标注" if result.source == "files" else "主管结论"
        lines.append(
            f"对照 {result.reference_code} 的{whose}（{v['calls']} 通）：准确率 "
            f"{_pct(result.precision)}　召回率 {_pct(result.recall)}（判对的不合格 "
            f"{v['true_fail']}，误判 {v['false_fail']}，漏判 {v['missed_fail']}，"
            f"判对的合格 {v['true_pass']}）")
    else:
        whose = "标注" if result.source == "files" else "主管结论"
        lines.append(f"没有 {result.reference_code} 的{whose}，无法计算准确率和召回率 / "
                     "no verdicts to compare with")
    return "\n".join(lines)


@click.command("test")
@click.argument("rule_path", metavar="RULE.yaml", type=click.Path(path_type=Path))
@click.option("--calls", "call_paths", multiple=True, type=click.Path(path_type=Path),
              help="Transcript JSON files or folders of *.json (repeatable); default: stored "
                   "calls.")
@click.option("--last", "last_n", type=click.IntRange(1, 1_000_000),
              help="The last N stored calls (default 200 without --from/--to).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]),
              help="Stored calls started on or after this day (YYYY-MM-DD, local time).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]),
              help="Stored calls started on or before this day (YYYY-MM-DD, local time).")
@db_option
@click.option("--classify", is_flag=True,
              help="Files without labels: classify them with the shipped classifier.")
@click.option("--fails", "fails_only", is_flag=True, help="List only the calls that fail.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def test_cmd(rule_path: Path, call_paths: tuple[Path, ...], last_n: int | None,
             date_from: datetime | None, date_to: datetime | None, db_url: str | None,
             classify: bool, fails_only: bool, fmt: str) -> None:
    """Try a rule document on past calls (dry run): each call's status, the counts, and the
    precision and recall against supervisors' verdicts. Nothing is written. An invalid
    document is refused with every problem listed (exit status 2).

    Examples:

        hotline-qa rules test x001.yaml --last 500

        hotline-qa rules test x001.yaml --from 2026-11-01 --to 2026-11-30 --db sqlite:///qa.db

        hotline-qa rules test sv04.yaml --calls ../shared/data/calls/
    """
    from qa.custom_rules import RuleDocumentError, parse_document
    from qa.pipeline import InputError

    try:
        text = rule_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"无法读取规则文档 / cannot read {rule_path}: {exc}") \
            from None
    try:
        doc = parse_document(text)
    except RuleDocumentError as exc:
        click.echo(f"规则文档有误 / invalid rule document: {rule_path}", err=True)
        for e in getattr(exc, "errors", None) or [str(exc)]:
            click.echo(f"  - {e}", err=True)
        sys.exit(2)
    if call_paths and (last_n or date_from or date_to):
        raise click.UsageError("--calls 与 --last/--from/--to 不能同时使用 / --calls or a "
                               "stored selection, not both")
    if call_paths:
        try:
            files = _transcript_files(call_paths)
            if not files:
                raise InputError("没有找到转写文件（*.json）/ no transcript files found")
            from qa.rule_store import dry_run_transcripts
            result = dry_run_transcripts(doc, [_read(f, classify) for f in files])
        except InputError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        result = _stored(doc, last_n, date_from.date() if date_from else None,
                         date_to.date() if date_to else None, db_url)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str))
    else:
        click.echo(result_text(doc, result, fails_only=fails_only))


def _stored(doc: Any, last_n: int | None, date_from: date | None, date_to: date | None,
            db_url: str | None) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from models import current_revision, session_scope
    from qa.rule_store import dry_run
    from qa.settings import get_settings

    settings = get_settings()
    url = db_url or settings.effective_database_url
    try:
        if current_revision(url) is None:
            raise click.ClickException("数据库尚未初始化 / the database has no tables yet: "
                                       "run `hotline-qa db upgrade` or `hotline-qa ingest`")
        with session_scope(url) as s:
            return dry_run(s, doc, last_n=last_n, date_from=date_from, date_to=date_to,
                           settings=settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法读取数据库 / cannot read the database: {exc}") \
            from None
