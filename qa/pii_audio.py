"""Personal data beeped out of a recording: the time spans of :func:`qa.pii.utterance_spans`
replaced with a 1 kHz tone.

In a stereo recording each span is beeped in its speaker's channel (default left = agent,
``HOTLINE_QA_AGENT_CHANNEL``) and muted in the other (the other party's microphone hears the
line too); in a mono one, in the only channel. Output: 16-bit PCM WAV.

Example::

    from qa.pii_audio import beep_file
    beep_file("calls/pub-001.stereo.mp3", transcript, "pub-001.masked.wav")
"""
from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from qa.pii import WordSpan, transcript_spans, utterance_spans

TONE_HZ = 1000.0
TONE_LEVEL = 0.3      # amplitude of the tone (−10.5 dBFS)
PAD_S = 0.08          # seconds added before and after each span (word times are approximate)


def spans_of(transcript: dict[str, Any], kinds: Iterable[str] | None = None) -> list[WordSpan]:
    """The timed personal-data spans of a transcript document (RULES.md)."""
    out: list[WordSpan] = []
    utts = transcript.get("utterances") or []
    for u, spans in zip(utts, transcript_spans(utts, kinds)):
        out.extend(utterance_spans(u, spans=spans)[1])
    return out


def beep(channels: list[np.ndarray], sample_rate: int, spans: Iterable[WordSpan], *,
         agent_channel: str = "left", pad_s: float = PAD_S) -> list[np.ndarray]:
    """Copies of ``channels`` (float32 in [-1, 1]) with every span (seconds) replaced by a
    1 kHz tone in its speaker's channel and by silence in the other.

    Raises:
        ValueError: more than two channels, or a sample rate under 2.5 kHz (no room for the
            tone).
    """
    if len(channels) > 2:
        raise ValueError("最多两个声道 / at most two channels")
    if sample_rate < 2500:
        raise ValueError("采样率过低 / sample rate too low for a 1 kHz tone")
    out = [np.array(c, dtype=np.float32, copy=True) for c in channels]
    n = min(len(c) for c in out) if out else 0
    agent = 0 if agent_channel == "left" else 1
    for s in spans:
        a = max(0, int((s.start - pad_s) * sample_rate))
        b = min(n, int(np.ceil((s.end + pad_s) * sample_rate)))
        if b <= a:
            continue
        t = np.arange(a, b, dtype=np.float64) / sample_rate
        tone = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
        if len(out) == 1:
            out[0][a:b] = tone
            continue
        own = agent if s.speaker == "agent" else 1 - agent if s.speaker == "customer" else None
        for i in range(2):
            out[i][a:b] = tone if own in (None, i) else 0.0
    return out


def write_wav(path: Path | str, channels: list[np.ndarray], sample_rate: int) -> Path:
    """Write float channels as 16-bit PCM WAV (interleaved)."""
    path = Path(path)
    data = np.stack(channels, axis=1) if len(channels) > 1 else channels[0][:, None]
    pcm = (np.clip(data, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return path


def beep_file(audio: Path | str, transcript: dict[str, Any], out: Path | str, *,
              kinds: Iterable[str] | None = None, agent_channel: str = "left",
              sample_rate: int = 16000) -> Path:
    """Decode ``audio``, beep the transcript's personal data, write WAV to ``out``
    (atomically: a temporary file renamed). Raises ``transcribe.audio.AudioError`` for a file
    that cannot be decoded."""
    from transcribe.audio import decode  # noqa: PLC0415 - PyAV is heavy

    dec = decode(audio, sample_rate=sample_rate)
    chans = beep(dec.channels, dec.sample_rate, spans_of(transcript, kinds),
                 agent_channel=agent_channel)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    write_wav(tmp, chans, dec.sample_rate)
    tmp.replace(out)
    return out
