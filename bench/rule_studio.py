"""Benchmark of the rule studio's dry run (:func:`qa.rule_store.dry_run`) on many stored calls.

Seeds N calls (default 10 000) into a temporary SQLite database (or ``--database-url``, which
must be an empty, throwaway database: N calls are written to it): the 40 truth transcripts
(tests/data/truth) repeated with their utterance rows (each text with the call's number
appended, so that no text repeats), agents, start times over 60 days, the
labelled call type, and a stored SV04 finding per call with a supervisor's verdict on a tenth of
the fails. Then times the dry run of

- two phrase rules on all N calls: ``examples/rules/X010-leak-hotline.yaml`` (n/a unless the
  caller mentions a leak) and ``X901-farewell.yaml`` (judged on every call);
- the same on the last 200 (the studio's default);
- loading the transcripts alone (the database part of the dry run);
- an override of a built-in rule (``examples/rules/SV04-override.yaml``, which reads the
  dialogue acts) on ``--override-calls`` calls (default 1 000), with its precision and recall.

Usage::

    .venv/bin/python bench/rule_studio.py                    # 10 000 calls, temporary SQLite
    .venv/bin/python bench/rule_studio.py -n 2000
    .venv/bin/python bench/rule_studio.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TRUTH = REPO / "tests" / "data" / "truth"
RULES = REPO / "examples" / "rules"

from sqlalchemy import insert  # noqa: E402

from models import Agent, Call, Finding, Utterance, session_scope, upgrade  # noqa: E402
from qa import rule_store  # noqa: E402
from qa.custom_rules import parse_document  # noqa: E402
from qa.settings import Settings  # noqa: E402

AGENTS = ["A1001", "A1002", "A1003", "A1004", "A1005"]


def seed(url: str, n: int) -> float:
    """Write ``n`` calls (with utterances and one SV04 finding each); seconds taken."""
    t0 = time.perf_counter()
    upgrade(url)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(TRUTH.glob("*.truth.json"))]
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    with session_scope(url) as s:
        for a in AGENTS:
            s.add(Agent(id=a, name=a))
        s.flush()
        calls, utts, finds = [], [], []
        for i in range(n):
            d = docs[i % len(docs)]
            cid = f"b-{i:06d}"
            lab = d["labels"]
            calls.append(dict(
                id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                source_path=f"/bench/{cid}.json", filename=f"{cid}.json",
                media_type="transcript", meta=d["metadata"], agent_id=AGENTS[i % 5],
                started_at=start + timedelta(minutes=9 * i), duration=d.get("duration"),
                status="done", call_type=lab["call_type"],
                complaint_type=lab.get("complaint_type"), needs_review=False,
                review_pending=False))
            for j, u in enumerate(d["utterances"]):
                # every call's texts differ (a number appended), so no cache of the
                # matcher sees the same utterance twice
                utts.append(dict(call_id=cid, idx=j, speaker=u["speaker"], start=u["start"],
                                 end=u["end"], text=f"{u['text']} {i}",
                                 confidence=u.get("confidence"),
                                 level_dbfs=u.get("level_dbfs"), words=None))
            status = lab["rules"]["SV04"]
            state = "pending"
            if status == "fail" and i % 10 == 0:
                state = "upheld" if i % 20 == 0 else "overturned"
            finds.append(dict(call_id=cid, code="SV04", status=status, confidence=0.9,
                              deduction=0.0, needs_review=False, red_line=False, evidence=[],
                              review_state=state))
            if len(utts) >= 20_000 or i == n - 1:
                s.execute(insert(Call), calls)
                s.execute(insert(Utterance), utts)
                s.execute(insert(Finding), finds)
                calls, utts, finds = [], [], []
    return time.perf_counter() - t0


def timed(label: str, fn) -> object:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    calls = getattr(out, "calls", None)
    extra = ""
    if calls is not None:
        c = out.counts
        extra = (f"  {calls} calls, {calls / dt:,.0f}/s  pass {c['pass']} fail {c['fail']} "
                 f"n/a {c['n/a']}")
        if out.verdicts.get("calls"):
            extra += (f"  verdicts {out.verdicts['calls']} precision {out.precision} "
                      f"recall {out.recall}")
    print(f"{label:<44} {dt:7.2f} s{extra}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--calls", type=int, default=10_000)
    ap.add_argument("--override-calls", type=int, default=1_000)
    ap.add_argument("--database-url", help="an empty, throwaway database (default: temporary "
                                           "SQLite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(home=Path(tmp) / "home", database_url=url)
        print(f"seeded {args.calls} calls in {seed(url, args.calls):.1f} s "
              f"({url.split(':')[0]})")
        phrase = parse_document((RULES / "X010-leak-hotline.yaml").read_text(encoding="utf-8"))
        farewell = parse_document((RULES / "X901-farewell.yaml").read_text(encoding="utf-8"))
        override = parse_document((RULES / "SV04-override.yaml").read_text(encoding="utf-8"))
        with session_scope(url) as s:
            timed(f"load transcripts ({args.calls} calls)", lambda: sum(
                1 for _ in rule_store.stored_transcripts(
                    s, rule_store.select_calls(s, last_n=args.calls, settings=settings))))
            timed(f"dry run, phrase rule X010, {args.calls} calls",
                  lambda: rule_store.dry_run(s, phrase, last_n=args.calls, settings=settings))
            timed(f"dry run, phrase rule X901, {args.calls} calls",
                  lambda: rule_store.dry_run(s, farewell, last_n=args.calls, settings=settings))
            timed("dry run, phrase rule X010, last 200",
                  lambda: rule_store.dry_run(s, phrase, settings=settings))
            timed(f"dry run, SV04 override (acts), {args.override_calls} calls",
                  lambda: rule_store.dry_run(s, override, last_n=args.override_calls,
                                             settings=settings))


if __name__ == "__main__":
    main()
