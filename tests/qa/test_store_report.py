"""Storing a call's result derives what the complaint reports group by."""
from __future__ import annotations

import json

from classifiers.records import Classification
from models import Call, session_scope
from qa.engine import analyze
from qa.records import Transcript
from qa.results import store_report


def _report(data_dir, call_id):
    doc = json.loads((data_dir / "truth" / f"{call_id}.truth.json").read_text(encoding="utf-8"))
    labels = doc.pop("labels")
    doc.pop("title", None)
    oracle = Classification(labels["call_type"], 1.0, labels.get("complaint_type"),
                            1.0 if labels.get("complaint_type") else None)
    return analyze(Transcript.from_dict(doc), classification=oracle)


def test_scenario_estate_and_follow_up_are_derived_and_corrections_kept(data_dir, db_url,
                                                                         qa_home):
    report = _report(data_dir, "pub-007")  # a noise complaint in 紫荆花园
    with session_scope(db_url) as s:
        call = Call(id="c-7", content_sha256="7" * 64, source_path="/in/7.mp3", filename="7.mp3")
        s.add(call)
        s.flush()
        store_report(s, call, report, {})
    with session_scope(db_url) as s:
        call = s.get(Call, "c-7")
        assert (call.scenario, call.estate, call.follow_up_status) == ("噪音", "紫荆花园", "open")
        call.scenario, call.follow_up_status = "其他", "resolved"  # a supervisor's correction
    with session_scope(db_url) as s:
        call = s.get(Call, "c-7")
        store_report(s, call, report, {}, keep_reviews=True)  # re-analysis
    with session_scope(db_url) as s:
        call = s.get(Call, "c-7")
        assert (call.scenario, call.follow_up_status) == ("其他", "resolved")


def test_non_complaint_calls_have_no_follow_up(data_dir, db_url, qa_home):
    report = _report(data_dir, "pub-001")  # a repair call
    with session_scope(db_url) as s:
        call = Call(id="c-1", content_sha256="1" * 64, source_path="/in/1.mp3", filename="1.mp3")
        s.add(call)
        s.flush()
        store_report(s, call, report, {})
        assert call.follow_up_status is None
        assert call.scenario == "漏水"


def test_a_naive_start_time_is_read_in_the_configured_time_zone(data_dir, db_url, qa_home):
    """A transcript's naive ``started_at`` is local time of ``settings.timezone`` (as at
    ingestion), not a fixed Asia/Shanghai."""
    from datetime import datetime, timezone

    from qa.settings import Settings
    report = _report(data_dir, "pub-001")
    report.transcript.metadata["started_at"] = "2026-11-02T09:15:00"
    with session_scope(db_url) as s:
        call = Call(id="c-tz", content_sha256="t" * 64, source_path="/in/t.json",
                    filename="t.json")
        s.add(call)
        s.flush()
        store_report(s, call, report, {}, settings=Settings(home=qa_home, timezone="Europe/Berlin"))
    with session_scope(db_url) as s:
        got = s.get(Call, "c-tz").started_at
        got = got if got.tzinfo else got.replace(tzinfo=timezone.utc)
        assert got == datetime(2026, 11, 2, 8, 15, tzinfo=timezone.utc)  # CET is UTC+1
