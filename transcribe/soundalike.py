"""Sound-alike correction of recognised Chinese text with the domain vocabulary.

Whisper base writes many words with the right sounds and the wrong characters (服务中兴 for
服务中心, 遇久万 for 御景湾, 世纪冻结后 for 是几栋几号, 酒洞 for 九栋). Knowing what a
property-management hotline talks about, :class:`SoundAlikeCorrector` puts the right
characters back, in stages (each measured on ``bench/asr.py`` and kept because it helps):

1. explicit replacements (``corrections``) and regular expressions (``patterns``);
2. terms: a span whose toneless pinyin (with the usual fuzzy pairs for 3+ characters)
   equals a term's is replaced, when at most half of its characters differ, or when it sounds
   exactly like the term and is no word itself (jieba's dictionary: 点踢 → 电梯, 宝杰 → 保洁,
   while 报案 stays 报案 and is not taken for 保安);
3. stock phrases and names: a span of the same length whose syllables are *close* to a
   phrase's (:func:`syllable_similarity`, averaged) is replaced; an estate or organisation
   name right before 物业/服务中心/小区/客服 is matched with a lower bar (the slot is known);
4. building numbers: number-like syllables before a 栋-like one in an address (酒洞二单元 →
   九栋二单元, 时期动三零八 → 十七栋三零八);
5. surnames before 先生/女士 that are no surname are replaced by the commonest surname that
   sounds the same (正先生 → 郑先生).

Every replacement keeps the text's length, so word timestamps stay aligned. Written here
rather than taken from a library: the pinyin comes from ``pypinyin``; what sounds alike on a
telephone line for Whisper, and which slots a hotline call has, are this product's knowledge.
"""
from __future__ import annotations

import re
from functools import lru_cache

from transcribe.normalize import Vocabulary

__all__ = ["SoundAlikeCorrector", "correct_building_numbers", "is_word", "syllable_similarity"]

_FUZZY = ((r"^zh", "z"), (r"^ch", "c"), (r"^sh", "s"), (r"ing$", "in"), (r"eng$", "en"),
          (r"ang$", "an"), (r"^l", "n"), (r"^h(?=u)", "f"))

#: Initials that a narrow-band line and Whisper base confuse (beyond the fuzzy pairs).
_CLOSE_INITIALS = {frozenset(p) for p in (("z", "c"), ("zh", "ch"), ("j", "q"), ("q", "x"),
                                           ("j", "x"), ("b", "p"), ("d", "t"), ("g", "k"),
                                           ("zh", "j"), ("ch", "q"), ("sh", "x"), ("s", "c"),
                                           ("r", "l"), ("z", "zh"), ("c", "ch"), ("s", "sh"),
                                           ("l", "n"), ("h", "f"))}
#: Finals heard alike (beyond -n/-ng).
_CLOSE_FINALS = {frozenset(p) for p in (("i", "ie"), ("i", "v"), ("u", "v"), ("an", "uan"),
                                         ("an", "ian"), ("ao", "ou"), ("uo", "o"), ("ui", "ei"),
                                         ("iu", "ou"), ("e", "ie"), ("in", "ing"),
                                         ("en", "eng"), ("an", "ang"), ("ian", "iang"),
                                         ("uan", "uang"), ("e", "uo"), ("ie", "ve"))}


def is_han(ch: str) -> bool:
    """A Han character (CJK Unified Ideographs and Extension A): the one range the product
    reads sounds for (here and in :mod:`qa.matching`)."""
    return "\u3400" <= ch <= "\u9fff"


_is_han = is_han


@lru_cache(maxsize=20000)
def toneless(ch: str) -> str:
    """The toneless pinyin syllable of a Han character (``lv`` for 绿); ``ch`` itself
    otherwise. The one pinyin table of the product (``pypinyin``)."""
    from pypinyin import Style, lazy_pinyin  # noqa: PLC0415

    if not is_han(ch):
        return ch
    return lazy_pinyin(ch, style=Style.NORMAL, v_to_u=False)[0]


_py = toneless


@lru_cache(maxsize=20000)
def _parts(ch: str) -> tuple[str, str]:
    """(initial, final) of a character, toneless; y/w count as initials."""
    from pypinyin import Style, lazy_pinyin  # noqa: PLC0415

    return (lazy_pinyin(ch, style=Style.INITIALS, strict=False)[0],
            lazy_pinyin(ch, style=Style.FINALS, strict=False)[0])


@lru_cache(maxsize=20000)
def _fuzzy(p: str) -> str:
    for a, b in _FUZZY:
        p = re.sub(a, b, p)
    return p


@lru_cache(maxsize=200000)
def syllable_similarity(a: str, b: str) -> float:
    """How alike two Chinese characters sound, 0-1.

    1: same toneless pinyin; 0.9: same up to the fuzzy pairs (zh/z, ch/c, sh/s, l/n, hu/fu,
    -ng/-n); 0.7: one of initial and final the same, the other close (j/q, an/uan…);
    0.5: same final; 0.4: same initial; 0 otherwise (and for anything not a Han character,
    unless both are the same character).
    """
    if a == b:
        return 1.0
    if not (_is_han(a) and _is_han(b)):
        return 0.0
    pa, pb = _py(a), _py(b)
    if pa == pb:
        return 1.0
    if _fuzzy(pa) == _fuzzy(pb):
        return 0.9
    (ia, fa), (ib, fb) = _parts(a), _parts(b)
    same_i = ia == ib or _fuzzy(ia) == _fuzzy(ib) if ia and ib else ia == ib
    same_f = fa == fb
    close_i = same_i or frozenset((ia, ib)) in _CLOSE_INITIALS
    close_f = same_f or frozenset((fa, fb)) in _CLOSE_FINALS
    if (same_i and close_f) or (close_i and same_f):
        return 0.7
    if same_f:
        return 0.5
    if same_i:
        return 0.4
    return 0.0


_NUMBER_CHARS = set("零一二三四五六七八九十几两")


def _span_score(span: str, phrase: str, floor: float, allow_unlike: bool = False) -> float:
    """Mean syllable similarity of two same-length strings (0 when below ``floor``, which
    lets the loop stop early), requiring half of the syllables to match (≥ 0.9), no number
    character to change (九栋 is not 几栋) and, unless ``allow_unlike``, no syllable to be
    unlike (0: 耐心 is not 来电)."""
    n = len(phrase)
    total, good = 0.0, 0
    for k, (a, b) in enumerate(zip(span, phrase)):
        s = syllable_similarity(a, b)
        if (s == 0.0 and not allow_unlike) or (a != b and a in _NUMBER_CHARS):
            return 0.0
        total += s
        good += s >= 0.9
        if total + (n - k - 1) < floor * n:
            return 0.0
    return total / n if good * 2 >= n else 0.0


def _closest(candidates: list[str], span_of, floor: float,
             allow_unlike: bool = False) -> str | None:
    """The candidate whose same-length span of the text (``span_of(len(candidate))``, all Han
    characters) sounds closest to it, scoring above ``floor`` (:func:`_span_score`); None
    when none does, or when the text already holds one of the candidates there."""
    best, best_score = None, floor
    for cand in candidates:
        span = span_of(len(cand))
        if span == cand:
            return None
        if len(span) == len(cand) and all(_is_han(c) for c in span):
            score = _span_score(span, cand, best_score, allow_unlike)
            if score > best_score:
                best, best_score = cand, score
    return best


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, int]:
    import logging  # noqa: PLC0415

    import jieba  # noqa: PLC0415 - its dictionary: 350k words with frequencies

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def is_word(text: str) -> bool:
    """True when ``text`` is a word of jieba's dictionary (a prefix entry is not)."""
    return _lexicon().get(text, 0) > 0


# building numbers ---------------------------------------------------------------------------
#: Toneless syllable → the number character it stands for in an address.
_NUMBER_SYLLABLES = {"yi": "一", "er": "二", "san": "三", "shan": "三", "si": "四", "ci": "四",
                     "wu": "五", "liu": "六", "qi": "七", "ba": "八", "jiu": "九", "shi": "十",
                     "ji": "几", "liang": "两"}
_BUILDING = re.compile(r"^(十[一二三四五六七八九几]?|[二三四五六七八九]十[一二三四五六七八九]?|"
                       r"[一二三四五六七八九两几]|十几)$")
#: What may follow a building number in an address: a room or unit number, 单元, 的, 号.
_AFTER_BUILDING = re.compile(r"^([，,呃嗯啊饿额]?[零一二三四五六七八九十几两0-9]|单[元言圆]|的|号|$)")
#: ... of which a room or unit number is evidence enough on its own.
_ROOM = re.compile(r"^([，,呃嗯啊饿额]?[零一二三四五六七八九十几两0-9]|单[元言圆])")


def _number_char(ch: str) -> str | None:
    if ch in _NUMBER_CHARS:
        return ch
    if not _is_han(ch) or ch in "是日":  # 我是九栋的: 是 is heard right, never 十
        return None
    return _NUMBER_SYLLABLES.get(_py(ch))


def correct_building_numbers(text: str) -> str:
    """Number-like syllables before a 栋-sounding character in an address → the building
    number (酒洞二单元 → 九栋二单元, 时期动三零八 → 十七栋三零八, 山洞的 → 三栋的).

    The 栋-like character must be followed by what follows a building number (a room or unit
    number, 单元, 的, 号 or the end); the longest run of 1-3 characters before it that reads
    as a building number (九, 十七, 二十一, 几…) is rewritten. Runs that are already number
    characters only get their 栋. A single sound-alike syllable (启动, 移动, 山洞) needs a
    room or unit number after it, or 是/住/在 before it and 的 after it.
    """
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch == "栋" or not _is_han(ch) or _py(ch) != "dong" or i == 0:
            continue
        after = "".join(chars[i + 1:i + 3])
        if not _AFTER_BUILDING.match(after):
            continue
        for n in (3, 2, 1):
            if i - n < 0:
                continue
            run = chars[i - n:i]
            nums = [_number_char(c) for c in run]
            if None in nums or not _BUILDING.match("".join(nums)):
                continue
            if n == 1 and run[0] not in _NUMBER_CHARS and not _ROOM.match(after) and \
                    not (after.startswith("的") and i >= 2 and chars[i - 2] in "是住在"):
                break  # 启动, 移动的: a word, unless a room number follows or 是/住 precedes
            chars[i - n:i] = nums
            chars[i] = "栋"
            break
    return "".join(chars)


#: Characters before 先生/女士 that are words, not misheard surnames (这位先生, 老先生, 您先生).
_NOT_SURNAMES = set("位老小大您你他她我的个各这那是了好")


class SoundAlikeCorrector:
    """Replace spans that sound like a known term, stock phrase, name, building number or
    surname by it (see the module docstring); the text keeps its length.

    Args:
        vocabulary: terms, phrases, estates/organisations (``names``), surnames, explicit
            corrections and patterns.
        phrase_threshold: mean syllable similarity a span needs to become a stock phrase or a
            name.
        slot_threshold: the same for a name right before 物业/服务中心/小区/客服.
    """

    #: Words that follow an estate or organisation name: the slot before them holds a name.
    NAME_ANCHORS = ("物业", "服务中心", "小区", "客服")

    def __init__(self, vocabulary: Vocabulary, phrase_threshold: float = 0.8,
                 slot_threshold: float = 0.6):
        self.corrections = sorted(vocabulary.corrections.items(), key=lambda kv: -len(kv[0]))
        self.patterns = [(re.compile(p), r) for p, r in vocabulary.patterns]
        self.phrase_threshold = phrase_threshold
        self.slot_threshold = slot_threshold
        self._by_len: dict[int, dict[tuple[str, ...], str]] = {}
        for term in sorted(set(vocabulary.terms), key=len):
            if len(term) < 2 or not all(_is_han(c) for c in term):
                continue
            self._by_len.setdefault(len(term), {}).setdefault(self._key(term), term)
        self._term_lengths = sorted(self._by_len, reverse=True)
        phrases = sorted((p for p in dict.fromkeys(vocabulary.phrases) if len(p) >= 3 and
                          all(_is_han(c) for c in p)), key=len, reverse=True)
        names = sorted({n for n in vocabulary.names if len(n) >= 2 and
                        all(_is_han(c) for c in n)}, key=len, reverse=True)
        # anywhere in the text: a stock phrase or a name
        self._phrase_candidates = phrases + names
        # the slot before 物业/服务中心 holds a bare estate name (not 阳光物业 itself)
        self._slot_candidates = [n for n in names if not any(a in n for a in self.NAME_ANCHORS)]
        # surnames by sound, the commonest first
        self._surnames = set(vocabulary.surnames)
        self._surname_by_sound: dict[str, str] = {}
        for name in vocabulary.surnames:
            self._surname_by_sound.setdefault(_py(name), name)

    @staticmethod
    def _py_key(text: str) -> tuple[str, ...]:
        return tuple(_py(c) for c in text)

    @staticmethod
    def _key(text: str) -> tuple[str, ...]:
        fuzzy = len(text) >= 3
        return tuple(_fuzzy(_py(c)) if fuzzy else _py(c) for c in text)

    def __call__(self, text: str) -> str:
        for wrong, right in self.corrections:
            text = text.replace(wrong, right)
        for pat, repl in self.patterns:
            text = pat.sub(repl, text)
        text = correct_building_numbers(text)
        text = self._terms(text)
        text = self._slot_names(text)
        text = self._fuzzy_phrases(text)
        return self._surnames_before_titles(text)

    # -- stages -------------------------------------------------------------------------------
    def _terms(self, text: str) -> str:
        if not self._by_len:
            return text
        chars = list(text)
        i = 0
        while i < len(chars):
            done = False
            for n in self._term_lengths:
                span = chars[i:i + n]
                if len(span) < n or not all(_is_han(c) for c in span):
                    continue
                text_span = "".join(span)
                term = self._by_len[n].get(self._key(text_span))
                if term is None:
                    continue
                diff = sum(a != b for a, b in zip(span, term))
                near = diff <= max(1, n // 2)
                if diff and (near or (self._py_key(text_span) == self._py_key(term)
                                      and not is_word(text_span))):
                    chars[i:i + n] = list(term)
                    near = True
                if near:
                    i += n
                    done = True
                    break
            if not done:
                i += 1
        return "".join(chars)

    def _slot_names(self, text: str) -> str:
        """The span right before a name anchor becomes the closest name, if close enough."""
        if not self._slot_candidates:
            return text
        for anchor in self.NAME_ANCHORS:
            start = 0
            while (j := text.find(anchor, start)) >= 0:
                start = j + len(anchor)
                best = _closest(self._slot_candidates,  # the lambda is called at once
                                lambda n: text[j - n:j] if j >= n else "",  # noqa: B023
                                self.slot_threshold, allow_unlike=True)
                if best is not None:
                    text = text[:j - len(best)] + best + text[j:]
        return text

    def _fuzzy_phrases(self, text: str) -> str:
        """Spans close in sound to a stock phrase or a name (anywhere) become it."""
        if not self._phrase_candidates:
            return text
        i = 0
        while i < len(text):
            best = _closest(self._phrase_candidates, lambda n: text[i:i + n],  # noqa: B023
                            self.phrase_threshold - 1e-9)
            if best is not None:
                text = text[:i] + best + text[i + len(best):]
                i += len(best)
            else:
                i += 1
        return text

    def _surnames_before_titles(self, text: str) -> str:
        if not self._surnames:
            return text
        chars = list(text)
        for m in re.finditer(r"(?=(先生|女士))", text):
            i = m.start() - 1
            if i < 0 or not _is_han(chars[i]) or chars[i] in self._surnames or \
                    chars[i] in _NOT_SURNAMES:
                continue
            chars[i] = self._surname_by_sound.get(_py(chars[i]), chars[i])
        return "".join(chars)
