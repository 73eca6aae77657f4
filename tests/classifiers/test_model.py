"""The shipped classifier: quality on the scripted calls, persistence, retraining, errors."""
from __future__ import annotations

import json
import shutil
import zipfile

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
