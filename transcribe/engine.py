"""Recording → :class:`~transcribe.records.Transcript` with faster-whisper.

Stereo recordings are split (the agent's channel is configurable, default left) and each
channel is recognised on its own with VAD on, word timestamps, no conditioning on previous
text; utterances are cut from word times (segment times under VAD are unreliable) and the two
parties' utterances are merged in time order. Mono recordings (and stereo files whose two
channels are identical) are recognised as one mix and separated into agent and customer by
:func:`label_mono` (:mod:`transcribe.diarize` + :mod:`transcribe.roles`); an uncertain
separation or role assignment is flagged in ``diagnostics`` for review.

Output text is simplified (OpenCC on whole texts), known Whisper inventions, runaway
repetitions and confident no-speech segments are dropped and listed in ``diagnostics``, and
known domain terms are corrected by sound. Each utterance carries ``level_dbfs``, a
``confidence`` (mean word probability) and, in ``extra``, ``pitch_hz``/``pitch_std_st``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from transcribe.audio import AudioError, DecodedAudio, decode
from transcribe.diarize import (DiarizeOptions, Separation, channels_identical, party_level_dbfs,
                                separate)
from transcribe.measure import active_level_dbfs, pitch_stats
from transcribe.model import ensure_model
from transcribe.normalize import (Vocabulary, chinese_punctuation, known_hallucination,
                                  runaway_repetition, to_simplified)
from transcribe.records import Transcript, Utterance, Word
from transcribe.roles import RoleAssignment, assign_roles, lexical_log_odds
from transcribe.soundalike import SoundAlikeCorrector
from transcribe.vad import speech_timestamps

logger = logging.getLogger("hotline_qa.transcribe.engine")

#: faster-whisper's (and :func:`transcribe.audio.decode`'s default) sample rate, Hz.
_SR = 16000

__all__ = ["AudioError", "DecodeOptions", "MonoLabels", "Transcriber", "fit_words_to_speech",
           "label_mono", "split_utterances"]

IDENTICAL_WARNING = ("双声道录音的两个声道内容相同，按单声道处理（自动区分坐席与客户） / the two "
                     "channels are identical: treated as a mono recording")
SEPARATION_REVIEW_WARNING = ("单声道录音的说话人区分把握不足，需人工复核坐席/客户标注 / mono "
                             "recording: speaker separation is uncertain, review the speakers")
#: Below this role confidence (0.5-1) a mono call's speaker labels are routed to review.
MIN_ROLE_CONFIDENCE = 0.9
#: Below this separability (0-1) a mono call's speaker labels are routed to review.
MIN_SEPARABILITY = 0.3


@dataclass
class DecodeOptions:
    """Recognition settings (faster-whisper ``transcribe`` keywords and our own).

    Attributes:
        beam_size: beam width.
        no_speech_threshold, logprob_threshold: a segment is dropped as no speech when its
            no-speech probability is above the first and its mean log-probability below the
            second (Whisper's own rule, applied afterwards so the drop is recorded).
        max_word_gap_s: a pause longer than this (s) within one channel always starts a new
            utterance.
        turn_gap_s: a shorter pause (s) starts a new utterance when the other party spoke in it.
        sentence_gap_s: a lone last word after a sentence end (。？！) and a pause longer
            than this (s) is split off as its own utterance (None: never).
        temperatures: decoding temperatures, tried in turn while a segment fails the
            compression-ratio / log-probability checks (Whisper's temperature fallback).
        vad_min_silence_ms: VAD minimum silence between speech chunks (ms).
        vad_speech_pad_ms: padding the VAD adds on each side of a speech chunk (ms); the
            recogniser hears the padded chunks.
        speech_trim_s: word times are clamped to the VAD chunks minus this much (s) at each
            end (i.e. to the speech with about ``vad_speech_pad_ms/1000 - speech_trim_s`` of
            padding); a word wholly outside is dropped (Whisper stamps stray words, e.g. the
            first word of the next turn, into the trailing padding before a hold or a turn).
        speech_extend_s: the first/last word of each VAD chunk is stretched to the chunk's
            start/end moved inwards by this much (s) (None: no stretching): Whisper's word
            times tend to start late and end early at the edges of speech.
    """

    beam_size: int = 3
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    max_word_gap_s: float = 1.2
    turn_gap_s: float = 0.3
    vad_min_silence_ms: int = 500
    vad_speech_pad_ms: int = 400
    sentence_gap_s: float | None = 0.6
    speech_trim_s: float = 0.1
    speech_extend_s: float | None = 0.2
    compression_ratio_threshold: float = 2.4
    # Whisper's temperature fallback changed nothing on pub-001…010 (same CER without it) but
    # re-decodes hard segments several times over: off (greedy/beam at temperature 0 only).
    temperatures: tuple[float, ...] = (0.0,)


@lru_cache(maxsize=2)
def _load_model(path: str, compute_type: str, cpu_threads: int, device: str = "cpu"):
    from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy

    from transcribe.features import BoundedFeatureExtractor  # noqa: PLC0415

    logger.info("loading ASR model %s (%s on %s, %d threads)", path, compute_type, device,
                cpu_threads)
    model = WhisperModel(path, device=device, compute_type=compute_type,
                         cpu_threads=cpu_threads)
    # the same features, computed in blocks (faster-whisper's take ~40 times the audio)
    model.feature_extractor = BoundedFeatureExtractor(**model.feat_kwargs)
    return model


@dataclass
class _Recognised:
    words: list[Word]
    dropped: list[dict[str, Any]]
    speech_s: float
    asr_s: float
    #: the VAD speech chunks the recogniser heard, ``[(start_s, end_s), ...]``.
    regions: list[tuple[float, float]] = field(default_factory=list)


def fit_words_to_speech(words: list[Word], regions: list[tuple[float, float]],
                        trim_s: float = 0.1, extend_s: float | None = None
                        ) -> tuple[list[Word], list[Word]]:
    """Clamp word times to the speech the VAD found; drop words stamped outside it.

    Each word belongs to the chunk holding its midpoint (or the nearest one); the chunk is
    narrowed by ``trim_s`` (s) at each end (never below its middle), the word's times are
    clamped to it, and a word that does not overlap it at all is dropped. Optionally the words
    at the edges of a chunk are stretched towards its edges (``extend_s``).

    Args:
        words: one channel's words, time-ordered (s).
        regions: VAD speech chunks ``[(start_s, end_s), ...]``, time-ordered; empty = no change.
        trim_s: how much of each chunk's padding is not speech (s).
        extend_s: when given, the first word of each chunk starts no later than the chunk's
            start + ``extend_s`` and its last word ends no earlier than its end - ``extend_s``.

    Returns:
        ``(kept, dropped)`` — new :class:`Word` objects for the kept words.
    """
    if not regions:
        return list(words), []
    starts = np.array([r[0] for r in regions])
    kept: list[Word] = []
    dropped: list[Word] = []
    chunk_of: list[int] = []
    for w in words:
        mid = (w.start + w.end) / 2
        i = int(np.searchsorted(starts, mid, side="right")) - 1
        cands = [j for j in (i, i + 1) if 0 <= j < len(regions)]
        j = min(cands, key=lambda k: max(regions[k][0] - mid, mid - regions[k][1], 0.0))
        r0, r1 = regions[j]
        c = (r0 + r1) / 2
        lo, hi = min(r0 + trim_s, c), max(r1 - trim_s, c)
        if w.end <= lo or w.start >= hi:
            dropped.append(w)
            continue
        s, e = max(w.start, lo), min(w.end, hi)
        kept.append(Word(start=round(s, 2), end=round(max(e, s), 2), text=w.text,
                         probability=w.probability))
        chunk_of.append(j)
    if extend_s is not None:
        for k, (w, j) in enumerate(zip(kept, chunk_of)):
            r0, r1 = regions[j]
            if k == 0 or chunk_of[k - 1] != j:
                w.start = round(min(w.start, max(r0 + extend_s, 0.0)), 2)
            if k == len(kept) - 1 or chunk_of[k + 1] != j:
                w.end = round(max(w.end, min(r1 - extend_s, r1)), 2)
    return kept, dropped


_SENTENCE_END = ("。", "？", "！", ".", "?", "!")


def split_utterances(words: list[Word], other: list[Word] | None = None,
                     max_gap_s: float = 1.2, turn_gap_s: float = 0.3,
                     sentence_gap_s: float | None = None) -> list[list[Word]]:
    """Group one speaker's time-ordered words into utterances.

    A pause longer than ``max_gap_s`` starts a new utterance; so does a pause longer than
    ``turn_gap_s`` during which the other party (``other``, their words) was speaking. A lone
    last word after a finished sentence (。？！) and a pause longer than ``sentence_gap_s``
    (None = never) becomes its own utterance: it is mostly the first word of a later turn
    that Whisper stamped before a hold or silence.
    """
    groups: list[list[Word]] = []
    other_mid = np.array(sorted((w.start + w.end) / 2 for w in other or []))
    for w in words:
        if groups:
            prev = groups[-1][-1]
            gap = w.start - prev.end
            spoke = False
            if gap > turn_gap_s and len(other_mid):
                lo, hi = np.searchsorted(other_mid, [prev.end, w.start])
                spoke = hi > lo
            if gap <= max_gap_s and not spoke:
                groups[-1].append(w)
                continue
        groups.append([w])
    if sentence_gap_s is not None:
        out: list[list[Word]] = []
        for g in groups:
            if len(g) >= 2 and g[-1].start - g[-2].end > sentence_gap_s and \
                    g[-2].text.strip().endswith(_SENTENCE_END):
                out += [g[:-1], g[-1:]]
            else:
                out.append(g)
        groups = out
    return groups


def _words_text(words: list[Word]) -> str:
    return "".join(w.text for w in words)


@dataclass
class MonoLabels:
    """Speaker-labelled utterances of a mono recording (:func:`label_mono`).

    Attributes:
        groups: ``[(speaker, words), ...]`` with speaker ``agent`` / ``customer``.
        separation: the two-party separation (party indices, frames, separability).
        roles: which party is the agent, with its confidence.
        review_reasons: why the labels should be checked by a person (empty when sure).
    """

    groups: list[tuple[str, list[Word]]]
    separation: Separation
    roles: RoleAssignment
    review_reasons: list[str]

    def party(self, speaker: str) -> int:
        return self.roles.agent if speaker == "agent" else 1 - self.roles.agent

    def diagnostics(self) -> dict[str, Any]:
        d = self.separation.diagnostics()
        d["agent_party"] = self.roles.agent
        d["role_confidence"] = self.roles.confidence
        d["role_evidence"] = self.roles.evidence
        d["needs_review"] = bool(self.review_reasons)
        d["review_reasons"] = list(self.review_reasons)
        return d


def label_mono(samples: np.ndarray, sample_rate: int, words: list[Word],
               options: DecodeOptions | None = None,
               diarize_options: DiarizeOptions | None = None,
               answer_s: float = 0.0) -> MonoLabels:
    """Separate a mono recording's words into agent and customer utterances.

    Args:
        samples: the mixed channel, float in [-1, 1].
        sample_rate: Hz.
        words: the recogniser's words of the mix, time-ordered.
        options: recognition settings (``max_word_gap_s`` splits a party's utterances).
        diarize_options: :class:`~transcribe.diarize.DiarizeOptions`.
        answer_s: when the call was answered (s; speech before it is not the agent's greeting).

    Returns:
        :class:`MonoLabels`; ``review_reasons`` lists low role confidence, poor separability,
        or a single voice.
    """
    o = options or DecodeOptions()
    def lexical(text: str) -> float:  # the recogniser may write traditional characters
        return lexical_log_odds(to_simplified(text))

    sep = separate(samples, sample_rate, words, diarize_options, max_word_gap_s=o.max_word_gap_s,
                   lexical=lexical)
    turns = [(p, to_simplified("".join(w.text for w in g).strip()), g[0].start)
             for p, g in sep.groups]
    roles = assign_roles(turns, answer_s=answer_s)
    reasons = []
    if sep.n_parties < 2 and words:
        reasons.append("single_voice")
    elif words and sep.separability < MIN_SEPARABILITY:
        reasons.append("low_separability")
    if words and roles.confidence < MIN_ROLE_CONFIDENCE:
        reasons.append("low_role_confidence")
    names = {roles.agent: "agent", 1 - roles.agent: "customer"}
    return MonoLabels([(names[p], g) for p, g in sep.groups], sep, roles, reasons)


class Transcriber:
    """Turns recordings into transcripts. Loads the model once; reuse one per process.

    Args:
        model: a CTranslate2 Whisper model directory (default: ``Settings().model`` or the
            embedded model, assembled on first use).
        settings: a :class:`transcribe.settings.TranscribeSettings` (or the product's
            :class:`qa.settings.Settings`, which extends it; default: from the environment).
        vocabulary: domain vocabulary (default: ``Settings().vocabulary`` or the shipped one,
            with the estates of the ``estates`` setting).
        options: recognition settings (default: :class:`DecodeOptions` with the settings'
            beam size).

    Raises:
        transcribe.model.ModelError: the model is missing or corrupt.
    """

    def __init__(self, model: Path | str | None = None, settings=None,
                 vocabulary: Vocabulary | None = None, options: DecodeOptions | None = None):
        if settings is None:
            from transcribe.settings import get_transcribe_settings

            settings = get_transcribe_settings()
        self.settings = settings
        self.model_path = ensure_model(model if model is not None else settings.model)
        self.options = options or DecodeOptions(beam_size=settings.beam_size)
        if vocabulary is None:
            vocabulary = Vocabulary.load(settings.vocabulary).with_names(
                settings.estate_names())
        self.vocabulary = vocabulary
        self._correct = SoundAlikeCorrector(vocabulary) if vocabulary.use_correction else None
        self.device, self.compute_type = settings.resolved_device()
        self.model = _load_model(str(self.model_path), self.compute_type,
                                 settings.cpu_threads, self.device)

    # -- one channel ------------------------------------------------------------------------
    def _recognise(self, samples: np.ndarray) -> _Recognised:
        from faster_whisper.transcribe import restore_speech_timestamps  # noqa: PLC0415
        from faster_whisper.vad import VadOptions  # noqa: PLC0415

        o = self.options
        t0 = time.perf_counter()
        # VAD as faster-whisper's vad_filter does it (the same chunks, in bounded memory:
        # transcribe.vad), but done here so that the speech chunks are known afterwards
        # (word times are fitted to them).
        chunks = speech_timestamps(samples, VadOptions(
            min_silence_duration_ms=o.vad_min_silence_ms, speech_pad_ms=o.vad_speech_pad_ms))
        regions = [(c["start"] / _SR, c["end"] / _SR) for c in chunks]
        if not chunks:
            return _Recognised(words=[], dropped=[], speech_s=0.0,
                               asr_s=time.perf_counter() - t0, regions=[])
        # what faster-whisper's collect_chunks gives, in one copy (it concatenates chunk by
        # chunk: quadratic time, twice the memory)
        heard = np.concatenate([samples[c["start"]:c["end"]] for c in chunks]).astype(
            np.float32, copy=False)
        segments, _info = self.model.transcribe(
            heard, language="zh", task="transcribe", beam_size=o.beam_size,
            temperature=list(o.temperatures), vad_filter=False,
            word_timestamps=True, condition_on_previous_text=False,
            compression_ratio_threshold=o.compression_ratio_threshold,
            log_prob_threshold=o.logprob_threshold,
            no_speech_threshold=None,  # applied below, so that drops are listed
            hotwords=self.vocabulary.hotword_text(),
        )
        words: list[Word] = []
        dropped: list[dict[str, Any]] = []
        for seg in restore_speech_timestamps(segments, chunks, _SR):
            text = to_simplified(seg.text.strip())
            reason = None
            if known_hallucination(text):
                reason = "known_hallucination"
            elif runaway_repetition(text) or seg.compression_ratio > o.compression_ratio_threshold:
                reason = "repetition"
            elif seg.no_speech_prob > o.no_speech_threshold and seg.avg_logprob < o.logprob_threshold:
                reason = "no_speech"
            elif not seg.words:
                reason = "no_words"
            if reason:
                dropped.append({"start": round(seg.start, 2), "end": round(seg.end, 2),
                                "text": text, "reason": reason,
                                "no_speech_prob": round(seg.no_speech_prob, 3),
                                "avg_logprob": round(seg.avg_logprob, 3)})
                continue
            for w in seg.words:
                if w.word.strip() == "" or w.end <= w.start and not w.word.strip():
                    continue
                words.append(Word(start=round(w.start, 2), end=round(max(w.end, w.start), 2),
                                  text=w.word, probability=round(w.probability, 3)))
        words, stray = fit_words_to_speech(words, regions, o.speech_trim_s,
                                           o.speech_extend_s)
        if stray:
            dropped += [{"start": w.start, "end": w.end, "text": to_simplified(w.text.strip()),
                         "reason": "outside_speech"} for w in stray]
        return _Recognised(words=words, dropped=dropped, speech_s=len(heard) / _SR,
                           asr_s=time.perf_counter() - t0, regions=regions)

    # -- text of one utterance ---------------------------------------------------------------
    def _finish_words(self, words: list[Word]) -> tuple[str, list[Word]]:
        raw = [w.text.strip() for w in words]
        joined = "".join(raw)
        conv = to_simplified(joined)
        if len(conv) == len(joined):
            parts, i = [], 0
            for r in raw:
                parts.append(conv[i:i + len(r)])
                i += len(r)
        else:
            parts = [to_simplified(r) for r in raw]
        if self._correct is not None:
            fixed = self._correct("".join(parts))
            if len(fixed) == sum(map(len, parts)):
                out, i = [], 0
                for p in parts:
                    out.append(fixed[i:i + len(p)])
                    i += len(p)
                parts = out
        new_words = [Word(start=w.start, end=w.end, text=p, probability=w.probability)
                     for w, p in zip(words, parts)]
        return chinese_punctuation("".join(parts)), new_words

    def _utterance(self, speaker: str, words: list[Word], channel: np.ndarray,
                   sr: int, level_dbfs: float | None | bool = False) -> Utterance | None:
        text, words = self._finish_words(words)
        if not text.strip("，。？！、；： "):
            return None
        start, end = words[0].start, max(w.end for w in words)
        probs = [w.probability for w in words if w.probability is not None]
        u = Utterance(speaker=speaker, start=start, end=end, text=text, words=words,
                      confidence=round(float(np.mean(probs)), 3) if probs else None,
                      level_dbfs=(active_level_dbfs(channel, sr, start, end)
                                  if level_dbfs is False else level_dbfs))
        f0, f0_std = pitch_stats(channel, sr, start, end)
        if f0 is not None:
            u.extra["pitch_hz"] = f0
            u.extra["pitch_std_st"] = f0_std
        return u

    # -- whole call --------------------------------------------------------------------------
    def transcribe(self, path: Path | str, metadata: dict | None = None,
                   call_id: str | None = None, agent_channel: str | None = None) -> Transcript:
        """Transcribe one recording.

        Args:
            path: audio file (any format :func:`transcribe.audio.decode` reads).
            metadata: call metadata for the transcript (RULES.md keys; kept as given).
            call_id: the call's id (default: none).
            agent_channel: ``left`` or ``right`` (default: the ``agent_channel`` setting).

        Raises:
            AudioError: the recording cannot be decoded (reason code in ``.reason``).
        """
        t0 = time.perf_counter()
        audio = decode(path, max_duration_s=self.settings.max_duration_s)
        decode_s = time.perf_counter() - t0
        tr = self.transcribe_audio(audio, metadata=metadata, call_id=call_id,
                                   agent_channel=agent_channel)
        tr.diagnostics["timing"]["decode_s"] = round(decode_s, 3)
        tr.diagnostics["timing"]["total_s"] = round(time.perf_counter() - t0, 3)
        tr.diagnostics["source"] = {"file": Path(path).name, "codec": audio.codec,
                                    "container": audio.container,
                                    "sample_rate": audio.source_rate,
                                    "bit_rate": audio.bit_rate}
        return tr

    def transcribe_audio(self, audio: DecodedAudio, metadata: dict | None = None,
                         call_id: str | None = None,
                         agent_channel: str | None = None) -> Transcript:
        """Transcribe already decoded audio (see :meth:`transcribe`)."""
        agent_channel = agent_channel or self.settings.agent_channel
        if agent_channel not in ("left", "right"):
            raise ValueError(f"agent_channel must be 'left' or 'right', got {agent_channel!r}")
        sr = audio.sample_rate
        warnings = list(audio.warnings)
        dropped: list[dict[str, Any]] = []
        timing: dict[str, Any] = {}
        utterances: list[Utterance] = []
        speech_s = 0.0
        identical = audio.n_channels == 2 and channels_identical(*audio.channels)
        mono_labels: MonoLabels | None = None
        if identical:
            warnings.append(IDENTICAL_WARNING)
        if audio.n_channels == 2 and not identical:
            ai = 0 if agent_channel == "left" else 1
            chans = {"agent": audio.channels[ai], "customer": audio.channels[1 - ai]}
            rec = {}
            for who, ch in chans.items():
                rec[who] = self._recognise(ch)
                timing[f"asr_{who}_s"] = round(rec[who].asr_s, 3)
                speech_s += rec[who].speech_s
                dropped += [{**d, "speaker": who} for d in rec[who].dropped]
            for who, other in (("agent", "customer"), ("customer", "agent")):
                groups = split_utterances(rec[who].words, rec[other].words,
                                          self.options.max_word_gap_s, self.options.turn_gap_s,
                                          self.options.sentence_gap_s)
                for g in groups:
                    u = self._utterance(who, g, chans[who], sr)
                    if u is not None:
                        utterances.append(u)
        else:
            mono = audio.channels[0]
            r = self._recognise(mono)
            timing["asr_s"] = round(r.asr_s, 3)
            speech_s = r.speech_s
            t_sep = time.perf_counter()
            mono_labels = label_mono(mono, sr, r.words, self.options)
            sep = mono_labels.separation
            for speaker, g in mono_labels.groups:
                level = party_level_dbfs(mono, sr, sep.frame_party, mono_labels.party(speaker),
                                         g[0].start, max(w.end for w in g))
                u = self._utterance(speaker, g, mono, sr, level_dbfs=level)
                if u is not None:
                    utterances.append(u)
            dropped += [{**d, "speaker": "unknown"} for d in r.dropped]
            timing["separation_s"] = round(time.perf_counter() - t_sep, 3)
            if mono_labels.review_reasons:
                warnings.append(SEPARATION_REVIEW_WARNING)
        utterances.sort(key=lambda u: (u.start, u.end))
        asr_total = sum(v for k, v in timing.items() if k.startswith("asr"))
        timing["asr_total_s"] = round(asr_total, 3)
        timing["realtime_factor"] = round(audio.duration / asr_total, 2) if asr_total else None
        diagnostics = {
            "model": self.model_path.name,
            "model_path": str(self.model_path),
            "channels": audio.n_channels,
            "agent_channel": agent_channel if audio.n_channels == 2 and not identical else None,
            "settings": {"language": "zh", "beam_size": self.options.beam_size, "vad": True,
                         "word_timestamps": True, "condition_on_previous_text": False,
                         "device": self.device, "compute_type": self.compute_type,
                         "cpu_threads": self.settings.cpu_threads,
                         "hotwords": self.vocabulary.hotword_text() is not None,
                         "sound_alike_correction": self._correct is not None},
            "speech_s": round(speech_s, 2),
            "dropped": dropped,
            "warnings": warnings,
            "timing": timing,
        }
        if mono_labels is not None:
            diagnostics["speaker_separation"] = mono_labels.diagnostics()
            if mono_labels.review_reasons:
                diagnostics["needs_review"] = True
        return Transcript(utterances=utterances, call_id=call_id,
                          duration=round(audio.duration, 2), metadata=dict(metadata or {}),
                          diagnostics=diagnostics)
