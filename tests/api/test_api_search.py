"""GET /api/v1/search: hits, highlighting, speaker and call-list filters, paging, sound-alike
hits marked fuzzy, the index following re-analysis, and an agent's search never reaching
another agent's call."""
from __future__ import annotations

from qa.search import highlight, parse_query


def _search(client, **params):
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _truth(db, query: str, *, sound: bool = False, speaker=None, agent_id=None):
    """(call id, idx) of the stored utterances that match, by plain matching over the texts."""
    from models import Call, Utterance
    q = parse_query(query, sound=sound)
    rows = db.query(Utterance.call_id, Utterance.idx, Utterance.text, Utterance.speaker,
                    Call.agent_id).join(Call, Call.id == Utterance.call_id)
    return {(c, i) for c, i, t, spk, a in rows
            if highlight(t, q).found and (speaker is None or spk == speaker)
            and (agent_id is None or a == agent_id)}


def test_search_finds_every_utterance_that_says_it(sup, db):
    body = _search(sup, q="师傅", page_size=200)
    got = {(h["call_id"], h["idx"]) for h in body["items"]}
    assert got == _truth(db, "师傅") and len(got) >= 5
    assert body["total"] == len(got) and body["calls"] == len({c for c, _ in got})
    hit = body["items"][0]
    assert "".join(s["text"] for s in hit["segments"]) == hit["text"]
    assert [s["text"] for s in hit["segments"] if s["hit"]] == ["师傅"] * len(
        [s for s in hit["segments"] if s["hit"]])
    assert not hit["fuzzy"] and hit["call"]["id"] == hit["call_id"]
    assert hit["url"] == f"/calls/{hit['call_id']}?t={hit['start']:.1f}#u{hit['idx']}"
    starts = [h["call"]["started_at"] for h in body["items"]]
    assert starts == sorted(starts, reverse=True)  # newest call first
    assert body["warning"] is None


def test_speaker_and_filters_narrow_the_hits(sup, db):
    said = {(h["call_id"], h["idx"]) for h in _search(sup, q="投诉", speaker="customer",
                                                      page_size=200)["items"]}
    assert said == _truth(db, "投诉", speaker="customer") and said
    mine = {(h["call_id"], h["idx"]) for h in _search(sup, q="您好", agent_id="A1001",
                                                      page_size=200)["items"]}
    assert mine == _truth(db, "您好", agent_id="A1001") and mine
    complaints = _search(sup, q="您好", call_type="complaint", page_size=200)["items"]
    assert complaints and all(h["call"]["call_type"] == "complaint" for h in complaints)
    p1 = _search(sup, q="您好", page_size=7)
    p2 = _search(sup, q="您好", page_size=7, page=2)
    assert len(p1["items"]) == 7 and p1["total"] > 14
    assert not {h["utterance_id"] for h in p1["items"]} & {h["utterance_id"] for h in p2["items"]}


def test_sound_alike_hits_are_marked_fuzzy_and_follow_reanalysis(sup, db):
    from models import Call
    from qa.engine import analyze
    from qa.records import Transcript
    from qa.results import store_report
    call = db.get(Call, "pub-003")
    doc = {"call_id": "pub-003", "duration": 20.0, "metadata": call.meta, "utterances": [
        {"speaker": "agent", "start": 0.5, "end": 3.0, "text": "您好，物业服务中心。"},
        {"speaker": "customer", "start": 3.5, "end": 9.0, "text": "我家厨房楼水了，天花板都湿了。"}]}
    store_report(db, call, analyze(Transcript.from_dict(doc)), {}, keep_reviews=True)
    db.commit()
    assert "pub-003" not in {h["call_id"] for h in _search(sup, q="厨房漏水")["items"]}
    fuzzy = [h for h in _search(sup, q="厨房漏水", sound=True)["items"]
             if h["call_id"] == "pub-003"]
    assert len(fuzzy) == 1 and fuzzy[0]["fuzzy"] and fuzzy[0]["start"] == 3.5
    assert [s["text"] for s in fuzzy[0]["segments"] if s["hit"]] == ["厨房楼水"]
    # the words of the earlier analysis are gone from the index
    old = _truth(db, "物业服务中心")
    assert {(h["call_id"], h["idx"]) for h in _search(sup, q="物业服务中心",
                                                      page_size=200)["items"]} == old


def test_an_agent_searches_only_their_own_calls(agent1, sup, db):
    from models import Call
    own = {c.id for c in db.query(Call).filter_by(agent_id="A1001")}
    everyone = _search(sup, q="您好", page_size=200)
    assert {h["call_id"] for h in everyone["items"]} - own  # others' calls say it too
    mine = _search(agent1, q="您好", page_size=200)
    assert mine["items"] and {h["call_id"] for h in mine["items"]} <= own
    assert mine["total"] == len(_truth(db, "您好", agent_id="A1001"))
    assert _search(agent1, q="您好", agent_id="A1002")["items"] == []


def test_bad_searches_are_refused_with_the_reason(sup, anon):
    assert anon.get("/api/v1/search", params={"q": "漏水"}).status_code == 401
    for q, words in (("，。", "请输入"), ("-漏水", "排除")):
        r = sup.get("/api/v1/search", params={"q": q})
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert sup.get("/api/v1/search", params={"q": "漏水", "speaker": "boss"}).status_code == 422
    assert sup.get("/api/v1/search").status_code == 422


def test_search_command(app_settings, db):
    import json

    from click.testing import CliRunner

    from qa.cli import main
    from qa.settings import get_settings
    env = {"HOTLINE_QA_HOME": str(app_settings.home),
           "HOTLINE_QA_DATABASE_URL": app_settings.database_url}
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["search", "师傅", "--speaker", "agent", "--format", "json",
                                  "--limit", "200"], env=env)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert {(h["call_id"], h["idx"]) for h in body["items"]} == _truth(db, "师傅",
                                                                        speaker="agent")
    r = CliRunner().invoke(main, ["search", "师傅", "-维修", "--limit", "200"], env=env)
    assert r.exit_code == 0 and "[师傅]" in r.output and "维修" not in r.output
    r = CliRunner().invoke(main, ["search", "-师傅"], env=env)
    assert r.exit_code == 1 and "排除词" in r.output
    r = CliRunner().invoke(main, ["search", "师傅", "--from", "2026/11/01"], env=env)
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = CliRunner().invoke(main, ["search", "reindex"], env=env)
    assert r.exit_code == 0 and "search index rebuilt" in r.output
    get_settings.cache_clear()
