"""Whisper's log-Mel features in bounded memory.

faster-whisper computes the features of everything it is given in one go: a padded copy of
the audio, the 400-sample frames of the whole recording, their complex spectrum and its
magnitudes — about 40 times the audio (1.3 GB for 30 minutes of speech, which a 30-minute
stereo call can have in one channel). :class:`BoundedFeatureExtractor` computes the same
features (same frames, window, FFT, Mel filters, clamp and scaling) 30 seconds of frames at a
time into the result (80 floats per 10 ms: 58 MB for 30 minutes); the whole-recording maximum
the clamp needs is taken afterwards.
"""
from __future__ import annotations

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

__all__ = ["BoundedFeatureExtractor"]

#: Frames (10 ms each) analysed at once.
_BLOCK = 3000


class BoundedFeatureExtractor(FeatureExtractor):
    """faster-whisper's :class:`FeatureExtractor`, computed in blocks of frames."""

    def __call__(self, waveform: np.ndarray, padding=160, chunk_length=None):
        if chunk_length is not None:
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // self.hop_length
        n_fft, hop, half = self.n_fft, self.hop_length, self.n_fft // 2
        n = len(waveform)
        x_len = n + (padding or 0)
        if x_len <= n_fft + 1:  # too short to matter (and reflect-padding repeats itself)
            return super().__call__(waveform, padding, chunk_length)
        # the signal with ``padding`` zeros at its end, reflect-padded by n_fft/2 at both ends
        # (faster-whisper's np.pad + stft(center=True)), in one copy
        xp = np.empty(x_len + 2 * half, np.float32)
        xp[half:half + n] = waveform
        xp[half + n:half + x_len] = 0.0
        xp[:half] = xp[2 * half:half:-1]
        xp[half + x_len:] = xp[half + x_len - 2:x_len - 2:-1]
        n_frames = 1 + (len(xp) - n_fft) // hop - 1  # faster-whisper drops the last frame
        window = np.hanning(n_fft + 1)[:-1].astype("float32")
        out = np.empty((self.mel_filters.shape[0], n_frames), np.float32)
        step = xp.strides[0]
        for f0 in range(0, n_frames, _BLOCK):
            m = min(_BLOCK, n_frames - f0)
            frames = np.lib.stride_tricks.as_strided(
                xp[f0 * hop:], (m, n_fft), (hop * step, step), writeable=False) * window
            spectrum = np.fft.rfft(frames, n=n_fft, axis=-1).T.astype("complex64")
            magnitudes = np.abs(spectrum) ** 2
            mel_spec = self.mel_filters @ magnitudes
            out[:, f0:f0 + m] = np.log10(np.clip(mel_spec, a_min=1e-10, a_max=None))
        np.maximum(out, out.max() - 8.0, out=out)
        out += 4.0
        out /= 4.0
        return out
