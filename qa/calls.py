"""``hotline-qa calls list|show``: a quick look at the stored calls from the terminal."""
from __future__ import annotations

import json
from typing import Any

import click

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from models import CALL_STATUSES, Call, Job, current_revision, session_scope
from qa.cli_options import db_option
from qa.settings import get_settings

_FMT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                    show_default=True)


def _url(db_url: str | None) -> str:
    url = db_url or get_settings().effective_database_url
    try:
        rev = current_revision(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法连接数据库 / cannot reach the database: {exc}") from exc
    if rev is None:
        raise click.ClickException("数据库尚未初始化 / the database has no tables yet: "
                                   "run `hotline-qa db upgrade` or `hotline-qa ingest`")
    return url


def call_summary(call: Call) -> dict[str, Any]:
    """The short JSON form of a call (``calls list --format json``)."""
    return {"id": call.id, "source": call.source_path, "filename": call.filename,
            "agent": call.agent_id,
            "started_at": call.started_at.isoformat() if call.started_at else None,
            "status": call.status, "score": call.score, "red_line": call.red_line,
            "call_type": call.call_type, "complaint_type": call.complaint_type,
            "error": call.error}


@click.group("calls")
def calls_cmd() -> None:
    """Stored calls: list them or show one.

    Example: hotline-qa calls list --status done --format json
    """


@calls_cmd.command("list")
@click.option("--status", type=click.Choice(CALL_STATUSES), default=None)
@click.option("--agent", default=None, help="Only this agent's calls (agent id).")
@click.option("--limit", type=int, default=100, show_default=True)
@_FMT
@db_option
def list_cmd(status: str | None, agent: str | None, limit: int, fmt: str,
             db_url: str | None) -> None:
    """List calls, newest first.

    Example: hotline-qa calls list --agent A1001
    """
    url = _url(db_url)
    q = select(Call).order_by(Call.created_at.desc(), Call.id).limit(limit)
    if status:
        q = q.where(Call.status == status)
    if agent:
        q = q.where(Call.agent_id == agent)
    with session_scope(url) as s:
        rows = [call_summary(c) for c in s.scalars(q)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("没有通话 / no calls")
        return
    for r in rows:
        score = "" if r["score"] is None else f"{r['score']:.1f}"
        red = " 红线" if r["red_line"] else ""
        click.echo(f"{r['id']}  {r['status']:<11} {score:>5}{red}  {r['agent'] or '-':<8} "
                   f"{r['call_type'] or '-':<10} {r['filename']}")


REVIEW_NAMES = {"upheld": "已维持 upheld", "overturned": "已推翻 overturned"}


def findings_of(s, call: Call) -> list[dict[str, Any]]:
    """The call's findings as stored, with what people decided: the Finding rows, their review
    and appeal state, and the deduction after them (``deduction``; the machine's is
    ``machine_deduction``). An overturned fail deducts nothing."""
    from qa.assessment_store import grading, local_tz, outcome_of
    g = grading(s)
    outcomes = outcome_of(call, local_tz()).findings  # in the order of call.findings
    return [{"code": f.code, "status": f.status, "confidence": f.confidence,
             "deduction": o.effective_deduction(g), "machine_deduction": f.deduction,
             "needs_review": f.needs_review, "red_line": f.red_line,
             "review_state": f.review_state, "appeal_state": o.appeal_state,
             "overturned": o.overturned, "message": f.message}
            for f, o in zip(call.findings, outcomes)]


@calls_cmd.command("show")
@click.argument("call_id")
@_FMT
@db_option
def show_cmd(call_id: str, fmt: str, db_url: str | None) -> None:
    """Show one call: status, score, failed rules with their review, job history (json: the
    findings as reviewed, and the machine's report as it was stored).

    Example: hotline-qa calls show c-3f2a9b0c1d2e4f5a --format json
    """
    from qa.assessment_store import machine_score
    url = _url(db_url)
    with session_scope(url) as s:
        call = s.get(Call, call_id)
        if call is None:
            raise click.ClickException(f"没有这个通话 / no call with id {call_id}")
        job = s.scalar(select(Job).where(Job.call_id == call_id))
        out = call_summary(call)
        out.update(store_path=call.store_path, metadata=call.meta, timings=call.timings,
                   duration=call.duration, machine_score=machine_score(s, call),
                   findings=findings_of(s, call),
                   job=None if job is None else {
                       "state": job.state, "attempts": job.attempts,
                       "last_error": job.last_error,
                       "history": [{"number": a.number, "worker": a.worker,
                                    "outcome": a.outcome, "error": a.error}
                                   for a in job.attempt_log]},
                   report=call.report)
    if fmt == "json":
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    click.echo(f"通话 call {out['id']}  状态 status: {out['status']}")
    click.echo(f"  文件 file: {out['source']}")
    click.echo(f"  客服 agent: {out['agent'] or '-'}  开始 started: {out['started_at'] or '-'}")
    if out["score"] is not None:
        click.echo(f"  得分 score: {out['score']:.1f}  红线 red line: "
                   f"{'是' if out['red_line'] else '否'}  类型 type: {out['call_type'] or '-'}"
                   f" {out['complaint_type'] or ''}")
    if out["error"]:
        click.echo(f"  错误 error: {out['error']}")
    if out["machine_score"] is not None and out["machine_score"] != out["score"]:
        click.echo(f"  机器评分 machine score: {out['machine_score']:.1f}（复核/申诉后为 "
                   f"{out['score']:.1f} after reviews and appeals）")
    for f in out["findings"]:
        if f["status"] != "fail":
            continue
        message = f["message"] or ""
        if f["overturned"]:
            why = "申诉成立 appeal accepted" if f["appeal_state"] == "accepted" \
                else REVIEW_NAMES["overturned"]
            click.echo(f"  ○ {f['code']} {why}，不扣分 no deduction  {message}")
            continue
        state = REVIEW_NAMES.get(f["review_state"]) or (
            "待复核 pending review" if f["needs_review"] else "")
        red = " 【红线】" if f["red_line"] else ""
        click.echo(f"  ✗ {f['code']} -{f['deduction']:g}{red} {message}"
                   + (f"  （{state}）" if state else ""))
    if out["job"]:
        j = out["job"]
        click.echo(f"  任务 job: {j['state']}, {j['attempts']} 次尝试 attempt(s)")
