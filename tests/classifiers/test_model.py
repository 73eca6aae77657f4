"""The shipped classifier: quality on the scripted calls, persistence, retraining, errors."""
from __future__ import annotations

import json

import pytest

from classifiers import features as F
from classifiers import model as M
from classifiers.records import CALL_TYPES, COMPLAINT_TYPES
from transcribe.records import Transcript, Utterance


@pytest.fixture(scope="module")
def clf():
    return M.load_default()


@pytest.fixture(scope="module")
def truth(truth_files):
    docs = [json.loads(p.read_text("utf-8")) for p in truth_files]
    return [Transcript.from_dict(d) for d in docs], [d["labels"] for d in docs]


def test_shipped_model_metadata(clf):
    meta = json.loads((M.MODEL_DIR / M.META_FILE).read_text("utf-8"))
    assert meta["labels"]["call_type"] == list(CALL_TYPES)
    assert meta["labels"]["complaint_type"] == list(COMPLAINT_TYPES)
    assert len(meta["data_hash"]) == 64
    assert {"scikit-learn", "skops", "numpy"} <= set(meta["versions"])
    assert meta["cv"]["call_type_accuracy"] > 0.8 and meta["cv"]["complaint_text_macro_f1"] > 0.8
    assert meta["examples"]["voice_calls"] >= 60
    # the call type reads both parties' words; the complaint type the customer's only
    assert meta["features"]["version"] == M.FEATURE_VERSION
    assert meta["features"]["columns"][:2] == ["customer_text", "agent_text"]
    assert {"agent_words", "agent_chars", "customer_words", "customer_chars"} <= set(meta["features"]["call_type"])
    assert not any(b.startswith("agent") for b in meta["features"]["complaint_text"])
    assert 0 < meta["examples"]["with_agent_side"] < meta["examples"]["corpus"]
    assert meta["cv"]["call_type_accuracy_no_agent"] > 0.9
    assert (M.MODEL_DIR / M.MODEL_FILE).stat().st_size < 5_000_000


def test_corpus_size_and_balance():
    corpus = M.load_corpus()
    by_call = {c: sum(e.call_type == c for e in corpus) for c in CALL_TYPES}
    by_type = {c: sum(e.complaint_type == c for e in corpus) for c in COMPLAINT_TYPES}
    assert min(by_call.values()) >= 150
    assert min(by_type.values()) >= 300


def test_quality_on_scripted_calls(clf, truth):
    """Never trained on: the shared scripted calls (their true transcripts)."""
    ts, labels = truth
    pc, pt, voiced = clf.predict_proba(ts)
    ct = [CALL_TYPES[i] for i in pc.argmax(axis=1)]
    acc = sum(a == b["call_type"] for a, b in zip(ct, labels)) / len(labels)
    idx = [i for i, lab in enumerate(labels) if lab["call_type"] == "complaint"]
    m = M.metrics([labels[i]["complaint_type"] for i in idx],
                  [COMPLAINT_TYPES[pt[i].argmax()] for i in idx])
    assert all(voiced)                  # the truth files carry level_dbfs for both parties
    assert acc >= 0.8
    assert m["macro_f1"] >= 0.85


def test_classify_complaint_with_voice_and_cues(clf, truth_files):
    t = Transcript.from_dict(json.loads(truth_files[1].read_text("utf-8")))  # pub-002, vent
    c = clf.classify(t)
    assert c.call_type == "complaint" and c.complaint_type == "vent"
    assert c.source == "text+voice"
    assert abs(sum(c.complaint_probabilities.values()) - 1) < 1e-3
    assert abs(sum(c.call_type_probabilities.values()) - 1) < 1e-3
    assert any("愤怒" in cue for cue in c.cues)
    assert any("dB" in cue for cue in c.cues)   # a voice cue explains the decision


def test_text_only_input_still_classifies(clf):
    t = Transcript(utterances=[Utterance("customer", 0, 0,
        "你们物业是干什么吃的！电梯又坏了！又坏了！天天坏！我受够了！我要打12345投诉你们！")])
    c = clf.classify(t)
    assert c.source == "text"
    assert c.call_type == "complaint" and c.complaint_type == "vent"
    assert 0 < c.complaint_confidence <= 1


def test_non_complaint_has_no_complaint_type(clf):
    t = Transcript(utterances=[Utterance("customer", 0, 0, "你好，我想咨询一下，物业费可以在手机上交吗？要带什么材料？")])
    c = clf.classify(t)
    assert c.call_type == "inquiry"
    assert c.complaint_type is None and c.complaint_confidence is None


QUESTION = ["你好，我想问一下，我家卫生间的灯怎么不亮了？是怎么回事啊？", "那要怎么弄呢？", "好的，谢谢。"]
DISPATCH = ["您好，物业服务中心。", "好的，我给您登记一下，安排电工今天下午上门看看。",
            "师傅到之前会先打您电话，请保持电话畅通。", "不客气，再见。"]
EXPLAIN = ["您好，物业服务中心。", "户内的灯具是业主自己负责的，您可以先换个灯泡试试。",
           "灯泡在前台可以买到，带上门禁卡就行。", "不客气，再见。"]


def test_the_agent_decides_a_question_about_a_fault(clf):
    """The caller asks; the agent sending an electrician makes it a repair, explaining makes it
    an inquiry. (Written for this test: a room the corpus never mentions.)"""
    sent = clf.classify(M.transcript_from_turns(QUESTION, DISPATCH))
    told = clf.classify(M.transcript_from_turns(QUESTION, EXPLAIN))
    alone = clf.classify(M.transcript_from_turns(QUESTION))
    assert sent.call_type == "repair" and told.call_type == "inquiry"
    p = [c.call_type_probabilities["repair"] for c in (sent, alone, told)]
    assert p[0] > p[1] > p[2]
    assert any(c.startswith("坐席的报修类应答") for c in sent.cues)


def test_missing_agent_side_still_classifies(clf):
    repair = "你好，我家厨房下水道堵了，麻烦派个师傅来看看。"
    c = clf.classify(M.transcript_from_turns([repair]))
    assert c.call_type == "repair" and not any(x.startswith("坐席") for x in c.cues)
    mono = Transcript(utterances=[Utterance("unknown", 0, 2, "您好，物业服务中心。"),
                                  Utterance("unknown", 2, 6, repair)])
    assert clf.classify(mono).call_type == "repair"


def test_example_turns_with_agent_turns():
    e = M.example_from_dict({"call_type": "repair", "turns": ["灯不亮了。", "好的。"],
                             "agent_turns": ["您好，物业。", "我派电工过去。", "再见。"]})
    assert [(u.speaker, u.text) for u in e.transcript.utterances] == [
        ("agent", "您好，物业。"), ("customer", "灯不亮了。"), ("agent", "我派电工过去。"),
        ("customer", "好的。"), ("agent", "再见。")]
    assert F.agent_text(M.example_from_dict({"call_type": "repair", "turns": ["灯不亮了。"]}).transcript) == ""
    with pytest.raises(M.ClassifierError, match="agent_turns"):
        M.example_from_dict({"call_type": "repair", "turns": ["灯不亮了。"], "agent_turns": "我派电工过去。"})


def test_train_with_extra_examples_with_and_without_agent_turns():
    corpus = M.load_corpus()[::12]
    extras = [{"call_type": "inquiry", "turns": ["楼道灯怎么不亮了？"],
               "agent_turns": ["您好。", "楼道灯是声控的，晚上十二点以后统一关闭。"]},
              {"call_type": "repair", "text": "楼道灯不亮了，麻烦派人来修。"}]
    clf = M.train(extras, corpus=corpus, voice_calls=[], cross_validate=False)
    assert clf.metadata["examples"]["extra"] == 2
    assert clf.metadata["examples"]["with_agent_side"] == sum(
        bool(F.agent_text(e.transcript)) for e in corpus) + 1
    assert "agent_words" in clf.metadata["features"]["call_type"]
    assert clf.classify(M.transcript_from_turns(["楼道灯不亮了。"])).call_type in CALL_TYPES
    # training data without any agent side: the model is built without the agent's blocks
    customer_only = [M.Example(M.transcript_from_turns(F.customer_turns(e.transcript)), e.call_type,
                               e.complaint_type, key=e.key) for e in corpus]
    clf2 = M.train(corpus=customer_only, voice_calls=[], cross_validate=False)
    assert "agent_words" not in clf2.metadata["features"]["call_type"]
    assert clf2.classify(M.transcript_from_turns(QUESTION, DISPATCH)).call_type in CALL_TYPES


def test_model_with_an_old_feature_layout_must_be_retrained(tmp_path, clf):
    out = M.save(clf, tmp_path / "m")
    meta = json.loads((out / M.META_FILE).read_text("utf-8"))
    del meta["features"]
    (out / M.META_FILE).write_text(json.dumps(meta), "utf-8")
    with pytest.raises(M.ClassifierError, match="hotline-qa train"):
        M.load(out)


def test_empty_transcript_is_an_error(clf):
    with pytest.raises(M.ClassifierError):
        clf.classify(Transcript(utterances=[Utterance("customer", 0, 1, "  ")]))


def test_bad_extra_example_is_an_error():
    with pytest.raises(M.ClassifierError, match="complaint_type"):
        M.example_from_dict({"call_type": "complaint", "text": "你好"})
    with pytest.raises(M.ClassifierError, match="call type"):
        M.example_from_dict({"call_type": "praise", "text": "你好"})
    with pytest.raises(M.ClassifierError):
        M.example_from_dict({"call_type": "repair"})


def test_save_load_roundtrip_and_missing_model(tmp_path, clf):
    out = M.save(clf, tmp_path / "m")
    again = M.load(out)
    t = Transcript(utterances=[Utterance("customer", 0, 0, "你好，我家厨房下水道堵了，麻烦派个师傅来看看。")])
    assert again.classify(t).to_dict() == clf.classify(t).to_dict()
    with pytest.raises(M.ClassifierError, match="hotline-qa train"):
        M.load(tmp_path / "nothing")


def test_version_mismatch_warns(tmp_path, clf):
    out = M.save(clf, tmp_path / "m")
    meta = json.loads((out / M.META_FILE).read_text("utf-8"))
    meta["versions"]["scikit-learn"] = "0.0.1"
    (out / M.META_FILE).write_text(json.dumps(meta), "utf-8")
    with pytest.warns(UserWarning, match="scikit-learn 0.0.1"):
        M.load(out)


def test_corrupt_model_file_is_an_error(tmp_path, clf):
    out = M.save(clf, tmp_path / "m")
    (out / M.MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(M.ClassifierError, match="cannot read"):
        M.load(out)


def test_training_is_reproducible():
    """Same data and seed: same hash, same cross-validated scores, same predictions."""
    corpus = M.load_corpus()[::8]          # a small, stratified-enough slice keeps this fast
    voice = M.load_voice_calls()[::2]
    a = M.train(corpus=corpus, voice_calls=voice)
    b = M.train(corpus=corpus, voice_calls=voice)
    assert a.metadata["data_hash"] == b.metadata["data_hash"]
    assert a.metadata["cv"] == b.metadata["cv"]
    t = [Transcript.from_dict(v.transcript.to_dict()) for v in voice[:5]]
    pa, pb = a.predict_proba(t), b.predict_proba(t)
    assert (pa[0] == pb[0]).all() and (pa[1] == pb[1]).all()


@pytest.mark.slow
def test_supervisor_corrections_change_the_prediction():
    text = "你好，我想问问小区的游泳池几点开放，周末人多不多？"
    t = Transcript(utterances=[Utterance("customer", 0, 0, text)])
    base = M.train(voice_calls=[], cross_validate=False)
    before = base.classify(t)
    assert before.call_type == "inquiry"
    fixes = [{"call_type": "suggestion", "text": text}] * 3
    after = M.train(fixes, voice_calls=[], cross_validate=False).classify(t)
    assert after.call_type == "suggestion"
    assert after.call_type_probabilities["suggestion"] > before.call_type_probabilities["suggestion"]
