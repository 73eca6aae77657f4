"""The dialogue-act layer: corpus, shipped model, training, persistence, verdicts.

The sentences scored here were written for these tests; they are in no training file (a test
checks that), so the assertions say something about wording the model has not seen.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers import acts as A

UNSEEN_AGENT = {
    # act: (lines that perform it, lines that do not)
    "rudeness": (["这种通知都贴在电梯里，您坐电梯不看的吗？", "您嗓门再大也没用，规定就是规定。"],
                 ["您别担心，这个不怪您，是管道老化了。", "好的，我这边给您登记一下。"]),
    "calming": (["您先缓一缓，别上火，这事我们肯定给您处理好。"],
                ["九栋二单元是吧？"]),
    "shirking": (["这个您去找开发商吧，我们物业这边管不着的。"],
                 ["这个归供电局管，您可以打九五五九八，他们二十四小时有人。"]),
    "gossip": (["跟您透个底，那个保洁阿姨平时就爱偷懒，说了也不听。"],
               ["保洁阿姨今天请假了，我安排别人过去。"]),
    "empathy": (["家里一直滴水确实闹心，换成谁都受不了。"], ["您的房号是多少？"]),
    "check_understanding": (["我这么安排，您看行不行？"], ["师傅下午两点到。"]),
}


@pytest.fixture(scope="module")
def tagger() -> A.ActTagger:
    return A.load_default()


def test_corpus_lines_are_valid_and_cover_every_act_from_several_writers() -> None:
    lines = A.load_corpus()
    by_act: dict[str, set[str]] = {a: set() for a in A.ACTS}
    for e in lines:
        assert e.speaker in A.SPEAKERS and e.text
        for act, present in e.labels.items():
            assert A.ACTS[act][0] == e.speaker
            if present:
                by_act[act].add(e.writer)
    for act, writers in by_act.items():
        assert len(writers) >= 2, f"{act}: positives from {writers} only"


def test_unseen_test_sentences_are_in_no_training_file() -> None:
    texts = {e.text for e in A.load_corpus()}
    for pos, neg in UNSEEN_AGENT.values():
        assert not (set(pos) | set(neg)) & texts


@pytest.mark.parametrize("act", sorted(UNSEEN_AGENT))
def test_shipped_model_reads_meaning_on_unseen_wording(tagger, act) -> None:
    pos, neg = UNSEEN_AGENT[act]
    probs = tagger.probabilities(pos + neg, "agent")
    for text, p in zip(pos, probs[:len(pos)]):
        assert p[act] >= 0.5, (text, p[act])
    for text, p in zip(neg, probs[len(pos):]):
        assert p[act] < 0.5, (text, p[act])


def test_caller_anger_is_not_a_calm_mention_of_complaint(tagger) -> None:
    angry, calm = tagger.probabilities(
        ["你们到底还管不管了？！第三次了，我真是受够了！",
         "我想正式投诉一下这个问题，麻烦你们给我一个说法，我不着急。"], "customer")
    assert angry["anger"] >= 0.5 > calm["anger"]
    assert calm["complaint"] > calm["anger"]


def test_a_long_turn_is_read_sentence_by_sentence(tagger) -> None:
    one = "好的，九栋二单元一零零二。实在对不起，给您添麻烦了。我马上派师傅过去。"
    p = tagger.probabilities([one], "agent")[0]
    assert p["empathy"] >= 0.5 or p["apology"] >= 0.5
    whole = tagger.probabilities([one], "agent", by_sentence=False)[0]
    assert p["apology"] >= whole["apology"]


def test_tag_gives_each_utterance_its_speakers_acts(tagger) -> None:
    from qa.records import Transcript, Utterance

    t = Transcript(utterances=[Utterance("agent", 0, 2, "您好，阳光物业，请问有什么可以帮您？"),
                               Utterance("customer", 2, 5, "我家水管爆了，水漫了一地！"),
                               Utterance("unknown", 5, 6, "嗯")])
    out = tagger.tag(t)
    assert out[0]["greeting"] >= 0.5 and "anger" not in out[0]
    assert out[1]["problem"] >= 0.5 and "greeting" not in out[1]
    assert out[2] == {}


def test_nearest_examples_are_training_lines_of_that_act(tagger) -> None:
    near = tagger.nearest("您先消消气，我们马上处理。", "calming", 2)
    assert len(near) == 2
    calming = {e.text for e in A.load_corpus() if e.labels.get("calming")}
    assert set(near) <= calming


def test_shipped_model_is_trained_on_the_shipped_corpus(tagger) -> None:
    assert tagger.metadata["data_hash"] == A.data_hash(A.load_corpus()), \
        "corpus changed: retrain with `hotline-qa acts train`"
    assert set(tagger.heads) == set(A.ACTS)


def _small() -> list[A.ActExample]:
    """One writer's agent lines: enough for every agent head, quick to train."""
    lines = A.load_corpus()
    return [e for e in lines if e.writer == "g7"]


def test_training_is_deterministic_and_survives_save_and_load(tmp_path) -> None:
    ex = _small()
    a, b = A.fit(ex), A.fit(ex)
    texts = ["您先别急，我帮您查一下。", "这不归我们管。"]
    pa, pb = a.probabilities(texts, "agent"), b.probabilities(texts, "agent")
    assert pa == pb
    A.save(a, tmp_path)
    c = A.load(tmp_path)
    pc = c.probabilities(texts, "agent")
    for x, y in zip(pa, pc):
        assert np.allclose([x[k] for k in sorted(x)], [y[k] for k in sorted(y)])
    assert c.nearest(texts[1], "shirking", 1)


def test_a_verdict_moves_the_act_it_rests_on() -> None:
    ex = _small()
    text = "您这个情况我们爱莫能助，您另请高明吧。"
    plain = A.fit(ex)
    assert "shirking" in plain.heads
    before = plain.probabilities([text], "agent")[0]["shirking"]
    verdicts = [A.parse_line({"act": "shirking", "present": True, "text": text})] * 3
    after = A.fit(ex + verdicts).probabilities([text], "agent")[0]["shirking"]
    assert after > before + 0.1


@pytest.mark.parametrize("line,msg", [
    ({"speaker": "boss", "text": "x", "acts": []}, "speaker"),
    ({"speaker": "agent", "text": "x", "acts": ["anger"]}, "unknown acts"),
    ({"speaker": "agent", "text": "", "acts": []}, "empty"),
    ({"code": "ZZ01", "label": "fail", "text": "x"}, "code"),
    ({"text": "x"}, "needs"),
])
def test_bad_corpus_lines_are_refused_with_file_and_line(tmp_path: Path, line, msg) -> None:
    p = tmp_path / "bad.jsonl"
    good = {"speaker": "agent", "text": "好的", "acts": []}
    p.write_text(json.dumps(good) + "\n" + json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    with pytest.raises(A.ActsError, match=rf"bad.jsonl:2: .*{msg}"):
        A.load_corpus([p])


def test_missing_model_says_what_to_do(tmp_path) -> None:
    with pytest.raises(A.ActsError, match="hotline-qa acts train"):
        A.load(tmp_path)
