"""Transcript search: what the index holds for an utterance, the query language, highlighting.

The index (``models.search_index``: SQLite FTS5 in the embedded default, PostgreSQL
``tsvector`` with GIN indexes in production) holds two token streams per utterance:

``words``
    the character bigrams of the normalised text (punctuation and spaces dropped, variants
    folded, Latin lower-cased), then its last character: ``漏水了`` is ``漏水 水了 了``. A
    term of two or more characters is the phrase of its bigrams, so a search finds any
    substring — whatever jieba would have made of the utterance (ASR text such as 楼水 is no
    word at all), and without scanning. A one-character term is a prefix query on the
    bigrams (the trailing character covers the end of the utterance). Bigrams rather than
    single characters: PostgreSQL checks a phrase's positions row by row, and a bigram
    (``物业``) is hundreds of times rarer than its characters (``物``, ``业``), so a phrase of
    bigrams has few rows to check (``bench/search.py``).
``sounds``
    the same over toneless pinyin syllables, folded the way :func:`qa.matching.fold_syllable`
    folds the sounds that the recogniser and southern speakers confuse (zh/z, ch/c, sh/s,
    l/n, -ng/-n), and spoken digits (幺, 两) as the digit's sound: the "sounds like" search
    finds 楼水 for 漏水.

Query language (:func:`parse_query`): terms separated by spaces must all occur in the
utterance; ``"..."`` keeps a term with spaces together; ``A|B`` is either; a leading ``-``
excludes (``漏水 -已修好``). A hit found by sound but not written so is *fuzzy*
(:func:`highlight`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from qa.matching import normalize, syllable_of

__all__ = ["Clause", "Highlight", "Query", "QueryError", "Term", "TOKENIZER_VERSION",
           "highlight", "index_sounds", "index_words", "parse_query", "sounds_of"]

#: Bumped whenever the tokens change; an index written with another version is rebuilt.
TOKENIZER_VERSION = 1
MAX_TERMS = 10
MAX_TERM_CHARS = 50
SOUND_SEP = "0"  # joins the two syllables of a sound bigram (no syllable contains a digit)

# Digits (written, or spoken as 幺/两) sound like the Chinese numeral read out.
_DIGIT_SOUNDS = {d: c for d, c in zip("0123456789", "零一二三四五六七八九")}
_DIGIT_SOUNDS.update({"幺": "一", "两": "二", "〇": "零"})


class QueryError(ValueError):
    """A query that cannot be searched (empty, only exclusions, too long); the message is for
    people (Chinese / English)."""


def _clean(text: str) -> str:
    """The normalised characters the index sees: no punctuation or spaces, only letters and
    digits (Han characters are letters), lower case."""
    return "".join(_lower(ch) for ch in normalize(text).text if ch.isalnum())


def _lower(ch: str) -> str:
    return ch.lower() if ch.isascii() else ch


@lru_cache(maxsize=None)
def _sound(ch: str) -> str:
    return syllable_of(_DIGIT_SOUNDS.get(ch, ch))


def sounds_of(text: str) -> list[str]:
    """The folded syllables of the cleaned text, one per character."""
    return [_sound(ch) for ch in _clean(text)]


def _bigrams(units: list[str], sep: str) -> list[str]:
    if not units:
        return []
    return [units[i] + sep + units[i + 1] for i in range(len(units) - 1)] + [units[-1]]


def index_words(text: str) -> list[str]:
    """The ``words`` tokens of an utterance's text (bigrams, then the last character)."""
    return _bigrams(list(_clean(text)), "")


def index_sounds(text: str) -> list[str]:
    """The ``sounds`` tokens of an utterance's text (syllable bigrams, then the last one)."""
    return _bigrams(sounds_of(text), SOUND_SEP)


# --- queries ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clause:
    """One alternative of a term as the index engines see it: a phrase of ``tokens`` in
    ``column`` (``words`` or ``sounds``); ``prefix`` for a one-character term."""

    column: str
    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Term:
    """A term of the query: any of ``alternatives`` (cleaned text); ``negate`` excludes."""

    alternatives: tuple[str, ...]
    negate: bool = False

    def clauses(self, sound: bool) -> list[Clause]:
        """The index clauses that find this term (exactly, and by sound with ``sound``)."""
        out: list[Clause] = []
        for alt in self.alternatives:
            words = index_words(alt)
            one = len(alt) == 1
            out.append(Clause("words", tuple(words if one else words[:-1]), one))
            if sound and not alt.isascii():
                sounds = index_sounds(alt)
                out.append(Clause("sounds", tuple(sounds if one else sounds[:-1]), one))
        return out


@dataclass(frozen=True)
class Query:
    """A parsed query: its terms, whether sound-alike hits count, and the text typed."""

    terms: tuple[Term, ...]
    sound: bool = False
    text: str = ""

    @property
    def positive(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.negate)

    def groups(self) -> list[tuple[bool, list[tuple[str, tuple[str, ...], bool]]]]:
        """``(negate, [(column, tokens, prefix), ...])`` per term, as
        ``models.search_index.matching_ids`` takes them: a term matches when any of its
        clauses does."""
        return [(t.negate, [(c.column, c.tokens, c.prefix) for c in t.clauses(self.sound)])
                for t in self.terms]


_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


def parse_query(text: str, *, sound: bool = False) -> Query:
    """Parse what a person typed into a :class:`Query`.

    Raises:
        QueryError: nothing to search for, only exclusions, too many or too long terms.
    """
    text = (text or "").replace("\u3000", " ").replace("“", '"').replace("”", '"').strip()
    terms: list[Term] = []
    for m in _TOKEN.finditer(text):
        if m.group(3) is not None:
            raw, negate = m.group(3), False
            if raw.startswith("-") and len(raw) > 1:
                raw, negate = raw[1:], True
        else:
            raw, negate = m.group(2), bool(m.group(1))
        alts = tuple(dict.fromkeys(a for a in (_clean(p) for p in raw.split("|")) if a))
        if not alts:
            continue
        if any(len(a) > MAX_TERM_CHARS for a in alts):
            raise QueryError(f"搜索词太长（每个词最多 {MAX_TERM_CHARS} 个字）/ "
                             f"a term is longer than {MAX_TERM_CHARS} characters")
        terms.append(Term(alts, negate))
    if len(terms) > MAX_TERMS:
        raise QueryError(f"搜索词太多（最多 {MAX_TERMS} 个）/ more than {MAX_TERMS} terms")
    if not terms:
        raise QueryError("请输入要搜索的词（标点和空格不算）/ the query has no words to search for")
    if all(t.negate for t in terms):
        raise QueryError("至少需要一个要找的词，不能只有排除词（-词）/ "
                         "the query only excludes; give at least one term to find")
    return Query(tuple(terms), sound, text)


# --- highlighting -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Highlight:
    """Where the query's terms are in an utterance's text: ``spans`` are ``(start, end)``
    character offsets into the original text; ``fuzzy`` when some term was found only by
    sound (the text does not say it so)."""

    spans: tuple[tuple[int, int], ...] = ()
    fuzzy: bool = False
    found: bool = False
    segments: tuple[tuple[str, bool], ...] = field(default=(), compare=False)


def _find_all(hay: list[str] | str, needle: list[str] | str) -> list[int]:
    n, out = len(needle), []
    for i in range(len(hay) - n + 1):
        if hay[i:i + n] == needle:
            out.append(i)
    return out


def highlight(text: str, query: Query) -> Highlight:
    """Locate the query's positive terms in ``text`` (exactly, else by sound when the query
    allows it) and split the text into ``(piece, is_hit)`` segments for display."""
    norm = normalize(text)
    # the cleaned characters and their offsets in the original text
    chars, where = [], []
    for ch, i in zip(norm.text, norm.index):
        if ch.isalnum():
            chars.append(_lower(ch))
            where.append(i)
    clean = "".join(chars)
    sounds = [_sound(c) for c in clean]
    spans: list[tuple[int, int]] = []
    fuzzy, every = False, True
    for term in query.positive:
        exact = [(p, len(a)) for a in term.alternatives for p in _find_all(clean, a)]
        hits = exact
        if not exact and query.sound:
            hits = [(p, len(a)) for a in term.alternatives if not a.isascii()
                    for p in _find_all(sounds, [_sound(c) for c in a])]
            fuzzy = fuzzy or bool(hits)
        every = every and bool(hits)
        for p, n in hits:
            spans.append((where[p], where[p + n - 1] + 1))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    segments, pos = [], 0
    for a, b in merged:
        if a > pos:
            segments.append((text[pos:a], False))
        segments.append((text[a:b], True))
        pos = b
    if pos < len(text):
        segments.append((text[pos:], False))
    return Highlight(tuple(merged), fuzzy, every and bool(merged), tuple(segments))
