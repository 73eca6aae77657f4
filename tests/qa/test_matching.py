"""Phrase matching (exact / pinyin / tolerance / tokens) and key-data extraction."""
from __future__ import annotations

import pytest

from qa import numbers
from qa.matching import Matcher
from qa.records import Utterance, Word

M = Matcher()


def find(text, phrases, **kw):
    return M.find(Utterance("agent", 10.0, 14.0, text), phrases, **kw)


@pytest.mark.parametrize("text,phrase,kind", [
    ("您好，阳光物业", "您好", "exact"),
    ("拧好，阳光物业", "您好", "sound"),
    ("阳光服务中兴", "服务中心", "sound"),
    ("请问有什么事情可以帮您", "请问有什么*帮您", "exact"),
    ("感谢您的耐心等带", "感谢您的耐心等待", "sound"),
    ("非常感谢您的耐心等它", "感谢您的耐心等待", "fuzzy"),
])
def test_match_kinds(text, phrase, kind) -> None:
    ms = find(text, [phrase])
    assert ms and ms[0].kind == kind


def test_tolerance_for_long_phrases_only() -> None:
    assert find("谢谢您对我们工做的支持", ["谢谢您对我们工作的支持"])
    assert find("感谢您的来点", ["感谢您的来电"])              # sound-alike
    assert find("感谢在电", ["感谢来电"]) == []                 # under 6 chars: no free miss
    ms = find("非常感谢你对我们工作的关心", ["感谢您对我们工作的关心"])
    assert ms and ms[0].kind == "fuzzy" and ms[0].confidence < 0.85


def test_whole_token_for_short_backchannels() -> None:
    assert find("对不起，请稍等", ["对"]) == []
    assert find("好的，对", ["对"])


def test_exclude_vetoes_overlapping_match() -> None:
    assert find("没问题", ["问题"], exclude=["没问题"]) == []
    assert find("有问题", ["问题"], exclude=["没问题"])


def test_span_times_from_words_and_confidence_from_probabilities() -> None:
    u = Utterance("agent", 1.0, 3.0, "您好再见", words=[
        Word(1.0, 1.5, "您好", 0.9), Word(2.0, 2.6, "再见", 0.5)])
    m = M.first(u, ["再见"])
    assert (m.start, m.end, m.text) == (2.0, 2.6, "再见")
    assert m.confidence == pytest.approx(1.0 * (0.6 + 0.4 * 0.5))


def test_span_times_interpolated_without_words() -> None:
    m = find("好的，再见", ["再见"])[0]
    assert 10.0 < m.start < m.end <= 14.0


@pytest.mark.parametrize("text,value", [
    ("幺三九，幺六二四，七七三五", "13916247735"),
    ("一三九 一六二四 七七三五", "13916247735"),
    ("139-1624-7735", "13916247735"),
    ("洞幺三九两四五六七八", "0139245678"),
    ("幺八六，二零五七，三三幺六，六栋一单元", "18620573316"),
])
def test_phone_numbers(text, value) -> None:
    assert [p.value for p in numbers.phone_numbers(text)] == [value]


def test_address_and_names() -> None:
    parts = {(a.kind, a.value) for a in numbers.address_parts("二十栋三单元，三零一")}
    assert parts == {("building", "20"), ("unit", "3"), ("room", "301")}
    assert ("room", "1002") in {(a.kind, a.value) for a in numbers.address_parts("幺洞洞两")}
    assert [s.value for s in numbers.surnames("我姓周，九栋")] == ["周"]
    assert [s.value for s in numbers.surnames("何女士，您好")] == ["何"]
    assert numbers.cn_to_int("一百二十六") == 126 and numbers.cn_to_int("二十一") == 21
    assert [d.value for d in numbers.dates("明天上午十点")] == ["明天"]


def test_finding_confidence_reflects_exact_vs_sound_alike() -> None:
    from qa.engine import analyze
    from qa.records import Transcript

    def gr02(text: str):
        t = Transcript(utterances=[Utterance("agent", 0.5, 4.0, text)], call_id="c")
        return analyze(t, classifier=False).finding("GR02")

    exact = gr02("您好，阳光服务中心，请问有什么可以帮您？")
    sound = gr02("拧好，阳光服务中兴，请问有什么可以帮您？")
    assert exact.status == sound.status == "pass"
    assert sound.confidence < exact.confidence
    assert [e.text for e in sound.evidence] == ["拧好", "服务中兴"]
