"""Monitors: calls that mention a saved search counted per day/week and by estate, and a rise
marked only when it is improbable for the weeks before."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qa import monitors as mon
from qa.search import QueryError

TZ = ZoneInfo("Asia/Shanghai")


def test_trend_marks_only_improbable_rises():
    assert mon.trend([1, 0, 1, 1, 6]).rising
    assert not mon.trend([5, 6, 4, 5, 7]).rising       # the usual level
    assert not mon.trend([0, 0, 0, 0, 2]).rising       # too few calls to call it a rise
    assert mon.trend([0, 0, 0, 0, 4]).rising           # a new term, several calls
    assert not mon.trend([]).rising and mon.trend([3]).baseline == 0.0
    t = mon.trend([2, 2, 2, 2, 3])
    assert t.current == 3 and t.baseline == 2.0 and not t.rising


def test_spec_checks_speaker_and_filters():
    with pytest.raises(QueryError, match="speaker"):
        mon.MonitorSpec("漏水", speaker="boss").parsed()
    with pytest.raises(QueryError, match="筛选条件"):
        mon.MonitorSpec("漏水", filters={"score_min": "60"}).parsed()
    with pytest.raises(QueryError):
        mon.MonitorSpec("-漏水").parsed()


def _call(s, cid: str, when: datetime, estate: str, texts: list[tuple[str, str]]):
    from models import Call, Utterance
    from qa.transcript_index import index_call
    c = Call(id=cid, content_sha256=(cid * 64)[:64], source_path=f"/{cid}", filename=cid,
             status="done", started_at=when, estate=estate)
    c.utterances = [Utterance(idx=i, speaker=spk, start=i * 5.0, end=i * 5.0 + 4, text=t)
                    for i, (spk, t) in enumerate(texts)]
    s.add(c)
    s.flush()
    index_call(s, cid)


def test_weekly_counts_by_estate_and_a_rising_week(db_url):
    from models import make_engine, session_scope
    engine = make_engine(db_url)
    monday = date(2026, 11, 2)
    with session_scope(engine) as s:
        n = 0
        for week in range(4):  # one leak call a week, at 紫荆花园
            when = datetime(2026, 10, 5, 10, tzinfo=TZ) + timedelta(weeks=week)
            _call(s, f"b{week}", when, "紫荆花园", [("customer", "我家漏水了，漏水很严重")])
        for i in range(6):  # then six in the week of 2026-11-02, two estates
            n += 1
            when = datetime(2026, 11, 2, 9, tzinfo=TZ) + timedelta(days=i % 5, hours=i)
            _call(s, f"w{i}", when, "紫荆花园" if i % 2 else "御景湾",
                  [("agent", "您好"), ("customer", "卫生间楼水了" if i == 5 else "厨房漏水")])
        _call(s, "agent-says", datetime(2026, 11, 3, 9, tzinfo=TZ), "御景湾",
              [("agent", "漏水的话先关总阀"), ("customer", "好的")])
        _call(s, "night", datetime(2026, 11, 8, 23, 30, tzinfo=TZ), "御景湾",  # Sunday, local
              [("customer", "又漏水了")])
    with session_scope(engine) as s:
        spec = mon.MonitorSpec("漏水", speaker="customer")
        ser, tr = mon.weekly(s, spec, TZ, monday + timedelta(days=6), weeks=5, by="estate")
        assert ser.labels == ["2026-W41", "2026-W42", "2026-W43", "2026-W44", "2026-W45"]
        assert ser.counts == [1, 1, 1, 1, 6]  # exact: 楼水 is not counted; the agent's isn't
        assert ser.by == {"御景湾": [0, 0, 0, 0, 4], "紫荆花园": [1, 1, 1, 1, 2]}
        assert tr.rising and tr.baseline == 1.0
        sound, _ = mon.weekly(s, mon.MonitorSpec("漏水", sound=True, speaker="customer"), TZ,
                              monday, weeks=1)
        assert sound.counts == [7]
        only = mon.MonitorSpec("漏水", speaker="customer", filters={"estate": "御景湾"})
        days = mon.series(mon.matching_calls(s, only, datetime(2026, 11, 2, tzinfo=TZ),
                                             datetime(2026, 11, 9, tzinfo=TZ)),
                          TZ, monday, monday + timedelta(days=6), bucket="day")
        assert days.labels[0] == "2026-11-02" and len(days.labels) == 7
        assert sum(days.counts) == 4 and days.counts[-1] == 1  # the Sunday-night call
    engine.dispose()
