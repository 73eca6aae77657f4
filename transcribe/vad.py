"""Speech detection (Silero VAD, the model faster-whisper ships) in bounded memory.

:func:`speech_timestamps` gives exactly what ``faster_whisper.vad.get_speech_timestamps``
gives — same model, same batches of windows, same decisions (the decision loop below is
faster-whisper's, MIT licence) — but never copies the whole recording: faster-whisper pads a
copy of the audio and builds a second, 12 % larger, array of windows with their context
before running the model (2.1 times the recording in extra memory: 1.5 GB for a 3-hour call);
here the windows are built one batch (10,000 windows, 23 MB) at a time.
"""
from __future__ import annotations

import numpy as np

__all__ = ["speech_probabilities", "speech_timestamps"]

_WINDOW = 512  # samples per window at 16 kHz
_CONTEXT = 64  # samples of the previous window the model also hears
_BATCH = 10_000  # windows per model run (faster-whisper's ``encoder_batch_size``)


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability of every 512-sample window of ``audio`` (16 kHz mono),
    as ``SileroVADModel.__call__`` computes it on faster-whisper's padded copy: the audio is
    zero-padded to whole windows (a whole window of zeros when it already ends on one), each
    window is preceded by the last 64 samples of the one before (zeros for the first), and the
    last window's own last 64 samples are zeroed."""
    from faster_whisper.vad import get_vad_model  # noqa: PLC0415 - heavy

    session = get_vad_model().session
    n = len(audio)
    n_windows = n // _WINDOW + 1
    h = np.zeros((1, 1, 128), dtype="float32")
    c = np.zeros((1, 1, 128), dtype="float32")
    outputs = []
    for j0 in range(0, n_windows, _BATCH):
        j1 = min(n_windows, j0 + _BATCH)
        m = j1 - j0
        # each row: the previous window's last 64 samples, then the window (zeros past the end)
        batch = np.zeros((m, _CONTEXT + _WINDOW), np.float32)
        seg = audio[j0 * _WINDOW:min(j1 * _WINDOW, n)]
        k, r = divmod(len(seg), _WINDOW)
        batch[:k, _CONTEXT:] = seg[:k * _WINDOW].reshape(k, _WINDOW)
        if r:
            batch[k, _CONTEXT:_CONTEXT + r] = seg[k * _WINDOW:]
        batch[1:, :_CONTEXT] = batch[:-1, -_CONTEXT:]
        if j0:  # the window before this batch (always whole: only the last one is not)
            batch[0, :_CONTEXT] = audio[j0 * _WINDOW - _CONTEXT:j0 * _WINDOW]
        if j1 == n_windows:  # faster-whisper zeroes the last window's tail
            batch[-1, -_CONTEXT:] = 0.0
        out, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        outputs.append(out)
        del batch, seg
    return np.concatenate(outputs, axis=0)


def speech_timestamps(audio: np.ndarray, vad_options=None, sampling_rate: int = 16000,
                      **kwargs) -> list[dict]:
    """Speech chunks ``[{"start": sample, "end": sample}, ...]`` of 16 kHz mono ``audio``:
    ``faster_whisper.vad.get_speech_timestamps`` without its copies of the recording.

    ``vad_options``: a ``faster_whisper.vad.VadOptions`` (default: from ``kwargs``).
    """
    from faster_whisper.vad import VadOptions  # noqa: PLC0415

    if vad_options is None:
        vad_options = VadOptions(**kwargs)
    speech_probs = speech_probabilities(audio)
    return _decide(speech_probs, len(audio), vad_options, sampling_rate)


def _decide(speech_probs: np.ndarray, audio_length_samples: int, vad_options,
            sampling_rate: int) -> list[dict]:
    """faster-whisper 1.2's decision loop of ``get_speech_timestamps`` (MIT licence), as is."""
    threshold = vad_options.threshold
    neg_threshold = vad_options.neg_threshold
    min_speech_duration_ms = vad_options.min_speech_duration_ms
    max_speech_duration_s = vad_options.max_speech_duration_s
    min_silence_duration_ms = vad_options.min_silence_duration_ms
    window_size_samples = _WINDOW
    speech_pad_ms = vad_options.speech_pad_ms
    min_speech_samples = sampling_rate * min_speech_duration_ms / 1000
    speech_pad_samples = sampling_rate * speech_pad_ms / 1000
    max_speech_samples = (sampling_rate * max_speech_duration_s - window_size_samples
                          - 2 * speech_pad_samples)
    min_silence_samples = sampling_rate * min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sampling_rate * 98 / 1000

    triggered = False
    speeches = []
    current_speech = {}
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    # to save potential segment end (and tolerate some silence)
    temp_end = 0
    # to save potential segment limits in case of maximum segment size reached
    prev_end = next_start = 0

    for i, speech_prob in enumerate(speech_probs):
        if (speech_prob >= threshold) and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = window_size_samples * i

        if (speech_prob >= threshold) and not triggered:
            triggered = True
            current_speech["start"] = window_size_samples * i
            continue

        if triggered and (window_size_samples * i) - current_speech["start"] > max_speech_samples:
            if prev_end:
                current_speech["end"] = prev_end
                speeches.append(current_speech)
                current_speech = {}
                # previously reached silence (< neg_thres) and is still not speech (< thres)
                if next_start < prev_end:
                    triggered = False
                else:
                    current_speech["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current_speech["end"] = window_size_samples * i
                speeches.append(current_speech)
                current_speech = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue

        if (speech_prob < neg_threshold) and triggered:
            if not temp_end:
                temp_end = window_size_samples * i
            # condition to avoid cutting in very short silence
            if (window_size_samples * i) - temp_end > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if (window_size_samples * i) - temp_end < min_silence_samples:
                continue
            else:
                current_speech["end"] = temp_end
                if (current_speech["end"] - current_speech["start"]) > min_speech_samples:
                    speeches.append(current_speech)
                current_speech = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue

    if current_speech and (audio_length_samples - current_speech["start"]) > min_speech_samples:
        current_speech["end"] = audio_length_samples
        speeches.append(current_speech)

    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence_duration = speeches[i + 1]["start"] - speech["end"]
            if silence_duration < 2 * speech_pad_samples:
                speech["end"] += int(silence_duration // 2)
                speeches[i + 1]["start"] = int(
                    max(0, speeches[i + 1]["start"] - silence_duration // 2))
            else:
                speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))
                speeches[i + 1]["start"] = int(
                    max(0, speeches[i + 1]["start"] - speech_pad_samples))
        else:
            speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))

    return speeches
