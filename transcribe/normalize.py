"""Text normalisation of recogniser output: script conversion, punctuation, hallucination guard,
the domain vocabulary (used by :mod:`transcribe.soundalike` and as hotwords), and the
normalisation used to score accuracy (CER).

Only text in, text out (no audio, no model).
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger("hotline_qa.transcribe.normalize")

DEFAULT_VOCABULARY = Path(__file__).with_name("vocabulary.yaml")


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # noqa: PLC0415 - opencc-python-reimplemented

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``), on whole texts: phrase-level
    conversion needs the context (word-by-word conversion leaves 覆 for 复)."""
    return _t2s().convert(text) if text else text


_PUNCT_MAP = str.maketrans({",": "，", "?": "？", "!": "！", ";": "；", ":": "："})


def chinese_punctuation(text: str) -> str:
    """Whisper writes ASCII punctuation in Chinese text: use the full-width forms (not after a
    digit or Latin letter followed by one, e.g. ``3.5``), and drop spaces between Chinese
    characters."""
    text = re.sub(r"(?<=[^\x00-\x7f])\.(?!\d)|^\.", "。", text)
    text = text.translate(_PUNCT_MAP)
    text = re.sub(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", "", text)
    return text.strip()


# --- hallucination guard -------------------------------------------------------------------
#: Texts Whisper invents over silence, music and noise (learned from subtitles), simplified.
KNOWN_HALLUCINATIONS = (
    "字幕由amara.org社群提供", "amara.org", "请不吝点赞", "点赞订阅", "订阅转发", "打赏支持",
    "明镜与点点栏目", "谢谢观看", "谢谢收看", "感谢观看", "感谢收看", "欢迎订阅", "字幕志愿者",
    "中文字幕", "字幕由", "字幕提供", "优优独播剧场", "yoyo television series exclusive",
    "李宗盛", "by索兰娅", "本节目由", "下集预告",
)
_HALLU_NORM = tuple(re.sub(r"[\s\W_]+", "", h.lower()) for h in KNOWN_HALLUCINATIONS)


def _bare(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def known_hallucination(text: str) -> bool:
    """True when the (simplified) text contains a known subtitle-style invention."""
    bare = _bare(text)
    return bool(bare) and any(h in bare for h in _HALLU_NORM)


def runaway_repetition(text: str, min_repeats: int = 4) -> bool:
    """True when a unit of 1-10 characters repeats ``min_repeats`` or more times in a row
    and makes up most of the text (e.g. 好的好的好的好的好的…, 嗯嗯嗯嗯嗯嗯)."""
    bare = _bare(text)
    if len(bare) < 8:
        return False
    for n in range(1, 11):
        m = re.search(r"(.{%d})\1{%d,}" % (n, min_repeats - 1), bare)
        if m and len(m.group(0)) >= max(8, 0.5 * len(bare)):
            return True
    return False


# --- domain vocabulary ---------------------------------------------------------------------
@dataclass
class Vocabulary:
    """Domain terms that bias and correct recognition.

    Attributes:
        hotwords: phrases given to the decoder as hotwords (prefix prompt), or empty.
        terms: known terms; a span of recognised text that sounds like one (pinyin without
            tones, with common fuzzy pairs for terms of 3+ characters) is replaced by it.
        phrases: stock phrases of the calls (是几栋几号, 给您添麻烦了); a span that sounds
            close to one is replaced by it.
        names: the company's estate and organisation names (also terms and hotwords),
            matched like phrases and more loosely right before 物业/服务中心.
        surnames: surnames, commonest first; a non-surname before 先生/女士 becomes the first
            one that sounds the same.
        corrections: explicit replacements ``wrong -> right`` applied first.
        patterns: regular-expression replacements ``(pattern, replacement)`` applied next
            (``re.sub``; keep them length-preserving so word times stay aligned).
        use_hotwords, use_correction: switches (measured on the benchmark).
    """

    hotwords: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    surnames: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    patterns: list[tuple[str, str]] = field(default_factory=list)
    use_hotwords: bool = True
    use_correction: bool = True

    @classmethod
    def load(cls, path: Path | str | None = None) -> "Vocabulary":
        """Read a vocabulary YAML (default: the one shipped in ``transcribe/``).

        Keys: ``hotwords``, ``terms``, ``phrases``, ``surnames``, ``estates``,
        ``organisations`` (lists; estates and organisations become names, terms and hotwords,
        see :meth:`with_names`), ``corrections`` (mapping),
        ``patterns`` (list of ``[regex, replacement]``), ``use_hotwords``,
        ``use_correction`` (booleans).

        Raises:
            ValueError: the file is not a mapping or a key has the wrong type.
        """
        p = Path(path) if path is not None else DEFAULT_VOCABULARY
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"词表无法读取 / cannot read vocabulary {p}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"词表格式错误 / vocabulary {p} must be a mapping")
        lists = {}
        for key in ("hotwords", "terms", "phrases", "surnames", "estates", "organisations"):
            v = data.get(key) or []
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ValueError(f"词表格式错误 / vocabulary {p}: '{key}' must be a list of strings")
            lists[key] = [x.strip() for x in v if x.strip()]
        corr = data.get("corrections") or {}
        if not isinstance(corr, dict):
            raise ValueError(f"词表格式错误 / vocabulary {p}: 'corrections' must be a mapping")
        pats = data.get("patterns") or []
        if not isinstance(pats, list) or not all(
                isinstance(x, list) and len(x) == 2 and all(isinstance(y, str) for y in x)
                for x in pats):
            raise ValueError(f"词表格式错误 / vocabulary {p}: 'patterns' must be a list of "
                             f"[pattern, replacement] pairs")
        for pat, _ in pats:
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"词表格式错误 / vocabulary {p}: bad pattern {pat!r}: {exc}") \
                    from None
        voc = cls(hotwords=lists["hotwords"], terms=lists["terms"], phrases=lists["phrases"],
                  surnames=lists["surnames"],
                  corrections={str(k): str(v) for k, v in corr.items()},
                  patterns=[(x[0], x[1]) for x in pats],
                  use_hotwords=bool(data.get("use_hotwords", True)),
                  use_correction=bool(data.get("use_correction", True)))
        return voc.with_names(lists["estates"] + lists["organisations"])

    def with_names(self, names) -> "Vocabulary":
        """This vocabulary plus the company's estate/organisation ``names`` (e.g. the
        product's configured estates): each becomes a name, a term and a hotword."""
        new = [n.strip() for n in names if n and n.strip()]
        return replace(self, hotwords=list(dict.fromkeys(self.hotwords + new)),
                       terms=list(dict.fromkeys(self.terms + new)),
                       names=list(dict.fromkeys(self.names + new)))

    def hotword_text(self) -> str | None:
        if not self.use_hotwords or not self.hotwords:
            return None
        return "，".join(self.hotwords)


# --- scoring normalisation (CER) -----------------------------------------------------------
_DIGITS = str.maketrans({"0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五",
                         "6": "六", "7": "七", "8": "八", "9": "九", "幺": "一", "〇": "零"})


def normalize_for_cer(text: str) -> str:
    """The benchmark's normalisation: simplified script, no punctuation or spaces, every digit
    written as one Chinese digit character (1002→一零零二, 幺→一), Latin letters lower-cased."""
    text = unicodedata.normalize("NFKC", to_simplified(text)).lower().translate(_DIGITS)
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")
