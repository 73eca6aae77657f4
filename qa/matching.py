"""Phrase matching that survives recognition errors.

A phrase is found in an utterance in one of three ways, tried in order:

``exact``
    the phrase's characters occur in the text (punctuation and spaces ignored);
``sound``
    the toneless pinyin of the phrase occurs in the pinyin of the text, after folding the
    sounds ASR and southern speakers confuse (zh/z, ch/c, sh/s, l/n, -ng/-n), so 服务中兴 is
    服务中心 and 拧好 is 您好;
``fuzzy``
    for phrases of 6 or more syllables, one syllable in six may differ
    (感谢您的耐心等带 for 感谢您的耐心等待).

One-character phrases match exactly only (a single syllable sounds like too many others).
Phrase syntax: ``*`` is a gap of up to ``max_gap`` characters (请问有什么*帮您 matches
请问有什么事情可以帮您). ``whole=True`` requires the match to start and end on jieba token
boundaries, so the backchannel 对 is not found inside 对不起.

Confidence of a match: 1.0 exact, 0.85 sound, 0.7 fuzzy, scaled by the recogniser's word
probabilities over the span (or the utterance confidence) when present.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from qa.records import Evidence, Utterance

log = logging.getLogger("hotline_qa.matching")

KIND_CONFIDENCE = {"exact": 1.0, "sound": 0.85, "fuzzy": 0.7}
DEFAULT_MAX_GAP = 8
FUZZY_MIN_CHARS = 6   # one differing syllable allowed per this many

_FOLD_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FOLD_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"),
                ("ing", "in"))


def _is_skip(ch: str) -> bool:
    """Punctuation, symbols and white space are ignored by matching."""
    cat = unicodedata.category(ch)
    return cat[0] in "PZSC"


def fold_syllable(s: str) -> str:
    """Fold a toneless pinyin syllable so that commonly confused sounds compare equal."""
    for a, b in _FOLD_INITIALS:
        if s.startswith(a):
            s = b + s[len(a):]
            break
    if s.startswith("l"):
        s = "n" + s[1:]
    for a, b in _FOLD_FINALS:
        if s.endswith(a):
            s = s[: -len(a)] + b
            break
    return s


_SYL_IDS: dict[str, str] = {}


@lru_cache(maxsize=None)
def syllable_of(ch: str) -> str:
    """The folded toneless pinyin syllable of a Han character (``ch`` lower-cased otherwise;
    the pinyin: :func:`transcribe.soundalike.toneless`)."""
    from transcribe.soundalike import is_han, toneless

    if is_han(ch):
        return fold_syllable(toneless(ch))
    return ch.lower()


@lru_cache(maxsize=None)
def sound_of(ch: str) -> str:
    """One private-use character standing for the folded toneless sound of ``ch``."""
    syl = syllable_of(ch)
    sid = _SYL_IDS.get(syl)
    if sid is None:
        sid = _SYL_IDS[syl] = chr(0xF0000 + len(_SYL_IDS))
    return sid


@dataclass(frozen=True)
class Normalized:
    """An utterance's text without punctuation, its sound string, and the index map."""

    text: str
    sound: str
    index: tuple[int, ...]  # position in the normalised text -> position in the original


# Variant characters the recogniser leaves after script conversion.
_VARIANTS = str.maketrans({"著": "着", "妳": "你", "裏": "里", "於": "于"})


@lru_cache(maxsize=50_000)
def normalize(text: str) -> Normalized:
    chars, idx = [], []
    for i, ch in enumerate(text.translate(_VARIANTS)):
        if _is_skip(ch):
            continue
        chars.append(ch)
        idx.append(i)
    norm = "".join(chars)
    return Normalized(norm, "".join(sound_of(c) for c in norm), tuple(idx))


@lru_cache(maxsize=50_000)
def token_bounds(text: str) -> frozenset[int]:
    """Positions in the normalised text where a jieba token starts or ends."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    out, pos = {0}, 0
    for tok in jieba.cut(text, HMM=False):
        pos += len(tok)
        out.add(pos)
    return frozenset(out)


@dataclass(frozen=True)
class _Compiled:
    phrase: str
    exact: re.Pattern | None   # None for plain phrases (str.find is used)
    sound: re.Pattern | None
    plain: str
    plain_sound: str
    parts: tuple[str, ...]


@lru_cache(maxsize=20_000)
def _compile(phrase: str, max_gap: int) -> _Compiled:
    parts = tuple(normalize(p).text for p in phrase.split("*"))
    parts = tuple(p for p in parts if p)
    if not parts:
        raise ValueError(f"empty phrase {phrase!r}")
    if len(parts) == 1:
        return _Compiled(phrase, None, None, parts[0], normalize(parts[0]).sound, parts)
    gap = f".{{0,{max_gap}}}?"
    exact = re.compile(gap.join(re.escape(p) for p in parts))
    sound = re.compile(gap.join(re.escape(normalize(p).sound) for p in parts))
    return _Compiled(phrase, exact, sound, "", "", parts)


@dataclass(frozen=True)
class _CompiledList:
    items: tuple[_Compiled, ...]
    any_sound: re.Pattern      # matches where any phrase could match exactly or by sound
    long_items: tuple[_Compiled, ...]  # plain phrases long enough for fuzzy matching
    any_chunk: re.Pattern | None       # matches where a fuzzy match could start (pigeonhole)


@lru_cache(maxsize=4096)
def _compile_list(phrases: tuple[str, ...], max_gap: int) -> _CompiledList:
    items = tuple(_compile(p, max_gap) for p in phrases)
    alts = []
    for c in items:
        alts.append(c.sound.pattern if c.sound is not None else re.escape(c.plain_sound))
    alts.sort(key=len, reverse=True)
    long_items = tuple(c for c in items
                       if c.exact is None and len(c.plain) >= FUZZY_MIN_CHARS)
    chunks = set()
    for c in long_items:
        k = len(c.plain) // FUZZY_MIN_CHARS + 1
        size = len(c.plain_sound) // k
        for i in range(k):
            chunks.add(c.plain_sound[i * size:(i + 1) * size if i < k - 1 else None])
    any_chunk = re.compile("|".join(re.escape(x) for x in sorted(chunks, key=len,
                                                                 reverse=True))) if chunks else None
    return _CompiledList(items, re.compile("|".join(alts)), long_items, any_chunk)


@dataclass(frozen=True)
class Match:
    """One phrase found in one utterance."""

    utterance: Utterance
    phrase: str
    kind: str          # exact | sound | fuzzy
    begin: int         # character offsets in the original text (end exclusive)
    stop: int
    confidence: float

    @property
    def text(self) -> str:
        return self.utterance.text[self.begin:self.stop]

    @property
    def start(self) -> float:
        return _time_at(self.utterance, self.begin, True)

    @property
    def end(self) -> float:
        return _time_at(self.utterance, self.stop, False)

    def evidence(self) -> Evidence:
        return Evidence(self.utterance.speaker, round(self.start, 2), round(self.end, 2),
                        self.text)


def _time_at(u: Utterance, offset: int, is_start: bool) -> float:
    """Time of a character offset: from word times when present, else interpolated."""
    if u.words:
        pos = 0
        for w in u.words:
            n = len(w.text)
            if is_start and offset < pos + max(n, 1):
                return w.start
            if not is_start and offset <= pos + n:
                return w.end
            pos += n
        return u.words[-1].end if not is_start else u.words[-1].start
    n = max(len(u.text), 1)
    return u.start + (u.end - u.start) * min(offset, n) / n


def asr_confidence(u: Utterance, begin: int, stop: int) -> float | None:
    """Mean recogniser probability of the words covering [begin, stop), else the utterance's."""
    if u.words and any(w.probability is not None for w in u.words):
        pos, probs = 0, []
        for w in u.words:
            n = len(w.text)
            if pos < stop and pos + n > begin and w.probability is not None:
                probs.append(w.probability)
            pos += n
        if probs:
            return sum(probs) / len(probs)
    return u.confidence


def scale_confidence(base: float, asr: float | None) -> float:
    """Combine the match kind's confidence with the recogniser's (0-1)."""
    if asr is None:
        return base
    return base * (0.6 + 0.4 * max(0.0, min(1.0, asr)))


class Matcher:
    """Finds phrases in utterances (see the module docstring)."""

    def __init__(self, sound: bool = True, fuzzy: bool = True,
                 max_gap: int = DEFAULT_MAX_GAP) -> None:
        self.use_sound = sound
        self.use_fuzzy = fuzzy
        self.max_gap = max_gap

    def find(self, u: Utterance, phrases: Iterable[str] | str, *, whole: bool | None = None,
             exclude: Sequence[str] = (), exact_only: bool = False) -> list[Match]:
        """Every phrase of ``phrases`` found in ``u``, at most one match per phrase.

        ``whole``: require jieba token boundaries; ``None`` (default) requires them for
        one-character phrases only, ``False`` never.
        ``exclude``: phrases whose matches veto an overlapping match (没问题 vetoes 问题).
        Matches are sorted by position; overlapping weaker duplicates are dropped.
        """
        if isinstance(phrases, str):
            phrases = (phrases,)
        elif not isinstance(phrases, tuple):
            phrases = tuple(phrases)
        norm = normalize(u.text)
        if not norm.text:
            return []
        compiled = _compile_list(phrases, self.max_gap)
        # Quick reject: nothing matches by sound (exact is a subset) and nothing is long
        # enough to match with tolerance.
        fuzzy_ok = (not exact_only and self.use_fuzzy and compiled.any_chunk is not None
                    and compiled.any_chunk.search(norm.sound) is not None)
        if compiled.any_sound.search(norm.sound) is not None:
            candidates = [c for c in compiled.items if c.exact is not None
                          or c.plain_sound in norm.sound
                          or (fuzzy_ok and len(c.plain) >= FUZZY_MIN_CHARS)]
        elif fuzzy_ok:
            candidates = compiled.long_items
        else:
            return []
        vetoes = [self._span(norm, p, bool(whole), True) for p in exclude] if exclude else []
        vetoes = [v for v in vetoes if v]
        found: list[Match] = []
        for c in candidates:
            p = c.phrase
            # One-character phrases (是, 对, 滚) only count as whole jieba tokens.
            # One character sounds like too many others: exact only.
            hit = self._span(norm, p, bool(whole) or (whole is None and len(p) == 1),
                             exact_only or len(c.plain) == 1)
            if hit is None:
                continue
            b, e, kind = hit
            if any(vb < e and b < ve for vb, ve, _ in vetoes):
                continue
            ob, oe = norm.index[b], norm.index[e - 1] + 1
            conf = scale_confidence(KIND_CONFIDENCE[kind], asr_confidence(u, ob, oe))
            found.append(Match(u, p, kind, ob, oe, conf))
        found.sort(key=lambda m: (m.begin, -m.confidence))
        return found

    def first(self, u: Utterance, phrases, **kw) -> Match | None:
        """The best (most confident, then earliest) match, or None."""
        ms = self.find(u, phrases, **kw)
        return max(ms, key=lambda m: (m.confidence, -m.begin)) if ms else None

    def contains(self, text: str, phrases, **kw) -> bool:
        return bool(self.find(Utterance("unknown", 0.0, 0.0, text), phrases, **kw))

    # ---- internals -----------------------------------------------------------------------
    def _span(self, norm: Normalized, phrase: str, whole: bool,
              exact_only: bool) -> tuple[int, int, str] | None:
        c = _compile(phrase, self.max_gap)
        bounds = token_bounds(norm.text) if whole else None

        def ok(b: int, e: int) -> bool:
            return bounds is None or (b in bounds and e in bounds)

        # exact
        for b, e in self._occurrences(c, norm.text, exact=True):
            if ok(b, e):
                return b, e, "exact"
        if exact_only:
            return None
        if self.use_sound:
            for b, e in self._occurrences(c, norm.sound, exact=False):
                if ok(b, e):
                    return b, e, "sound"
        if self.use_fuzzy and c.exact is None and len(c.plain) >= FUZZY_MIN_CHARS:
            hit = _fuzzy_find(norm.sound, c.plain_sound, len(c.plain) // FUZZY_MIN_CHARS)
            if hit is not None and ok(*hit):
                return hit[0], hit[1], "fuzzy"
        return None

    @staticmethod
    def _occurrences(c: _Compiled, hay: str, exact: bool):
        if c.exact is None:
            needle = c.plain if exact else c.plain_sound
            i = hay.find(needle)
            while i >= 0:
                yield i, i + len(needle)
                i = hay.find(needle, i + 1)
        else:
            pat = c.exact if exact else c.sound
            for m in pat.finditer(hay):
                yield m.start(), m.end()


def _fuzzy_find(hay: str, needle: str, max_miss: int) -> tuple[int, int] | None:
    """First window of ``hay`` equal to ``needle`` but for at most ``max_miss`` positions."""
    n = len(needle)
    if len(hay) < n:
        return None
    # Pigeonhole: with <= max_miss mismatches, one of max_miss+1 chunks matches exactly.
    k = max_miss + 1
    size = n // k
    seen: set[int] = set()
    for ci in range(k):
        off = ci * size
        chunk = needle[off: off + size] if ci < k - 1 else needle[off:]
        if not chunk:
            continue
        i = hay.find(chunk)
        while i >= 0:
            s = i - off
            if 0 <= s <= len(hay) - n and s not in seen:
                seen.add(s)
                miss = sum(1 for a, b in zip(hay[s:s + n], needle) if a != b)
                if miss <= max_miss:
                    return s, s + n
            i = hay.find(chunk, i + 1)
    return None
