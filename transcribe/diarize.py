"""Two-party speaker separation of a mono telephone recording.

Only separates speakers (no recognition, no role naming — see :mod:`transcribe.roles`). The
recogniser's words of the mixed channel come in; the same words come out grouped into
utterances, each with a party index (0 or 1). Steps:

1. **Speech**: faster-whisper's bundled Silero VAD (onnxruntime, no torch) marks speech.
2. **Features** per 10 ms frame: 13 MFCCs (mean-normalised over the call's speech, so the line
   colour cancels), their level, and the fundamental frequency (YIN, :func:`transcribe.measure.f0_track`).
3. **Chunks**: speech above the line's noise, split at pauses; a recognised word that the level
   gate left silent (a quiet party) counts as speech. Each chunk gets the words it overlaps.
4. **Labelling**: a Viterbi pass over the chunks with a turn-taking prior (a party change
   becomes likely with a longer pause and after a question, less likely after a comma) and
   the words' log-odds (:func:`transcribe.roles.lexical_log_odds`) gives a first labelling.
   A diagonal-covariance GMM per party (spectrum, level and pitch) is trained on its frames,
   each chunk adds its summed frame log-likelihood ratio, and the chunks are decoded again
   until stable. A second look at whole chunks follows: a logistic regression on chunk
   statistics (spectral means, spreads and dynamics; the pitch's spread and range around the
   call's median — two voices may share a median pitch and differ in intonation range; the
   speaking rate from the recognised words), trained on the current labels and applied to
   held-out folds, adds its log-odds and the chunks are decoded again. Self-training can lock
   in an early mistake (one missed turn change flips the rest of the call), so it runs again
   from a first labelling with fewer turn changes and keeps the better-scoring result. Every
   word takes its chunk's party, so a turn change inside a Whisper segment splits the
   utterance; with one voice only, the call is reported as one party.
5. **Overlap**: where the other party's frames start before a turn's first word while the first
   party is still talking (an interruption or a backchannel over the other's speech), the
   utterances are made to overlap in time as they did in the call, and the spans are listed.

Accuracy is reported with the result (:attr:`Separation.separability`, the margin between the
parties); the caller decides what to do when it is low.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from scipy.fft import dct
from scipy.signal import resample_poly

from transcribe.measure import f0_track
from transcribe.records import Word

logger = logging.getLogger("hotline_qa.transcribe.diarize")

__all__ = ["DiarizeOptions", "Separation", "separate", "speech_mask", "frame_features",
           "channels_identical", "party_level_dbfs"]

#: Analysis rate (Hz): telephone band; every input is resampled to it.
RATE = 8000
#: Frame hop (s).
HOP_S = 0.01
_HOP = int(RATE * HOP_S)
_WIN = 200  # 25 ms analysis window
_NFFT = 256
_N_MELS = 24
_N_MFCC = 13


@dataclass
class DiarizeOptions:
    """Settings of the separation.

    Attributes:
        gmm_components: Gaussian components per party model.
        rounds: at most this many rounds of party models and re-decoding.
        spectral_weight, pitch_weight: weights of the spectral and the pitch terms of a
            frame's log-likelihood ratio.
        turn_gap_width_s: how sharply the switch probability rises around ``turn_gap_s`` (s).
        switch_floor: the least probability of a switch (and of staying) between chunks.
        min_pause_s, min_chunk_s: pauses shorter than this are bridged, chunks shorter than
            this dropped (s).
        pause_db: speech counts as active this far above the line's noise floor (dB).
        lexical_weight: weight of the words' log-odds.
        min_turn_s: a run of one party shorter than this (s) inside the other's speech is
            treated as overlap/backchannel evidence, not as a turn of its own.
        vad_threshold: Silero speech probability threshold.
        vad_min_silence_ms: Silero minimum silence (ms).
        turn_gap_s: the pause (s) at which a change of party becomes more likely than not
            (on pub-001…020 a party change follows 12 % of the 0.55-0.7 s pauses between speech
            chunks and 64 % of the 0.7-0.9 s ones).
        question_switch, sentence_switch, comma_stay: log-odds added to (or, for a comma,
            taken from) a party change after a chunk whose last word ends with a question mark,
            a full stop, or a comma (on pub-001…020, after a 0.45-0.7 s pause: 86 % of question
            ends, 25 % of sentence ends, 9 % of comma ends were followed by the other party).
        hold_gap_s: a pause at least this long (s) is a hold, not a turn-taking pause: the
            party after it is left to the acoustic and lexical evidence (even odds).
        frame_weight: weight of a chunk's summed frame log-likelihood ratios in its log-odds
            (neighbouring frames are far from independent; 0.04, down from 0.1, on
            pub-001…020: the acoustic models of two alike voices were over-trusted).
        chunk_weight: weight of the held-out chunk classifier's log-odds (0: off).
        chunk_cap: the chunk classifier's log-odds are clipped to ±this (a regression on a few
            dozen chunks is over-confident about some of them).
        chunk_rounds: at most this many rounds of chunk classification and re-decoding.
        restart_gap_shifts_s: the self-training also starts from the words-and-timing
            labelling with ``turn_gap_s`` shifted by each of these (s); the result with the
            best score (turn timing + the chunks' log-odds) is kept.
    """

    gmm_components: int = 4
    rounds: int = 4
    spectral_weight: float = 0.25
    pitch_weight: float = 0.5
    frame_weight: float = 0.04
    turn_gap_s: float = 0.7
    turn_gap_width_s: float = 0.12
    switch_floor: float = 0.05
    min_pause_s: float = 0.1
    min_chunk_s: float = 0.1
    pause_db: float = 10.0
    lexical_weight: float = 1.0
    chunk_weight: float = 1.0
    question_switch: float = 2.5
    sentence_switch: float = 0.5
    comma_stay: float = 0.3
    hold_gap_s: float = 2.5
    chunk_cap: float = 3.0
    chunk_rounds: int = 3
    restart_gap_shifts_s: tuple[float, ...] = (0.15,)
    min_turn_s: float = 0.25
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 200


@dataclass
class Separation:
    """The result of :func:`separate`.

    Attributes:
        groups: utterances as ``(party, words)`` in time order; ``party`` is 0 or 1.
        frame_party: party per 10 ms frame (-1 where no speech).
        n_parties: 2, or 1 when only one voice was found.
        separability: how distinct the two voices are, 0-1 (mean posterior margin of the
            frames; 1 = every frame clearly one party).
        overlaps: spans (s) where both parties talked at once, as ``{"start", "end"}``.
        party_pitch_hz: median pitch of each party (Hz; ``None`` when unvoiced).
        timing_s: seconds spent.
    """

    groups: list[tuple[int, list[Word]]]
    frame_party: np.ndarray
    n_parties: int
    separability: float
    overlaps: list[dict[str, float]] = field(default_factory=list)
    party_pitch_hz: list[float | None] = field(default_factory=list)
    party_speech_s: list[float] = field(default_factory=list)
    timing_s: float = 0.0

    def diagnostics(self) -> dict[str, Any]:
        return {"parties": self.n_parties, "separability": round(self.separability, 3),
                "party_pitch_hz": self.party_pitch_hz,
                "party_speech_s": [round(s, 1) for s in self.party_speech_s],
                "overlaps": self.overlaps, "time_s": round(self.timing_s, 3)}


def channels_identical(a: np.ndarray, b: np.ndarray, tolerance_db: float = -40.0) -> bool:
    """True when two channels carry the same signal (a mono call saved as stereo).

    The channels count as identical when their difference is at least ``-tolerance_db`` dB
    below their level (lossy coding leaves a small difference between copies), or when one
    is a scaled copy of the other (correlation above 0.999).
    """
    n = min(len(a), len(b))
    if n == 0:
        return True
    # sums in float64 over blocks: no float64 copy of whole channels (a 30-minute stereo
    # call would need 0.9 GB for them)
    sxx = syy = sxy = sdd = 0.0
    for i in range(0, n, _SUM_BLOCK):
        x = np.asarray(a[i:min(n, i + _SUM_BLOCK)], dtype=np.float64)
        y = np.asarray(b[i:min(n, i + _SUM_BLOCK)], dtype=np.float64)
        d = x - y
        sxx += float(np.dot(x, x))
        syy += float(np.dot(y, y))
        sxy += float(np.dot(x, y))
        sdd += float(np.dot(d, d))
    px, py = sxx / n, syy / n
    if px < 1e-12 and py < 1e-12:
        return True
    if px < 1e-12 or py < 1e-12:
        return False
    diff = sdd / n
    if 10 * np.log10(diff / max(px, py) + 1e-20) < tolerance_db:
        return True
    corr = float(sxy / np.sqrt(px * py) / n)
    return corr > 0.999


#: Samples summed at once by :func:`channels_identical`.
_SUM_BLOCK = 1 << 18


def party_level_dbfs(samples: np.ndarray, sample_rate: int, frame_party: np.ndarray,
                     party: int, start: float, end: float) -> float | None:
    """Active speech level (dBFS) of one party in the mixed channel over ``[start, end]`` s:
    measured on the 10 ms frames labelled as that party only (the other party's overlapping
    speech and the pauses are left out); falls back to the whole span when no frame of the
    span is labelled (e.g. a single voice). See :func:`transcribe.measure.active_level_dbfs`."""
    from transcribe.measure import active_level_dbfs  # noqa: PLC0415

    a, b = max(0, int(start / HOP_S)), min(len(frame_party), int(np.ceil(end / HOP_S)))
    sel = np.nonzero(frame_party[a:b] == party)[0] + a if b > a else np.zeros(0, int)
    if len(sel) < 5:
        return active_level_dbfs(samples, sample_rate, start, end)
    hop = int(round(HOP_S * sample_rate))
    idx = (sel[:, None] * hop + np.arange(hop)[None, :]).ravel()
    idx = idx[idx < len(samples)]
    return active_level_dbfs(np.asarray(samples)[idx], sample_rate)


def _to_rate(samples: np.ndarray, sample_rate: int, rate: int) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if sample_rate == rate:
        return x
    g = np.gcd(int(sample_rate), rate)
    return resample_poly(x, rate // g, int(sample_rate) // g).astype(np.float32)


def speech_mask(samples: np.ndarray, sample_rate: int, n_frames: int,
                options: DiarizeOptions | None = None) -> np.ndarray:
    """Speech per 10 ms frame from faster-whisper's Silero VAD (bool array of ``n_frames``)."""
    from faster_whisper.vad import VadOptions  # noqa: PLC0415

    from transcribe.vad import speech_timestamps  # noqa: PLC0415

    o = options or DiarizeOptions()
    x16 = _to_rate(samples, sample_rate, 16000)
    chunks = speech_timestamps(
        x16, VadOptions(threshold=o.vad_threshold, min_silence_duration_ms=o.vad_min_silence_ms,
                        speech_pad_ms=30, min_speech_duration_ms=100))
    mask = np.zeros(n_frames, bool)
    for c in chunks:
        a, b = int(c["start"] / 16000 / HOP_S), int(np.ceil(c["end"] / 16000 / HOP_S))
        mask[max(0, a):min(n_frames, b)] = True
    return mask


def _mel_filterbank() -> np.ndarray:
    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    pts = hz(np.linspace(mel(100), mel(3800), _N_MELS + 2))
    bins = np.floor((_NFFT + 1) * pts / RATE).astype(int)
    fb = np.zeros((_N_MELS, _NFFT // 2 + 1))
    for i in range(_N_MELS):
        a, c, b = bins[i], bins[i + 1], bins[i + 2]
        if c > a:
            fb[i, a:c] = (np.arange(a, c) - a) / (c - a)
        if b > c:
            fb[i, c:b] = (b - np.arange(c, b)) / (b - c)
    return fb


_FB = _mel_filterbank()


#: Frames analysed at once by :func:`frame_features` (memory stays bounded).
_BLOCK = 2048


def frame_features(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Per-frame features at 10 ms: ``(mfcc[n, 13], log_energy[n], f0_hz[n])``.

    ``mfcc[:, 0]`` is the log energy in the telephone band; ``f0_hz`` is ``nan`` where
    unvoiced. Frame ``i`` is centred at ``i * 0.01 + 0.0125`` s.

    The signal is kept at 8 kHz in float32 and analysed in blocks of :data:`_BLOCK` frames
    (and the pitch in blocks of its own), so memory beyond the 120 bytes a frame of the result
    stays a few tens of MB however long the recording is.
    """
    x = _to_rate(samples, sample_rate, RATE)  # float32
    if len(x) < _WIN + _HOP:
        return np.zeros((0, _N_MFCC)), np.zeros(0), np.zeros(0)
    n = 1 + (len(x) - _WIN) // _HOP
    mfcc, log_e = np.empty((n, _N_MFCC)), np.empty(n)
    window = np.hamming(_WIN)[None, :]
    offsets = np.arange(_WIN)[None, :]
    for i in range(0, n, _BLOCK):
        m = min(_BLOCK, n - i)
        a, b = i * _HOP, (i + m - 1) * _HOP + _WIN
        seg = np.asarray(x[max(0, a - 1):b], dtype=np.float64)
        if a == 0:
            y = np.append(seg[0], seg[1:] - 0.97 * seg[:-1])  # pre-emphasis
        else:
            y = seg[1:] - 0.97 * seg[:-1]
        frames = y[offsets + _HOP * np.arange(m)[:, None]] * window
        power = np.abs(np.fft.rfft(frames, _NFFT)) ** 2
        mel = np.log(power @ _FB.T + 1e-10)
        mfcc[i:i + m] = dct(mel, type=2, norm="ortho", axis=1)[:, :_N_MFCC]
        log_e[i:i + m] = np.log10(np.sum(frames ** 2, axis=1) / _WIN + 1e-12) * 10
    f0 = f0_track(x, RATE)
    # f0 frame i spans [i*80, i*80+320): centre 20 ms; shift by ~1 frame to the mfcc grid
    f0a = np.full(n, np.nan)
    m = min(n - 1, len(f0))
    if m > 0:
        f0a[1:1 + m] = f0[:m]
    return mfcc, log_e, f0a


class _PartyModel:
    """Spectral GMM + pitch Gaussian of one party."""

    def __init__(self, feats: np.ndarray, logf0: np.ndarray, components: int, seed: int = 0):
        from sklearn.mixture import GaussianMixture  # noqa: PLC0415

        k = max(1, min(components, len(feats) // 50))
        self.gmm = GaussianMixture(k, covariance_type="diag", reg_covar=1e-3, max_iter=50,
                                   random_state=seed).fit(feats)
        v = logf0[np.isfinite(logf0)]
        if len(v) >= 20:
            self.f0_mu, self.f0_sd = float(np.median(v)), float(max(np.std(v), 0.05))
        else:
            self.f0_mu, self.f0_sd = None, None

    def spectral(self, feats: np.ndarray) -> np.ndarray:
        return self.gmm.score_samples(feats)

    def pitch(self, logf0: np.ndarray) -> np.ndarray:
        out = np.zeros(len(logf0))
        if self.f0_mu is None:
            return out
        ok = np.isfinite(logf0)
        z = (logf0[ok] - self.f0_mu) / self.f0_sd
        out[ok] = -0.5 * z * z - np.log(self.f0_sd)
        return out



def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` frame ranges where ``mask`` is true."""
    if len(mask) == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def _chunks(active: np.ndarray, min_pause: int, min_len: int) -> list[tuple[int, int]]:
    """Speech chunks: runs of active frames, pauses shorter than ``min_pause`` frames bridged,
    runs shorter than ``min_len`` frames dropped."""
    act = active.copy()
    for a, b in _runs(~act):
        if a > 0 and b < len(act) and b - a < min_pause:
            act[a:b] = True
    return [(a, b) for a, b in _runs(act) if b - a >= min_len]


def _end_cue(text: str, o: "DiarizeOptions") -> float:
    """Log-odds shift of a party change after a chunk whose last word is ``text``: a question
    is usually answered by the other party; a finished sentence ends a turn more often than
    a comma does."""
    t = text.strip()
    if t.endswith(("?", "？")):
        return o.question_switch
    if t.endswith(("。", ".", "!", "！")):
        return o.sentence_switch
    if t.endswith((",", "，", "、")):
        return -o.comma_stay
    return 0.0


def _switch_logprob(gap_s: np.ndarray, o: "DiarizeOptions",
                    cue: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """log P(switch) and log P(stay) of the party between two chunks, from the pause (s):
    turn changes come with longer pauses than a speaker's own pauses between phrases; ``cue``
    (log-odds per chunk, from how the previous chunk ended, see :func:`_end_cue`) shifts it."""
    z = (np.asarray(gap_s) - o.turn_gap_s) / o.turn_gap_width_s
    if cue is not None:
        z = z + cue
    p = o.switch_floor + (1 - 2 * o.switch_floor) / (1 + np.exp(-z))
    # a long silence (a hold, the agent looking something up) says nothing about who speaks
    # next: the one who asked the caller to wait usually comes back
    p = np.where(np.asarray(gap_s) >= o.hold_gap_s, 0.5, p)
    return np.log(p), np.log(1 - p)


def _decode_chunks(emit: np.ndarray, log_sw: np.ndarray, log_st: np.ndarray) -> np.ndarray:
    """Viterbi over chunks: ``emit[c]`` is log p(chunk | party 0) - log p(chunk | party 1);
    ``log_sw[c]``/``log_st[c]`` the transition into chunk ``c`` (index 0 unused)."""
    n = len(emit)
    score = np.array([emit[0] / 2, -emit[0] / 2])
    back = np.zeros((n, 2), int)
    for c in range(1, n):
        new = np.empty(2)
        for p in (0, 1):
            stay, sw = score[p] + log_st[c], score[1 - p] + log_sw[c]
            back[c, p] = p if stay >= sw else 1 - p
            new[p] = max(stay, sw) + (emit[c] / 2 if p == 0 else -emit[c] / 2)
        score = new
    path = np.zeros(n, int)
    path[-1] = int(np.argmax(score))
    for c in range(n - 1, 0, -1):
        path[c - 1] = back[c, path[c]]
    return path


def separate(samples: np.ndarray, sample_rate: int, words: list[Word],
             options: DiarizeOptions | None = None, max_word_gap_s: float = 1.2,
             speech: np.ndarray | None = None,
             lexical: Callable[[str], float] | None = None) -> Separation:
    """Split a mono two-party recording's words into the two parties' utterances.

    Args:
        samples: the mixed channel, float in [-1, 1].
        sample_rate: Hz.
        words: the recogniser's words (time-ordered, seconds).
        options: :class:`DiarizeOptions`.
        max_word_gap_s: a pause longer than this (s) inside one party's speech starts a new
            utterance.
        speech: optional speech mask per 10 ms frame (default: Silero VAD).
        lexical: optional scorer of a chunk's text: log-odds that party 0 said it (e.g.
            :func:`transcribe.roles.lexical_log_odds`, which makes party 0 the agent-like one).

    Returns:
        A :class:`Separation`. With no speech, or a single voice, every utterance is party 0
        and ``n_parties`` is 1.
    """
    import time  # noqa: PLC0415

    t0 = time.perf_counter()
    o = options or DiarizeOptions()
    mfcc, log_e, f0 = frame_features(samples, sample_rate)
    n = len(mfcc)
    if speech is None:
        speech = speech_mask(samples, sample_rate, n, o)
    speech = speech[:n].copy() if len(speech) >= n else np.pad(speech, (0, n - len(speech)))
    frame_party = np.full(n, -1, int)

    def one_party() -> Separation:
        return Separation(_group(words, np.zeros(len(words), int), max_word_gap_s),
                          np.where(speech, 0, -1), 1, 0.0, timing_s=time.perf_counter() - t0)

    if speech.sum() < 100 or not words:
        return one_party()
    # active frames: speech by VAD and above the line's noise (pauses between phrases)
    top = np.percentile(log_e[speech], 95)
    floor = np.percentile(log_e, 10)
    active = speech & (log_e > max(floor + o.pause_db, top - 40))
    # a quiet party (a soft voice, a weak line) may fall below that gate: a recognised word
    # that the gate left (almost) silent is speech all the same where the VAD heard speech
    gated = active.copy()
    for w in words:
        a, b = max(0, int(w.start / HOP_S)), min(n, int(np.ceil(w.end / HOP_S)))
        if b > a and gated[a:b].mean() < 0.2:
            active[a:b] |= speech[a:b]
    chunks = _chunks(active, int(o.min_pause_s / HOP_S), int(o.min_chunk_s / HOP_S))
    if len(chunks) < 2:
        return one_party()
    logf0 = np.log(f0)
    feats = np.column_stack([mfcc[:, 1:], log_e / 10.0])
    sp = np.concatenate([np.arange(a, b) for a, b in chunks])
    mu, sd = feats[sp].mean(0), feats[sp].std(0) + 1e-6
    feats = (feats - mu) / sd
    starts = np.array([a for a, _ in chunks])
    ends = np.array([b for _, b in chunks])
    gaps = np.concatenate([[10.0], (starts[1:] - ends[:-1]) * HOP_S])
    chunk_of = np.full(n, -1)
    for i, (a, b) in enumerate(chunks):
        chunk_of[a:b] = i

    # words → the chunk they overlap most (or the nearest one)
    word_chunk = np.zeros(len(words), int)
    for i, w in enumerate(words):
        a, b = int(w.start / HOP_S), max(int(w.start / HOP_S) + 1, int(np.ceil(w.end / HOP_S)))
        cs = chunk_of[a:min(b, n)]
        cs = cs[cs >= 0]
        if len(cs):
            word_chunk[i] = int(np.bincount(cs).argmax())
        else:
            m = (w.start + w.end) / 2 / HOP_S
            word_chunk[i] = int(np.argmin(np.minimum(np.abs(starts - m), np.abs(ends - m))))
    # how each chunk's words end (a question, a sentence, a comma) shifts the turn prior into
    # the next chunk
    cue = np.zeros(len(chunks))
    last_text: dict[int, str] = {}
    for i, w in enumerate(words):
        last_text[int(word_chunk[i])] = w.text
    for c in range(1, len(chunks)):
        if c - 1 in last_text:
            cue[c] = _end_cue(last_text[c - 1], o)
    log_sw, log_st = _switch_logprob(gaps, o, cue)
    lex = np.zeros(len(chunks))
    if lexical is not None:
        for c in range(len(chunks)):
            lex[c] = o.lexical_weight * lexical("".join(
                words[i].text for i in np.nonzero(word_chunk == c)[0]).strip())

    cx = None
    if o.chunk_weight > 0 and len(chunks) >= 10:
        cx = np.column_stack([_chunk_embeddings(feats, logf0, chunks),
                              _chunk_tempo(words, word_chunk, chunks)])

    def refine(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Acoustic party models trained on ``path``'s labels, re-decoded until stable, then
        the held-out chunk classifier; returns the labels and the chunks' log-odds."""
        emit = lex.copy()
        for r in range(o.rounds):
            lab = path[chunk_of[sp]]
            models = []
            for p in (0, 1):
                sel = sp[lab == p]
                if len(sel) < 50:
                    break
                models.append(_PartyModel(feats[sel], logf0[sel], o.gmm_components, seed=r))
            if len(models) < 2:
                break
            spec = models[0].spectral(feats[sp]) - models[1].spectral(feats[sp])
            pitch = models[0].pitch(logf0[sp]) - models[1].pitch(logf0[sp])
            llr = np.zeros(n)
            llr[sp] = np.clip(o.spectral_weight * spec + o.pitch_weight * pitch, -20, 20)
            emit = lex + np.array([o.frame_weight * llr[a:b].sum() for a, b in chunks])
            new = _decode_chunks(emit, log_sw, log_st)
            if np.array_equal(new, path):
                break
            path = new
        if cx is not None:
            # a second look at whole chunks: a linear classifier of chunk statistics (spectral
            # means/spreads/dynamics, pitch range, speaking rate), trained on the current
            # labels and applied to held-out folds, so that it generalises what tells the
            # parties apart in this call instead of echoing the labels it was given
            acoustic = emit - lex
            for _ in range(o.chunk_rounds):
                z = _held_out_log_odds(cx, path, ends - starts)
                if z is None:
                    break
                emit = lex + acoustic + o.chunk_weight * np.clip(z, -o.chunk_cap, o.chunk_cap)
                new = _decode_chunks(emit, log_sw, log_st)
                if np.array_equal(new, path):
                    break
                path = new
        return path, emit

    def objective(path: np.ndarray, emit: np.ndarray) -> float:
        """Log-score of labels under the turn timing and the chunks' log-odds."""
        sw = path[1:] != path[:-1]
        return float(np.sum(np.where(path == 0, emit, -emit)) / 2
                     + np.sum(np.where(sw, log_sw[1:], log_st[1:])))

    # the turn-taking prior and the words alone give a first labelling; acoustic models trained
    # on it refine it. Self-training can lock in an early mistake (one missed turn change
    # flips the rest of the call), so it also starts from labellings with fewer turn changes,
    # and the result with the best score (turn timing + its chunks' log-odds) is kept.
    best = None
    for shift in (0.0, *o.restart_gap_shifts_s):
        prior = _switch_logprob(gaps, replace(o, turn_gap_s=o.turn_gap_s + shift), cue)
        path, emit = refine(_decode_chunks(lex, *prior))
        score = objective(path, emit)
        if best is None or score > best[0] + 1e-9:
            best = (score, path, emit)
    _, path, emit = best
    for i, (a, b) in enumerate(chunks):
        frame_party[a:b] = path[i]
    share = [float(np.mean(path[chunk_of[sp]] == p)) for p in (0, 1)]
    if min(share) < 0.03:
        return one_party()
    margin = np.abs(np.tanh(emit / 2))
    weights = ends - starts
    separability = float(np.sum(margin * weights) / np.sum(weights))

    word_party = path[word_chunk]
    groups = _group(words, word_party, max_word_gap_s)
    overlaps = _overlaps(groups, frame_party, o)
    pitches, speech_s = [], []
    for p in (0, 1):
        fr = sp[path[chunk_of[sp]] == p]
        v = f0[fr]
        v = v[np.isfinite(v)]
        pitches.append(round(float(np.median(v)), 1) if len(v) else None)
        speech_s.append(len(fr) * HOP_S)
    return Separation(groups, frame_party, 2, separability, overlaps, pitches, speech_s,
                      timing_s=time.perf_counter() - t0)


def _chunk_embeddings(feats: np.ndarray, logf0: np.ndarray,
                      chunks: list[tuple[int, int]]) -> np.ndarray:
    """Per chunk: mean, spread and mean absolute frame-to-frame change of the (normalised)
    spectral features, and the pitch's spread around the call's median (mean square,
    standard deviation and 10-90 % range of log f0, and its mean)."""
    sp = np.concatenate([np.arange(a, b) for a, b in chunks])
    v = logf0[sp]
    med = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
    d = np.vstack([np.zeros((1, feats.shape[1])), np.abs(np.diff(feats, axis=0))])
    rows = []
    for a, b in chunks:
        f = feats[a:b]
        p = logf0[a:b]
        p = p[np.isfinite(p)] - med
        pitch = ([float(np.mean(p * p)), float(np.std(p)),
                  float(np.percentile(p, 90) - np.percentile(p, 10)), float(np.mean(p))]
                 if len(p) >= 5 else [np.nan] * 4)
        rows.append(np.concatenate([f.mean(0), f.std(0), d[a + 1:b].mean(0) if b - a > 1
                                    else np.zeros(f.shape[1]), pitch]))
    return _fill_missing(np.array(rows))  # chunks without pitch get the typical value


def _fill_missing(x: np.ndarray) -> np.ndarray:
    """``x`` (chunks × features) with each missing value set to its column's median (0 when
    the whole column is missing)."""
    for col in x.T:
        bad = ~np.isfinite(col)
        col[bad] = np.median(col[~bad]) if (~bad).any() else 0.0
    return x


_PUNCT = " ,.?!，。？！、；;：:"


def _chunk_tempo(words: list[Word], word_chunk: np.ndarray,
                 chunks: list[tuple[int, int]]) -> np.ndarray:
    """Per chunk, how fast its speaker talks: seconds per character of the recognised words
    and characters per second of the chunk (a party's speaking rate is steadier than its
    voice is distinct when the two voices are alike); the typical value where a chunk has
    no words."""
    spc = np.full(len(chunks), np.nan)
    cps = np.full(len(chunks), np.nan)
    for c, (a, b) in enumerate(chunks):
        ws = [words[i] for i in np.nonzero(word_chunk == c)[0]]
        chars = sum(len(w.text.strip(_PUNCT)) for w in ws)
        if chars:
            spc[c] = sum(w.end - w.start for w in ws) / chars
            cps[c] = chars / max(HOP_S, (b - a) * HOP_S)
    return _fill_missing(np.column_stack([spc, cps]))


def _held_out_log_odds(x: np.ndarray, path: np.ndarray, weight: np.ndarray,
                       folds: int = 5) -> np.ndarray | None:
    """Log-odds that each chunk is party 0 from a logistic regression on the other chunks'
    current labels (``folds``-fold, chunks interleaved), or ``None`` when a party has too few
    chunks to learn from."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    if min(np.sum(path == 0), np.sum(path == 1)) < 2 * folds:
        return None
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    y = (path == 0).astype(int)
    out = np.zeros(len(x))
    fold = np.arange(len(x)) % folds
    for k in range(folds):
        tr = fold != k
        if len(np.unique(y[tr])) < 2:
            return None
        clf = LogisticRegression(C=0.3, max_iter=300)
        clf.fit(z[tr], y[tr], sample_weight=weight[tr] / weight[tr].mean())
        out[~tr] = clf.decision_function(z[~tr])
    return out





def _group(words: list[Word], party: np.ndarray, max_gap_s: float) -> list[tuple[int, list[Word]]]:
    groups: list[tuple[int, list[Word]]] = []
    for i, w in enumerate(words):
        p = int(party[i]) if len(party) == len(words) else 0
        if groups and groups[-1][0] == p and w.start - groups[-1][1][-1].end <= max_gap_s:
            groups[-1][1].append(w)
        else:
            groups.append((p, [w]))
    return groups


def _overlaps(groups: list[tuple[int, list[Word]]], frame_party: np.ndarray,
              o: DiarizeOptions) -> list[dict[str, float]]:
    """Spans where a party's voice is heard before its turn's first word while the previous
    party's last word is still going (overlapped onset)."""
    spans = []
    for (pa, wa), (pb, wb) in zip(groups, groups[1:]):
        if pa == pb:
            continue
        end_a = wa[-1].end
        start_b = wb[0].start
        if start_b - end_a > 0.2:
            continue
        # look back from B's first word for a run of B frames inside A's last word(s)
        i = int(start_b / HOP_S) - 1
        lo = max(0, int(wa[0].start / HOP_S))
        run = 0
        while i > lo and frame_party[i] in (pb, -1):
            run += frame_party[i] == pb
            i -= 1
        if run * HOP_S >= o.min_turn_s and (start_b - (i + 1) * HOP_S) >= o.min_turn_s:
            spans.append({"start": round((i + 1) * HOP_S, 2), "end": round(end_a, 2)})
    return spans
