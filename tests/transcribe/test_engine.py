"""Real transcription with the embedded model: a short stereo call, mono, and non-speech."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from transcribe.audio import decode
from transcribe.engine import IDENTICAL_WARNING, Transcriber
from transcribe.normalize import to_simplified

pytestmark = pytest.mark.asr
DATA = Path(__file__).resolve().parent.parent / "data"


def _write_wav(path: Path, channels: list[np.ndarray], rate: int = 8000) -> Path:
    data = np.stack(channels, axis=1) if len(channels) > 1 else channels[0][:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def transcriber(tmp_path_factory) -> Transcriber:
    import os

    from qa.settings import get_settings
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("HOTLINE_QA_HOME")
    os.environ["HOTLINE_QA_HOME"] = str(home)
    get_settings.cache_clear()
    try:
        yield Transcriber()
    finally:
        if old is None:
            os.environ.pop("HOTLINE_QA_HOME", None)
        else:
            os.environ["HOTLINE_QA_HOME"] = old
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def short_call(tmp_path_factory) -> Path:
    """The first 38 s of pub-003 (stereo, agent left): greeting, question, answer, question."""
    d = decode(DATA / "calls" / "pub-003.stereo.wav", sample_rate=8000)
    n = 38 * 8000
    return _write_wav(tmp_path_factory.mktemp("call") / "short.wav", [c[:n] for c in d.channels])


@pytest.fixture(scope="module")
def short_transcript(transcriber, short_call):
    return transcriber.transcribe(short_call, metadata={"agent_id": "A1003"}, call_id="short")


def test_stereo_call(short_transcript):
    t = short_transcript
    truth = json.loads((DATA / "truth" / "pub-003.truth.json").read_text("utf-8"))
    assert t.call_id == "short" and t.metadata == {"agent_id": "A1003"}
    assert t.duration == pytest.approx(38.0, abs=0.1)
    us = t.utterances
    assert [u.start for u in us] == sorted(u.start for u in us)
    assert {u.speaker for u in us} == {"agent", "customer"}
    # the turns come in the true order: agent greets, customer asks, agent answers, customer asks
    first = [u.speaker for u in us if u.duration > 1.5][:4]
    assert first == ["agent", "customer", "agent", "customer"]
    agent_text = "".join(u.text for u in t.by("agent"))
    customer_text = "".join(u.text for u in t.by("customer"))
    assert "您好" in us[0].text and "物业服务中心" in us[0].text
    assert "物业费" in customer_text and "公众号" in agent_text
    for u in us:
        assert to_simplified(u.text) == u.text  # simplified script
        assert u.words and u.start == u.words[0].start
        assert 0 <= u.confidence <= 1
        assert -40 < u.level_dbfs < -5
        assert 60 <= u.extra["pitch_hz"] <= 400 and u.extra["pitch_std_st"] >= 0
    # utterance times follow the true turns (within 0.5 s) for the long turns
    for tu in truth["utterances"][:3]:
        best = max((u for u in us if u.speaker == tu["speaker"]),
                   key=lambda u: min(u.end, tu["end"]) - max(u.start, tu["start"]))
        assert abs(best.start - tu["start"]) < 0.5 and abs(best.end - tu["end"]) < 1.0
    d = t.diagnostics
    assert d["channels"] == 2 and d["model"] == "whisper-base-ct2" and d["agent_channel"] == "left"
    assert d["timing"]["asr_total_s"] > 0 and d["warnings"] == []
    json.dumps(t.to_dict(), ensure_ascii=False)  # serialisable as the RULES.md document


def test_agent_channel_right(transcriber, short_call, short_transcript):
    t = transcriber.transcribe(short_call, agent_channel="right")
    swap = {"agent": "customer", "customer": "agent"}
    assert [(swap[u.speaker], u.text) for u in t.utterances] == \
        [(u.speaker, u.text) for u in short_transcript.utterances]


def test_mono_call_is_separated_into_agent_and_customer(transcriber, short_call, tmp_path):
    d = decode(short_call, sample_rate=8000)
    mix = d.channels[0] + d.channels[1]
    t = transcriber.transcribe(_write_wav(tmp_path / "mono.wav", [mix]))
    assert {u.speaker for u in t.utterances} == {"agent", "customer"}
    first = t.utterances[0]
    assert first.speaker == "agent" and "物业服务中心" in first.text
    assert "物业费" in "".join(u.text for u in t.by("customer"))
    sep = t.diagnostics["speaker_separation"]
    assert sep["parties"] == 2 and 0.5 <= sep["role_confidence"] <= 1
    assert t.diagnostics["channels"] == 1 and t.diagnostics["timing"]["separation_s"] > 0
    assert all(-40 < u.level_dbfs < -5 for u in t.utterances)
    # a mono call saved as stereo (two identical channels) is separated the same way
    t2 = transcriber.transcribe(_write_wav(tmp_path / "dual.wav", [mix, mix]))
    assert IDENTICAL_WARNING in t2.diagnostics["warnings"]
    assert t2.diagnostics["agent_channel"] is None
    assert [(u.speaker, u.text) for u in t2.utterances] == [(u.speaker, u.text)
                                                          for u in t.utterances]


def _hold_music(seconds: float, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    notes = np.array([262, 330, 392, 523, 392, 330, 294, 349])
    f = notes[(t * 2).astype(int) % len(notes)]
    tone = sum(0.1 / k * np.sin(2 * np.pi * k * f * t) for k in (1, 2, 3))
    return (tone * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["silence", "hold_music", "line_noise"])
def test_no_speech_produces_no_utterance(transcriber, tmp_path, kind):
    rng = np.random.default_rng(1)
    n = 60 * 8000
    floor = (10 ** (-60 / 20)) * rng.standard_normal(n).astype(np.float32)
    if kind == "silence":
        chans = [np.zeros(n, np.float32)]
    elif kind == "hold_music":  # music on the agent line, quiet customer line
        chans = [_hold_music(60) + floor, floor]
    else:  # hiss and hum at a poor line's level
        t = np.arange(n) / 8000
        hum = 0.02 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.sin(2 * np.pi * 150 * t)
        chans = [(0.03 * rng.standard_normal(n) + hum).astype(np.float32)]
    tr = transcriber.transcribe(_write_wav(tmp_path / f"{kind}.wav", chans))
    assert tr.utterances == [], [u.text for u in tr.utterances]
    assert tr.duration == pytest.approx(60, abs=0.1)
