"""Complaint and repair cases: the standards' deadlines on the working calendar, later calls
of the same caller or room attached, dated promises kept or broken."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qa import cases
from qa.workcal import Calendar

TZ = ZoneInfo("Asia/Shanghai")


def test_working_days_skip_weekends_and_holidays_and_count_adjusted_saturdays():
    cal = Calendar.with_overrides()
    monday = datetime(2026, 11, 2, 10, tzinfo=TZ)
    assert cal.add_working_days(monday, 3) == datetime(2026, 11, 5, 23, 59, 59, tzinfo=TZ)
    friday = datetime(2026, 11, 6, 16, tzinfo=TZ)
    assert cal.add_working_days(friday, 3).date() == date(2026, 11, 11)
    # National Day: 10-01..07 off, Saturday 10-10 worked
    assert cal.add_working_days(datetime(2026, 9, 30, 9, tzinfo=TZ), 1).date() == date(2026, 10, 8)
    assert cal.add_working_days(datetime(2026, 10, 9, 9, tzinfo=TZ), 1).date() == date(2026, 10, 10)
    assert not cal.is_working(date(2026, 10, 5)) and cal.is_working(date(2026, 9, 20))
    mine = Calendar.with_overrides([(date(2026, 11, 3), False)])  # an admin's extra holiday
    assert mine.add_working_days(monday, 3).date() == date(2026, 11, 6)


@pytest.mark.parametrize("text, due", [
    ("我明天上午给您回电话", datetime(2026, 11, 3, 11, 59, 59, tzinfo=TZ)),
    ("今天下午五点前师傅上门", datetime(2026, 11, 2, 17, 0, tzinfo=TZ)),
    ("三个工作日内给您答复", datetime(2026, 11, 5, 23, 59, 59, tzinfo=TZ)),
    ("两小时内安排人过去处理", datetime(2026, 11, 2, 12, 0, 10, tzinfo=TZ)),
    ("后天给您回复", datetime(2026, 11, 4, 23, 59, 59, tzinfo=TZ)),
])
def test_promises_are_dated(text, due):
    started = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)
    utts = [{"speaker": "agent", "start": 10.0, "text": text}]
    got = cases.promises_in(utts, started, Calendar.with_overrides())
    assert len(got) == 1 and got[0].due_at == due


@pytest.mark.parametrize("text", ["明天天气不错", "您今天下午在家吗", "这个三个工作日就能办完",
                                  "我明天上午给您回电话"])
def test_no_promise_without_a_commitment_or_from_the_caller(text):
    speaker = "customer" if "回电话" in text else "agent"
    utts = [{"speaker": speaker, "start": 1.0, "text": text}]
    assert cases.promises_in(utts, datetime(2026, 11, 2, 10, tzinfo=TZ),
                             Calendar.with_overrides()) == []


def test_rooms_and_trades():
    assert cases.room_of(["我是九栋二单元一零零二的"]) == "9栋2单元1002"
    assert cases.room_of(["你好，我家漏水了"]) is None
    assert cases.trade_of(["卫生间漏水，墙皮都掉了"]) == "multi"
    assert cases.trade_of(["厨房水管漏水"]) == "single"


def _store(s, cid, when, call_type, texts, caller="13900000000", meta=None):
    from models import Call, Utterance
    from qa.settings import Settings
    c = Call(id=cid, content_sha256=(cid * 64)[:64], source_path="/x", filename=cid,
             status="done", call_type=call_type, caller_number=caller, started_at=when,
             meta=meta or {})
    c.utterances = [Utterance(idx=i, speaker=spk, start=i * 10.0, end=i * 10.0 + 8, text=t)
                    for i, (spk, t) in enumerate(texts)]
    s.add(c)
    s.flush()
    return cases.on_call_stored(s, c, Settings(timezone="Asia/Shanghai"))


def test_a_case_is_opened_followed_and_its_promise_kept_or_broken(db_url):
    from models import Call, Case, CaseCall, make_engine, session_scope
    from qa.settings import Settings
    settings = Settings(timezone="Asia/Shanghai")
    engine = make_engine(db_url)
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    with session_scope(engine) as s:
        case = _store(s, "r1", t0, "repair", [
            ("customer", "我是九栋二单元一零零二的，卫生间漏水，墙皮都掉了"),
            ("agent", "好的，今天下午五点前安排师傅上门查看")])
        assert case.kind == "repair" and case.trade == "multi" and case.room == "9栋2单元1002"
        view = cases.case_view(s, case, settings, now=t0 + timedelta(hours=1))
        due = {d["name"]: d["due_at"] for d in view["deadlines"]}
        assert due["survey"].date() == date(2026, 11, 3) and due["fix"].date() == date(2026, 11, 11)
        assert not view["overdue"] and view["promises"][0]["state"] == "open"
        late = cases.case_view(s, case, settings, now=datetime(2026, 11, 2, 18, tzinfo=TZ))
        assert late["promises"][0]["state"] == "broken" and late["broken_promises"] == 1
        assert cases.case_view(s, case, settings, now=datetime(2026, 11, 4, tzinfo=TZ))["overdue"]
        # the same room calls again from another number: same case; an inquiry alone opens none
        again = _store(s, "r2", t0 + timedelta(hours=3), "inquiry",
                       [("customer", "九栋二单元一零零二，师傅怎么还没来")], caller="13700000000")
        assert again.id == case.id and s.get(CaseCall, "r2").reason == "same_room"
        assert _store(s, "q1", t0, "inquiry", [("customer", "物业费怎么交")],
                      caller="13600000000") is None
        # an outbound call-back before the promise is due keeps it
        back = _store(s, "cb", t0 + timedelta(hours=5), "other",
                      [("agent", "您好，回访一下维修情况")], meta={"direction": "outbound"})
        assert back.id == case.id and case.called_back_at is not None
        view = cases.case_view(s, case, settings, now=datetime(2026, 11, 2, 18, tzinfo=TZ))
        assert view["promises"][0]["state"] == "kept"
        assert [c["call_id"] for c in view["calls"]] == ["r1", "r2", "cb"]
        # re-analysis of the first call keeps one case and one promise from it
        assert cases.on_call_stored(s, s.get(Call, "r1"), settings).id == case.id
        assert len(cases.case_view(s, case, settings)["promises"]) == 1
        assert s.query(Case).count() == 1
        cases.resolve(s, case, datetime(2026, 11, 6, 15, tzinfo=TZ))
        view = cases.case_view(s, case, settings, now=datetime(2026, 11, 6, 16, tzinfo=TZ))
        cb = next(d for d in view["deadlines"] if d["name"] == "callback")
        assert cb["due_at"].date() == date(2026, 11, 9) and cb["met"]  # called back already
    engine.dispose()
