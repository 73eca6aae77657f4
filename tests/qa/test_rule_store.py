"""Rule documents in the database (qa.rule_store), on SQLite and PostgreSQL: the active rule
set and its cache, the worker and the re-analysis running the active rules (a custom finding
with its deduction and red line), the dry run over stored calls and over transcript files,
queueing a re-score."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from models import Call, Finding, Job, RuleDocument, RuleVersion, session_scope
from qa import rule_store
from qa.custom_rules import parse_document
from qa.settings import Settings
from rule_helpers import SLOW_PHRASE, custom, save, seed_call, truth, uphold_fails
@pytest.fixture()
def settings(tmp_path, db_url, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOTLINE_QA_HOME", str(home))
    from qa.settings import get_settings
    get_settings.cache_clear()
    yield Settings(home=home, database_url=db_url, job_max_attempts=3, retry_backoff_s=0.1)
    get_settings.cache_clear()


def test_active_rule_set_follows_the_active_versions_and_is_cached(db_url, settings):
    with session_scope(db_url) as s:
        assert rule_store.active_rule_set(s) is None
        save(s, custom("X001", SLOW_PHRASE), active=False)
        assert rule_store.active_rule_set(s) is None  # saved, not active
        s.get(RuleDocument, "X001").active_version = 1
        save(s, "override: SV04\nsettings:\n  thanks_phrases: {add: [感谢您的耐心]}\n")
        rs = rule_store.active_rule_set(s)
        assert rs.custom_codes == ("X001",) and set(rs.overrides) == {"SV04"}
        assert rule_store.active_rule_set(s) is rs  # same stamp: not parsed again
        save(s, custom("X001", "还有什么"))  # version 2, active
        rs2 = rule_store.active_rule_set(s)
        assert rs2 is not rs and rs2.key != rs.key
        assert [c for c, v, _ in rule_store.active_stamp(s)] == ["SV04", "X001"]
        # a stored text the parser refuses is left out, the analysis goes on
        s.add(RuleDocument(code="X009", kind="custom", active_version=1))
        s.flush()
        s.add(RuleVersion(code="X009", version=1, yaml_text="code: X009\n", sha256="0" * 64,
                          name="坏", red_line=False))
        s.flush()
        assert rule_store.active_rule_set(s).custom_codes == ("X001",)
        s.get(RuleDocument, "X009").active_version = None
        s.get(RuleDocument, "X001").active_version = None
        s.get(RuleDocument, "SV04").active_version = None
        s.flush()
        assert rule_store.active_rule_set(s) is None


def test_a_new_call_through_the_worker_gets_the_custom_findings(tmp_path, db_url, settings):
    """Ingested and analysed by the workers' code with the real rules: the active custom rules
    run after the 28 built-in ones, a fail deducts its weight, a red-line fail marks the call."""
    from qa.ingest import run_ingest
    with session_scope(db_url) as s:
        save(s, custom("X001", SLOW_PHRASE, weight=6))                 # pub-007: fail
        save(s, custom("X002", "素质", red_line=True, weight=0))         # pub-007: pass
        save(s, custom("X003", "您好", applies="漏水"))                   # no leak: n/a
        save(s, custom("X004", "不存在的话术", red_line=True, weight=3))  # fail, red line
    inbox = tmp_path / "in"
    inbox.mkdir()
    doc = truth("pub-007")
    doc.pop("labels")
    (inbox / "pub-007.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run_ingest(inbox, settings=settings.model_copy(update={"stable_s": 0.0}), once=True)
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        assert call.status == "done", call.error
        codes = [r["code"] for r in call.report["rules"]]
        assert len(codes) == 32 and codes[-4:] == ["X001", "X002", "X003", "X004"]
        got = {f.code: f for f in s.scalars(select(Finding).where(Finding.call_id == call.id))}
        assert [got[c].status for c in ("X001", "X002", "X003", "X004")] == \
            ["fail", "pass", "n/a", "fail"]
        assert got["X001"].deduction == 6 and not got["X001"].red_line
        assert got["X004"].deduction == 3 and got["X004"].red_line
        assert call.red_line
        assert call.report["score_breakdown"] is not None
        built_in = sum(f.deduction for c, f in got.items() if not c.startswith("X"))
        assert call.score == pytest.approx(max(0.0, 100 - built_in - 9))


def test_reanalysis_runs_the_active_rules_and_keeps_their_reviews(db_url, settings):
    from qa.results import reanalyze_call
    with session_scope(db_url) as s:
        call = seed_call(s, "pub-001", settings)
        score = call.score
        assert not call.red_line and not any(f.code.startswith("X") for f in call.findings)
        save(s, custom("X004", "不存在的话术", red_line=True, weight=4))
        result = reanalyze_call(s, call, settings)
        assert result.changed == {"X004": [None, "fail"]}
        f = s.scalar(select(Finding).where(Finding.code == "X004"))
        assert (f.status, f.deduction, f.red_line) == ("fail", 4.0, True)
        assert call.red_line and call.score == pytest.approx(score - 4)
        f.review_state = "overturned"  # the supervisor disagrees
        s.flush()
        reanalyze_call(s, call, settings)
        f = s.scalar(select(Finding).where(Finding.code == "X004"))
        assert f.review_state == "overturned" and call.score == pytest.approx(score)


def test_dry_run_over_stored_calls_with_verdicts(db_url, settings):
    ids = ["pub-001", "pub-002", "pub-003", "pub-004", "pub-005"]
    with session_scope(db_url) as s:
        for cid in ids:
            seed_call(s, cid, settings)
        upheld = uphold_fails(s, "SV04")  # verdicts on SV04 fails, as a supervisor leaves them
        doc = parse_document("override: SV04\nsettings:\n  thanks_phrases: {add: [再见]}\n")
        out = rule_store.dry_run(s, doc, settings=settings)
        assert out.calls == 5 and sum(out.counts.values()) == 5
        assert all(a.started_at >= b.started_at for a, b in zip(out.items, out.items[1:]))
        assert out.verdicts["calls"] == len(upheld)
        tp = sum(1 for i in out.items if i.verdict == "fail" and i.status == "fail")
        assert out.verdicts["true_fail"] == tp
        assert out.recall == (round(tp / len(upheld), 4) if upheld else None)
        # a date range; the last N
        first = min(datetime.fromisoformat(truth(c)["metadata"]["started_at"]) for c in ids)
        day = first.date()
        one_day = rule_store.dry_run(s, doc, date_from=day, date_to=day, settings=settings)
        assert 1 <= one_day.calls < 5
        assert rule_store.dry_run(s, doc, last_n=2, settings=settings).calls == 2
        with pytest.raises(ValueError, match="date_from"):
            rule_store.dry_run(s, doc, date_from=date(2026, 11, 30), date_to=date(2026, 11, 1))
        # the transcripts are read from the rows, a batch at a time: the same as one by one
        one = rule_store.BATCH
        try:
            rule_store.BATCH = 2
            again = rule_store.dry_run(s, doc, settings=settings)
        finally:
            rule_store.BATCH = one
        assert [(i.call_id, i.status) for i in again.items] == \
            [(i.call_id, i.status) for i in out.items]


def test_dry_run_on_transcript_documents_uses_their_labels():
    from qa.records import Transcript
    docs = []
    for cid in ("pub-001", "pub-003", "pub-007"):
        t = truth(cid)
        docs.append((Transcript.from_dict(t), t["labels"]))
    doc = parse_document("override: SV04\nsettings:\n  thanks_phrases: [感谢您的来电]\n")
    out = rule_store.dry_run_transcripts(doc, docs)
    assert out.calls == 3 and out.verdicts["calls"] == 3  # every label is pass or fail
    labelled = {cid: t["labels"]["rules"]["SV04"] for cid, t in
                ((c, truth(c)) for c in ("pub-001", "pub-003", "pub-007"))}
    assert {i.call_id: i.verdict for i in out.items} == labelled


def test_queue_rescore_queues_reanalysis_jobs(db_url, settings):
    with session_scope(db_url) as s:
        for cid in ("pub-001", "pub-002"):
            seed_call(s, cid, settings)
        s.add(Job(call_id="pub-002", state="running", kind="analyze"))
        s.flush()
        out = rule_store.queue_rescore(s, date(2026, 11, 1), date(2026, 11, 30), settings)
        assert (out.queued, out.busy) == (1, 1)
        job = s.scalar(select(Job).where(Job.call_id == "pub-001"))
        assert (job.kind, job.state) == ("reanalyze", "queued") and out.job_ids == [job.id]
        assert s.get(Call, "pub-001").status == "done"  # until a worker claims it
        again = rule_store.queue_rescore(s, date(2026, 11, 1), date(2026, 11, 30), settings)
        assert (again.queued, again.busy) == (0, 2)
        none = rule_store.queue_rescore(s, date(2025, 1, 1), date(2025, 1, 2), settings)
        assert none.queued == 0
        with pytest.raises(ValueError):
            rule_store.queue_rescore(s, date(2026, 12, 1), date(2026, 11, 1), settings)
