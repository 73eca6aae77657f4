"""Supervisors' verdicts become training lines for the act a finding rests on."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from classifiers.records import Classification
from models import Call, Finding, Review, session_scope
from qa.cli import main
from qa.engine import analyze
from qa.records import Transcript, Utterance
from qa.results import store_report
from qa.verdicts import examples_from_finding, verdict_examples

SARCASM = "单子每户门口都塞了一张，您家那张是没看见还是不想看？"
SHIRK = "哎呀这个真不好意思，这块不是我们这边负责的呢，您再问问别的地方吧。"


def _call() -> Transcript:
    return Transcript(call_id="v-1", utterances=[
        Utterance("agent", 0.5, 4.0, "您好，阳光物业服务中心，请问有什么可以帮您？"),
        Utterance("customer", 4.5, 8.0, "物业费为什么又涨了？小区门口的路灯也坏了好几天了。"),
        Utterance("agent", 8.5, 13.0, SARCASM),
        Utterance("agent", 13.5, 18.0, SHIRK),
        Utterance("customer", 18.5, 19.5, "行吧，再见。")])


def test_act_fails_carry_the_act_and_reviews_turn_them_into_lines(db_url, qa_home) -> None:
    report = analyze(_call(), classification=Classification("complaint", 1.0, "resolve", 1.0))
    by = {f.code: f for f in report.rules}
    po03, po04 = by["PO03"], by["PO04"]
    assert po03.status == "fail" and po04.status == "fail"
    note = po03.extra["acts"][0]
    assert note["act"] == "rudeness" and note["text"] == SARCASM and note["probability"] >= 0.5
    assert note["nearest"], "the nearest training lines say why"
    with session_scope(db_url) as s:
        call = Call(id="v-1", content_sha256="v" * 64, source_path="/in/v.mp3", filename="v.mp3")
        s.add(call)
        s.flush()
        store_report(s, call, report, {})
    with session_scope(db_url) as s:
        rows = {f.code: f for f in s.scalars(select(Finding).where(Finding.call_id == "v-1"))}
        s.add(Review(call_id="v-1", finding_id=rows["PO03"].id, decision="upheld"))
        # changed its mind: the last decision counts
        s.add(Review(call_id="v-1", finding_id=rows["PO04"].id, decision="upheld"))
        s.flush()
        s.add(Review(call_id="v-1", finding_id=rows["PO04"].id, decision="overturned"))
        s.add(Review(call_id="v-1", finding_id=rows["PO04"].id, decision="comment",
                     comment="备注不算结论"))
    with session_scope(db_url) as s:
        lines = verdict_examples(s)
    got = {(x["act"], x["text"], x["present"]) for x in lines}
    assert ("rudeness", SARCASM, True) in got
    assert ("shirking", SHIRK, False) in got
    assert ("shirking", SHIRK, True) not in got

    out = qa_home / "verdicts.jsonl"
    res = CliRunner().invoke(main, ["acts", "verdicts", "--db", db_url, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert SARCASM in out.read_text("utf-8")


def test_phrase_fails_of_violation_rules_give_their_evidence_words() -> None:
    ev = [{"speaker": "agent", "start": 1.0, "end": 2.0, "text": "你听不懂吗"}]
    assert examples_from_finding("PO03", {}, ev, True) == [
        {"act": "rudeness", "present": True, "text": "你听不懂吗", "speaker": "agent",
         "code": "PO03"}]
    # a requirement rule's fail ("no empathy anywhere") names no utterance: nothing to learn
    assert examples_from_finding("SV02", {}, [{"speaker": "customer", "text": "漏水了"}],
                                 True) == []


def test_acts_tag_command_shows_probabilities() -> None:
    res = CliRunner().invoke(main, ["acts", "tag", "--min", "0.5", SHIRK])
    assert res.exit_code == 0, res.output
    assert "shirking" in res.output and "推诿" in res.output
