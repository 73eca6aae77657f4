"""Chinese numerals and the key data of a call: phone numbers, addresses, names, dates.

Used by the read-back rule (SV05) and the privacy rule (PO06). Spoken digits are
normalised first: 幺/一→1, 两/二→2, 洞/零/〇→0, 拐→7, full-width and ASCII digits as they are, so
"幺三九，零七二六" and "139 0726" both give ``1390726``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2",
          "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7",
          "八": "8", "九": "9"}
DIGITS.update({str(i): str(i) for i in range(10)})
DIGITS.update({chr(0xFF10 + i): str(i) for i in range(10)})
_SEPARATORS = set("，,、 -－—.。")
_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
#: Regular-expression class bodies: a digit as said or written, and a numeral (十/百/千 too).
DIGIT_CLASS = "零〇○洞一幺二两三四五六七八九拐0-9０-９"
NUMERAL_CLASS = DIGIT_CLASS + "十百千"
_NUMERAL = NUMERAL_CLASS
MIN_PHONE_DIGITS = 7
_SUFFIXES = set("栋单号楼层室幢座点月日年块元个分秒天")


def _seps(text: str, a: int, b: int) -> int:
    return sum(1 for c in text[a:b] if c in _SEPARATORS)


def digits_of(s: str) -> str:
    """Only the digits of ``s``, spoken Chinese digits normalised (``幺三九``→``139``)."""
    return "".join(DIGITS[c] for c in s if c in DIGITS)


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese or Arabic numeral: ``二十一``→21, ``一百二十六``→126,
    ``一零零二``→1002 (digit by digit when there is no 十/百/千). None when not a number."""
    s = s.strip()
    if not s:
        return None
    if all(c in DIGITS for c in s):
        return int(digits_of(s))
    total, cur = 0, 0
    units = {"十": 10, "百": 100, "千": 1000}
    for c in s:
        if c in _CN_VALUE:
            cur = _CN_VALUE[c]
        elif c.isdigit():
            cur = cur * 10 + int(DIGITS.get(c, c))
        elif c in units:
            total += (cur or 1) * units[c]
            cur = 0
        else:
            return None
    return total + cur


@dataclass(frozen=True)
class Span:
    """A piece of key data found in a text: its kind, normalised value and offsets."""

    kind: str      # phone | building | unit | room | surname
    value: str
    begin: int
    end: int


def _digit_run(text: str, i: int) -> tuple[list[str], int, int]:
    """The spoken digits from ``text[i]`` (a digit) on, separators allowed between groups:
    (normalised digits, index of the last digit, index after the scanned run)."""
    n, j, digits, last = len(text), i, [], i
    while j < n and (text[j] in DIGITS or (text[j] in _SEPARATORS and digits)):
        if text[j] in DIGITS:
            digits.append(DIGITS[text[j]])
            last = j
        j += 1
    return digits, last, j


@lru_cache(maxsize=20_000)
def phone_numbers(text: str) -> tuple[Span, ...]:
    """Runs of spoken digits (separators allowed between groups) with ≥ 7 digits."""
    out: list[Span] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in DIGITS:
            i += 1
            continue
        digits, last, j = _digit_run(text, i)
        if len(digits) >= MIN_PHONE_DIGITS:
            stop = last + 1
            # A trailing group glued to an address or time word is not part of the number
            # (幺八六，二零五七，三三幺六，六栋…).
            if stop < n and text[stop] in _SUFFIXES:
                k = stop - 1
                while k > i and text[k] in DIGITS:
                    k -= 1
                if k > i:
                    while k > i and text[k] in _SEPARATORS:
                        k -= 1
                    digits = digits[: len(digits) - (stop - 1 - k - _seps(text, k + 1, stop))]
                    stop = k + 1
            if len(digits) > 11 and digits[0] == "1":
                digits = digits[:11]
            if len(digits) >= MIN_PHONE_DIGITS:
                out.append(Span("phone", "".join(digits), i, stop))
        i = last + 1 if last >= i else j
    return tuple(out)


def digit_runs(text: str, min_digits: int = 4) -> tuple[Span, ...]:
    """Runs of spoken digits (separators allowed between groups) with ≥ ``min_digits``
    digits: the pieces of a number that survive when a recogniser garbles one digit
    (``139，162孙，7735`` → ``139162``, ``7735``)."""
    out: list[Span] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in DIGITS:
            i += 1
            continue
        digits, last, _ = _digit_run(text, i)
        if len(digits) >= min_digits:
            out.append(Span("digits", "".join(digits), i, last + 1))
        i = last + 1
    return tuple(out)


# 动/冬/东 after a number: the recogniser's spellings of 栋.
_BUILDING = re.compile(rf"([{_NUMERAL}]+)(?:栋|号楼|幢|座|号院|动|冬|东)")
_UNIT = re.compile(rf"([{_NUMERAL}]+)单元")
_ROOM = re.compile(rf"([{_NUMERAL}]+)(?:号|室|房)?")
_SURNAME = re.compile(r"(?:我?姓|免贵姓)([\u4e00-\u9fff])")
_TITLE = re.compile(r"([\u4e00-\u9fff])(?:先生|女士|小姐|阿姨|师傅|大爷|老师)")
_NOT_SURNAME = set("这那哪您你他她老小谁某贵一二三四五六七八九十的")


@lru_cache(maxsize=20_000)
def address_parts(text: str) -> tuple[Span, ...]:
    """Building (栋/号楼), unit (单元) and room numbers (a run of ≥ 3 spoken digits that is
    not a phone number, e.g. 一零零二, 三零八)."""
    out: list[Span] = []
    phones = phone_numbers(text)
    for kind, pat in (("building", _BUILDING), ("unit", _UNIT)):
        for m in pat.finditer(text):
            v = cn_to_int(m.group(1))
            if v is not None:
                out.append(Span(kind, str(v), m.start(), m.end()))
    taken = [(s.begin, s.end) for s in out] + [(p.begin, p.end) for p in phones]
    for m in _ROOM.finditer(text):
        raw = m.group(1)
        if any("十" == c or "百" == c or "千" == c for c in raw):
            continue
        d = digits_of(raw)
        if 3 <= len(d) < MIN_PHONE_DIGITS and not any(b < m.end(1) and m.start(1) < e
                                                       for b, e in taken):
            out.append(Span("room", d, m.start(1), m.end(1)))
    return tuple(sorted(out, key=lambda s: s.begin))


@lru_cache(maxsize=20_000)
def surnames(text: str) -> tuple[Span, ...]:
    """Surnames: 我姓周 / 姓周 → 周; 周先生 / 何女士 → 周, 何."""
    out = []
    for pat in (_SURNAME, _TITLE):
        for m in pat.finditer(text):
            s = m.group(1)
            if s not in _NOT_SURNAME:
                out.append(Span("surname", s, m.start(), m.end()))
    return tuple(out)


_DATE = re.compile(
    rf"(今天|明天|后天|今晚|明早|明晚|本周|这周|下周|周[一二三四五六日天]|星期[一二三四五六日天]"
    rf"|礼拜[一二三四五六日天]|[{_NUMERAL}]+月[{_NUMERAL}]+[日号])")


def dates(text: str) -> tuple[Span, ...]:
    """Day references (今天, 明天, 周五, 十一月三号…)."""
    return tuple(Span("date", m.group(0), m.start(), m.end()) for m in _DATE.finditer(text))
