"""Acoustic measurements on one channel: active speech level and pitch.

Only measures (no decoding, no recognition). Inputs are float32 samples in [-1, 1].
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy.signal import resample_poly

#: Frame length for level measurement, seconds.
LEVEL_FRAME_S = 0.01
#: Frames quieter than this are never counted as speech, dBFS.
LEVEL_FLOOR_DBFS = -60.0
#: Frames more than this far below the loudest part of the span are pauses, dB.
LEVEL_MARGIN_DB = 25.0


def active_level_dbfs(samples: np.ndarray, sample_rate: int, start: float | None = None,
                      end: float | None = None) -> float | None:
    """Active speech level (dBFS) of ``samples[start:end]``: the mean power of its active frames.

    A simplified ITU-T P.56: 10 ms frames; a frame is active when it is above -60 dBFS and within
    25 dB of the span's 95th-percentile frame power, so pauses and line noise do not lower
    the level. A full-scale sine measures -3 dBFS.

    Args:
        samples: one channel, float in [-1, 1].
        sample_rate: Hz.
        start, end: the span in seconds (default: all).

    Returns:
        The level in dBFS rounded to 0.1, or ``None`` when the span holds no active frame.
    """
    a = 0 if start is None else max(0, int(start * sample_rate))
    b = len(samples) if end is None else min(len(samples), int(end * sample_rate))
    n = int(LEVEL_FRAME_S * sample_rate)
    if b - a < n:
        return None
    seg = np.asarray(samples[a:b], dtype=np.float64)
    frames = seg[: (len(seg) // n) * n].reshape(-1, n)
    power = np.mean(frames * frames, axis=1)
    db = 10 * np.log10(power + 1e-20)
    top = np.percentile(db, 95)
    active = (db > LEVEL_FLOOR_DBFS) & (db > top - LEVEL_MARGIN_DB)
    if not np.any(active):
        return None
    return round(float(10 * np.log10(np.mean(power[active]))), 1)


# --- pitch ---------------------------------------------------------------------------------
# Hand-written YIN (de Cheveigné & Kawahara 2002), vectorised with numpy: the libraries that ship
# one (librosa, with numba/llvmlite; crepe/torchcrepe, with torch) would add hundreds of MB of
# dependencies for this one measurement, and telephone speech at 8 kHz needs nothing more.
PITCH_RATE = 8000
PITCH_FMIN = 60.0
PITCH_FMAX = 400.0
_YIN_THRESHOLD = 0.15
_FRAME = 320   # 40 ms at 8 kHz: two periods of the lowest pitch
_HOP = 80      # 10 ms


#: Frames analysed at once: memory stays bounded (a few tens of MB) whatever the duration.
_F0_BLOCK = 512


def f0_track(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Fundamental frequency per 10 ms frame (Hz), ``nan`` where unvoiced or silent.

    Frames are analysed in blocks of :data:`_F0_BLOCK`, and only those loud enough to be
    voiced, so memory does not grow with the recording beyond the result (8 bytes a frame)
    and an 8 kHz input (which is not copied).

    Args:
        samples: one channel, float in [-1, 1]; resampled to 8 kHz first.
        sample_rate: Hz.
    """
    x = np.asarray(samples)
    if sample_rate != PITCH_RATE:
        g = np.gcd(int(sample_rate), PITCH_RATE)
        x = resample_poly(np.asarray(x, dtype=np.float64), PITCH_RATE // g,
                          int(sample_rate) // g)
    if len(x) < _FRAME:
        return np.zeros(0)
    n_frames = 1 + (len(x) - _FRAME) // _HOP
    f0 = np.full(n_frames, np.nan)
    for i in range(0, n_frames, _F0_BLOCK):
        m = min(_F0_BLOCK, n_frames - i)
        seg = np.asarray(x[i * _HOP:(i + m - 1) * _HOP + _FRAME], dtype=np.float64)
        f0[i:i + m] = _f0_frames(seg, m)
    return f0


def _f0_frames(x: np.ndarray, n_frames: int) -> np.ndarray:
    """YIN f0 of the ``n_frames`` frames of ``x`` (8 kHz, float64, frame ``i`` at ``i * _HOP``)."""
    tau_min = int(PITCH_RATE / PITCH_FMAX)
    tau_max = int(PITCH_RATE / PITCH_FMIN) + 1
    width = _FRAME - tau_max  # integration window
    f0 = np.full(n_frames, np.nan)
    idx = np.arange(width)[None, :] + _HOP * np.arange(n_frames)[:, None]
    energy = np.mean(x[idx] ** 2, axis=1)
    loud = energy > 10 ** (-50 / 10) * 1.0
    frame_rows = np.nonzero(loud)[0]  # a quiet frame is never voiced: not analysed
    if len(frame_rows) == 0:
        return f0
    frames = x[np.arange(_FRAME)[None, :] + _HOP * frame_rows[:, None]]
    n = len(frame_rows)
    # difference function d(tau) = e(0) + e(tau) - 2 r(tau), r via FFT cross-correlation
    nfft = 1 << int(np.ceil(np.log2(2 * _FRAME)))
    spec_a = sfft.rfft(frames[:, :width], nfft)
    spec_b = sfft.rfft(frames, nfft)
    r = sfft.irfft(np.conj(spec_a) * spec_b, nfft)[:, :tau_max + 1]
    del spec_a, spec_b
    sq = np.concatenate([np.zeros((n, 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    e_tau = sq[:, taus + width] - sq[:, taus]
    d = np.maximum(sq[:, [width]] + e_tau - 2 * r, 0.0)
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    band = cmnd[:, tau_min:tau_max]
    below = band < _YIN_THRESHOLD
    has = below.any(axis=1)
    rows = np.nonzero(has)[0]
    if len(rows) == 0:
        return f0
    sub = band[rows]
    first = np.argmax(below[rows], axis=1)
    # walk down to the local minimum after the first dip under the threshold: the first
    # t >= first where the next value is not smaller (vectorised over frames)
    width_b = sub.shape[1]
    stop = np.ones_like(sub, dtype=bool)
    stop[:, :-1] = sub[:, 1:] >= sub[:, :-1]
    stop &= np.arange(width_b)[None, :] >= first[:, None]
    t = np.argmax(stop, axis=1)
    tau = (t + tau_min).astype(np.float64)
    ti = t + tau_min
    inner = (ti > 0) & (ti < tau_max)  # parabolic interpolation
    r_i, t_i = rows[inner], ti[inner]
    a, b, c = cmnd[r_i, t_i - 1], cmnd[r_i, t_i], cmnd[r_i, t_i + 1]
    den = a - 2 * b + c
    ok = np.abs(den) > 1e-12
    shift = np.where(ok, 0.5 * (a - c) / np.where(ok, den, 1.0), 0.0)
    tau[inner] = t_i + np.clip(shift, -1, 1)
    f0[frame_rows[rows]] = PITCH_RATE / tau
    return f0


def pitch_stats(samples: np.ndarray, sample_rate: int, start: float | None = None,
                end: float | None = None) -> tuple[float | None, float | None]:
    """Median f0 (Hz) of the voiced frames of a span and their spread (std, semitones).

    Returns ``(None, None)`` when fewer than 5 frames are voiced.
    """
    a = 0 if start is None else max(0, int(start * sample_rate))
    b = len(samples) if end is None else min(len(samples), int(end * sample_rate))
    f0 = f0_track(samples[a:b], sample_rate)
    v = f0[np.isfinite(f0)]
    if len(v) < 5:
        return None, None
    med = float(np.median(v))
    st = 12 * np.log2(v / med)
    return round(med, 1), round(float(np.std(st)), 2)
