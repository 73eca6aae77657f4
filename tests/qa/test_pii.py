"""Personal data in transcripts (qa/pii.py, qa/pii_audio.py): the cases of
``tests/data/pii_cases.yaml`` (spoken and written forms, checksums, numbers that are no
personal data), masks that keep the length, word-time spans, beeped audio, the log filter."""
from __future__ import annotations

import json
import logging
import wave

import numpy as np
import pytest
import yaml

from qa import pii
from qa.pii_audio import TONE_HZ, beep, beep_file, spans_of
from tests.conftest import DATA

CASES = yaml.safe_load((DATA / "pii_cases.yaml").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_case(case):
    found = pii.detect(case["text"])
    assert [[s.kind, s.text] for s in found] == case["spans"]
    for s in found:
        assert case["text"][s.start:s.end] == s.text
    masked = pii.mask(case["text"])
    assert len(masked) == len(case["text"])
    if "masked" in case:
        assert masked == case["masked"]
    if case["spans"]:
        assert masked != case["text"]


def test_values_are_normalised():
    [phone] = pii.detect("幺三九，幺六二四，七七三五")
    assert phone.value == "13916247735"
    [room] = pii.detect("三号楼二单元五零二")
    assert room.value == "3栋2单元502"
    [card] = pii.detect("身份证号11010519491231002x")
    assert card.kind == "id_card" and card.value == "11010519491231002X"
    assert pii.valid_id_number("11010519491231002X") and not pii.valid_id_number("110105194912310021")
    assert pii.luhn_ok("6222021234567890128") and not pii.luhn_ok("6222021234567890123")


def test_kinds_filter_and_mask_number():
    text = "王先生，13812345678"
    assert [s.kind for s in pii.detect(text, kinds=["phone"])] == ["phone"]
    assert pii.mask(text, kinds=["name"]) == "*先生，13812345678"
    assert pii.mask_number("13916247735") == "139****7735"


def test_utterance_spans_take_the_words_times():
    utt = {"speaker": "agent", "start": 10.0, "end": 14.0, "text": "电话幺三九，幺六二四，七七三五。",
           "words": [{"start": 10.0, "end": 10.5, "text": "电话"},
                     {"start": 10.6, "end": 11.5, "text": "幺三九"},
                     {"start": 11.7, "end": 12.8, "text": "幺六二四"},
                     {"start": 13.0, "end": 13.9, "text": "七七三五"}]}
    spans, timed = pii.utterance_spans(utt)
    assert [s.kind for s in spans] == ["phone"]
    assert timed[0].speaker == "agent"
    assert timed[0].start == pytest.approx(10.6) and timed[0].end == pytest.approx(13.9)
    bare = {**utt, "words": None}  # no words: spread over the utterance
    _, timed = pii.utterance_spans(bare)
    assert 10.0 < timed[0].start < timed[0].end <= 14.0


def test_mask_transcript_masks_text_words_and_caller_number():
    doc = {"metadata": {"caller_number": "13916247735"}, "utterances": [
        {"speaker": "customer", "start": 0, "end": 2, "text": "我姓周，九栋二单元一零零二",
         "words": [{"start": 0, "end": 1, "text": "我姓周"},
                   {"start": 1, "end": 2, "text": "九栋二单元一零零二"}]},
        {"speaker": "agent", "start": 2, "end": 3, "text": "好的"}]}
    out = pii.mask_transcript(doc)
    assert out["metadata"]["caller_number"] == "139****7735"
    assert out["utterances"][0]["text"] == "我姓*，*栋*单元**零二"
    assert [w["text"] for w in out["utterances"][0]["words"]] == ["我姓*", "*栋*单元**零二"]
    assert doc["utterances"][0]["text"] == "我姓周，九栋二单元一零零二"  # a copy


def _dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[int(np.argmax(spec))])


def test_beep_replaces_the_span_in_its_speakers_channel():
    sr = 16000
    t = np.arange(4 * sr) / sr
    voice = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    before = voice.copy()
    out = beep([voice, voice], sr, [pii.WordSpan("phone", "customer", 1.0, 2.0, "x")],
               pad_s=0)
    left, right = out
    assert _dominant_hz(right[int(1.1 * sr):int(1.9 * sr)], sr) == pytest.approx(TONE_HZ, abs=5)
    assert np.abs(left[int(1.1 * sr):int(1.9 * sr)]).max() == 0  # the other mic: muted
    assert _dominant_hz(right[int(2.5 * sr):int(3.5 * sr)], sr) == pytest.approx(300, abs=5)
    assert np.array_equal(voice, before)  # the input is left as it was
    with pytest.raises(ValueError):
        beep([voice], 2000, [])


def test_beep_file_on_a_real_call(tmp_path):
    truth = json.loads((DATA / "truth" / "pub-003.truth.json").read_text("utf-8"))
    doc = {"utterances": [{"speaker": "customer", "start": 3.0, "end": 6.0,
                           "text": "电话幺三九，幺六二四，七七三五"}]}
    assert spans_of(truth) == []  # an inquiry without personal data
    out = beep_file(DATA / "calls" / "pub-003.stereo.wav", doc, tmp_path / "m.wav")
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        sr = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32767
    span = spans_of(doc)[0]
    seg = data[int((span.start + 0.1) * sr):int((span.end - 0.1) * sr), 1]
    assert _dominant_hz(seg, sr) == pytest.approx(TONE_HZ, abs=5)


def test_log_filter_masks_messages():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    log = logging.getLogger("tests.pii")
    handler = Keep()
    log.addHandler(handler)
    log.propagate = False
    pii.install_log_filter(log)
    try:
        log.warning("回电 %s，%s", "13812345678", "九栋二单元一零零二")
        pii.set_log_masking(False)
        log.warning("回电 %s", "13812345678")
    finally:
        pii.set_log_masking(True)
        log.removeHandler(handler)
    assert records == ["回电 138****5678，*栋*单元**零二", "回电 13812345678"]


def test_a_name_the_recogniser_cut_in_two_is_masked_in_both_outputs():
    """…请问您贵姓。周 | 先生，… (the surname at the end of the agent's previous utterance)."""
    from qa.pii_audio import spans_of
    doc = {"utterances": [
        {"speaker": "agent", "start": 50.0, "end": 55.0, "text": "麻烦您稍等。正"},
        {"speaker": "customer", "start": 55.5, "end": 56.0, "text": "好的"},
        {"speaker": "agent", "start": 60.0, "end": 64.0, "text": "先生，让您久等了"},
        {"speaker": "agent", "start": 65.0, "end": 66.0, "text": "您看可以吗"},
        {"speaker": "agent", "start": 67.0, "end": 68.0, "text": "女士您好"}]}
    masked = pii.mask_transcript(doc)["utterances"]
    assert masked[0]["text"] == "麻烦您稍等。*"
    assert masked[3]["text"] == "您看可以吗"  # ends in a particle: no surname
    assert [(s.kind, s.text, s.end) for s in spans_of(doc)] == [("name", "正", 55.0)]
