"""Call-reason discovery: why people call, grouped into topics from the callers' own words.

The hotline hears the same matters again and again (漏水, 物业费, 噪音, 停车 …) in ever
different words. This module turns the calls of a period into a short list of topics a
supervisor can read, follow from week to week, and name:

* :func:`caller_reason` — the caller's stated reason: the customer's first substantive
  turns of a call (greetings, 喂/你好, backchannels and bare address answers skipped).
* :func:`discover` — TF-IDF over jieba words of the reasons (stop words, numbers, room
  numbers, estate names and politeness words removed, so topics are about the matter),
  non-negative matrix factorisation (NMF) with an automatic number of topics, and for each
  topic its top terms, a readable label (top terms joined with ·), size, share, call ids and
  the calls nearest to it. Reasons that fit no topic well go to the *remainder* (其他), which
  is reported separately and never forced into a topic.
* :func:`discover_by_estate` — the same per estate (小区); estates with too few calls get none.
* :func:`by_week` — the reasons cut into ISO weeks.
* :func:`compare` — week-on-week change: each topic of this period matched to last period's
  by term similarity, marked ``new`` / ``growing`` / ``shrinking`` / ``steady``; the topics
  that disappeared are listed apart.
* :func:`apply_names` — names and merges a supervisor gave (:class:`NamedTopic`, stored
  elsewhere) applied to a new period's topics: a topic whose terms match a named topic's
  signature takes its name, topics that map to the same name are merged into one.

Everything here is a pure function of plain records: storage, scheduling and the web pages
live elsewhere.

Example::

    docs = [ReasonDoc(c.call_id, c.day, c.estate, caller_reason(c.utterances)) for c in calls]
    this_week = apply_names(discover(docs), named)
    for change in compare(this_week, last_week):
        print(change.topic.title, change.topic.size, change.status_zh)

Choices (measured with ``bench/topics.py`` and ``tests/qa/test_topics.py``):

* Features: jieba words (the repository's tokenizer, :func:`classifiers.features.tokenize`,
  so the global jieba dictionary is not touched) plus the matter characters inside them
  (水, 吵, 车 …): jieba cuts one matter into different words (漏水/渗水/滴水, 太吵/吵得/声太吵)
  and the characters link them. Without them: the tests' generator at 2 100 reasons gives
  11 topics for 7 matters instead of 7; the second writer at 5 000 reasons keeps purity
  (0.94 against 0.91) but coverage falls from 0.88 to 0.71; the classifier corpus falls
  from purity 0.69 / coverage 0.61 to 0.45 / 0.50.
* Number of topics: the cosine silhouette over k = 2…12 only grew with k on every data
  set tried (it rewards ever tighter groups of one wording), so it always picked the
  largest k; the knee of the reconstruction error missed small matters. Instead NMF is
  over-fitted (up to 48 components) and the components merged while their reasons' mean
  pairwise cosine is at least 0.08 (average linkage; parts of one matter measured
  0.08-0.19, different matters below 0.07). Against NMF with 12 components and no merging:
  second writer purity 0.91 against 0.80, a skewed week 7 of 7 matters found against 5,
  corpus purity 0.69 against 0.51.
* NMF (NNDSVDa start) against k-means (3 restarts) as the over-fitted first step: the same
  figures on the generated reasons; on the corpus k-means gave purity 0.68-0.77 over five
  seeds, NMF 0.69 with no seed to depend on.
* Time: 5 000 reasons in about 1-2 s on two cores (tokenising about half of it).
"""
from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qa.numbers import NUMERAL_CLASS

__all__ = [
    "REMAINDER_LABEL", "STATUSES", "STATUS_ZH", "NamedTopic", "ReasonDoc", "Topic",
    "TopicChange", "TopicChanges", "Topics", "apply_names", "by_week", "caller_reason", "compare",
    "default_estates", "discover", "discover_by_estate", "merge", "reason_terms",
    "similarity",
]

log = logging.getLogger("hotline_qa.topics")

#: Label and key of the remainder: the reasons that fit no topic.
REMAINDER_LABEL = "其他"
#: Week-on-week statuses of a topic and how they are shown.
STATUSES: tuple[str, ...] = ("new", "growing", "shrinking", "steady")
STATUS_ZH = {"new": "本周新出现", "growing": "增多", "shrinking": "减少", "steady": "持平"}

#: Number of top terms kept as a topic's signature vector (matching across periods).
SIGNATURE_TERMS = 20
#: Number of top terms shown (``Topic.terms``) and that make the key.
TOP_TERMS = 5


# ------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class ReasonDoc:
    """One call's stated reason, the unit topics are made of.

    Attributes:
        call_id: the call's id (reported back in :attr:`Topic.call_ids` and examples).
        day: the day of the call (periods are cut by it, e.g. :func:`by_week`; not used by
            :func:`discover`).
        estate: the estate (小区) of the call, or ``None`` when unknown.
        text: the caller's reason, e.g. from :func:`caller_reason`.
    """

    call_id: str
    day: date
    estate: str | None
    text: str


@dataclass
class Topic:
    """One topic of a period: a matter callers raise, with its size and examples.

    Attributes:
        key: stable signature: the top terms sorted and joined with ``|``
            (the same matter in another period usually gets the same key; use
            :func:`similarity` of :attr:`vector` to match robustly).
        terms: the top terms with their weights (largest first, at most 5; weights are the
            components of the unit-length :attr:`vector`).
        label: readable Chinese name made of the top 2-3 terms joined with ``·``
            (e.g. ``漏水·天花板·卫生间``).
        size: number of calls in the topic.
        call_ids: the calls, nearest to the topic first.
        examples: up to 3 ``(call_id, reason)`` nearest the topic.
        share: ``size`` over all reasons of the period (the remainder included), 0-1.
        vector: the topic's term weights (top 20 terms, unit length): its signature for
            :func:`compare` and :func:`apply_names`.
        name: the name a supervisor gave (:func:`apply_names`), or ``None``.
        estate: the estate the topic was discovered in (:func:`discover_by_estate`), or
            ``None`` for all estates together.
        merged_keys: keys of the topics merged into this one (:func:`apply_names`); empty
            when nothing was merged.
    """

    key: str
    terms: list[tuple[str, float]]
    label: str
    size: int
    call_ids: list[str]
    examples: list[tuple[str, str]]
    share: float
    vector: dict[str, float] = field(default_factory=dict)
    name: str | None = None
    estate: str | None = None
    merged_keys: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """What to show: the supervisor's name, else the automatic label."""
        return self.name or self.label

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (:meth:`from_dict` reads it back unchanged)."""
        return {"key": self.key, "label": self.label, "name": self.name, "title": self.title,
                "size": self.size, "share": self.share,
                "terms": [[t, w] for t, w in self.terms], "vector": dict(self.vector),
                "call_ids": list(self.call_ids),
                "examples": [[c, t] for c, t in self.examples],
                "estate": self.estate, "merged_keys": list(self.merged_keys)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Topic":
        return cls(key=str(d["key"]), terms=[(str(t), float(w)) for t, w in d["terms"]],
                   label=str(d["label"]), size=int(d["size"]),
                   call_ids=[str(c) for c in d.get("call_ids", [])],
                   examples=[(str(c), str(t)) for c, t in d.get("examples", [])],
                   share=float(d["share"]),
                   vector={str(t): float(w) for t, w in (d.get("vector") or {}).items()},
                   name=d.get("name"), estate=d.get("estate"),
                   merged_keys=[str(k) for k in d.get("merged_keys", [])])


class Topics(list):
    """The topics of one period (a ``list`` of :class:`Topic`, largest first) and what
    :func:`discover` reports beside them.

    Attributes:
        remainder: the reasons that fit no topic (label 其他), or ``None`` when every
            reason found a topic. Its ``terms``/``vector`` are empty.
        n_docs: number of reasons the topics were made from (the remainder included).
        estate: the estate (``None``: all estates together).
        components: the number of NMF components fitted before merging (0: none).
    """

    def __init__(self, topics: Iterable[Topic] = (), *, remainder: Topic | None = None,
                 n_docs: int = 0, estate: str | None = None, components: int = 0) -> None:
        super().__init__(topics)
        self.remainder = remainder
        self.n_docs = n_docs
        self.estate = estate
        self.components = components

    def like(self, topics: Iterable[Topic]) -> "Topics":
        """New topics with this period's remainder, size and estate."""
        return Topics(topics, remainder=self.remainder, n_docs=self.n_docs,
                      estate=self.estate, components=self.components)


@dataclass
class TopicChange:
    """How one topic of this period compares with the previous period.

    Topics of the two periods whose term vectors are similar are the same matter; one matter
    may be one topic in one week and two in the next (a new way of saying it, more calls), so
    the comparison is made between *families*: the current topics and previous topics
    linked by similarity, directly or through each other. Every current topic of a family
    gets the family's status and figures.

    Attributes:
        topic: the topic of this period.
        status: ``new`` (no similar topic last period), ``growing``, ``shrinking`` or
            ``steady``.
        previous: the most similar topic of the previous period, or ``None`` when new.
        similarity: cosine similarity of ``topic`` and ``previous`` (0 when new).
        previous_topics: the previous topics of the family, most similar first.
        family: keys of the current topics of the family (``topic`` included).
        size: calls of the family this period.
        previous_size: calls of the family last period (``None`` when new).
        expected_size: last period's share times this period's number of reasons: the
            family's size had nothing changed (``None`` when new).
        share_change: the family's share this period minus last period's (``None`` when new).
    """

    topic: Topic
    status: str
    previous: Topic | None = None
    similarity: float = 0.0
    previous_topics: list[Topic] = field(default_factory=list)
    family: list[str] = field(default_factory=list)
    size: int = 0
    previous_size: int | None = None
    expected_size: float | None = None
    share_change: float | None = None

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.topic.key, "title": self.topic.title, "size": self.topic.size,
                "status": self.status, "status_zh": self.status_zh,
                "previous_key": self.previous.key if self.previous else None,
                "similarity": round(self.similarity, 4),
                "previous_keys": [p.key for p in self.previous_topics],
                "family": list(self.family), "family_size": self.size,
                "previous_size": self.previous_size,
                "expected_size": None if self.expected_size is None
                else round(self.expected_size, 2),
                "share_change": None if self.share_change is None
                else round(self.share_change, 4)}


class TopicChanges(list):
    """The changes of each current topic (a ``list`` of :class:`TopicChange`, in the order of
    the current topics) and, in :attr:`disappeared`, the previous topics that matched none."""

    def __init__(self, changes: Iterable[TopicChange] = (), *,
                 disappeared: Iterable[Topic] = ()) -> None:
        super().__init__(changes)
        self.disappeared = list(disappeared)


@dataclass(frozen=True)
class NamedTopic:
    """A supervisor's name for a topic, kept for later periods (stored elsewhere).

    Attributes:
        name: the name shown instead of the automatic label (e.g. ``楼上漏水``).
        terms: the signature: term weights of the topic that was named (its
            :attr:`Topic.vector`); a later topic whose vector is similar takes the name.
        merged_into: the name of another named topic this one was merged into, or
            ``None``; topics matching this signature are then counted under that name.
    """

    name: str
    terms: dict[str, float]
    merged_into: str | None = None

    @classmethod
    def from_topic(cls, topic: Topic, name: str | None = None,
                   merged_into: str | None = None) -> "NamedTopic":
        """The signature of ``topic`` under ``name`` (default: its current title)."""
        return cls(name or topic.title, dict(topic.vector or dict(topic.terms)), merged_into)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "terms": dict(self.terms), "merged_into": self.merged_into}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NamedTopic":
        return cls(str(d["name"]), {str(k): float(v) for k, v in (d.get("terms") or {}).items()},
                   d.get("merged_into") or None)


# ------------------------------------------------------------------------------ reasons
_HAN = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_SPLIT = re.compile(r"(?<=[，,。．.！!？?；;、…~～])|\s+")
_PUNCT = re.compile(r"[\s，,。．.！!？?；;、…~～：:\"“”'‘’（）()\-—]+")
_NUMERAL = NUMERAL_CLASS + "万几"  # numerals as said, written, and rough (几)
# Address answers: 九栋二单元一零零二, 3号楼502, 我姓周, 周先生.
_ADDRESS = re.compile(rf"[{_NUMERAL}]+(栋|幢|号楼|号|楼|单元|层|室|户|期|座|区)?|我?姓.|"
                      r"[\u4e00-\u9fff]?(先生|女士|小姐|阿姨|师傅)")
# Whole clauses that carry no reason: greetings, backchannels, "is this the property office?".
_FILLER = ("喂", "哎", "诶", "欸", "唉", "嗯", "啊", "哦", "噢", "喔", "呃", "额", "嗨", "哈",
           "那个", "这个", "就是", "对", "对的", "是", "是的", "好", "好的", "行", "可以",
           "没事", "没错", "你好", "您好", "你们好", "早上好", "下午好", "晚上好", "在吗",
           "有人吗", "请问", "麻烦", "麻烦你", "麻烦您", "谢谢", "谢谢你", "谢谢您", "打扰",
           "打扰一下", "打扰了", "不好意思", "hello", "hi", "喂喂", "听得到吗", "听得见吗",
           "能听到吗", "听到了吗", "嗯嗯", "对对", "好好", "是是", "我说", "是这样", "是这样的",
           "这样的", "跟你说", "跟您说", "我跟你说", "我跟您说", "是这么回事", "我问一下",
           "我想问一下", "问一下", "我想问问", "想问一下", "我想咨询一下", "咨询一下",
           "我想反映一下", "反映一下", "我想反映个问题", "我要反映一下", "我反映个问题",
           "我想说一下", "说一下")
_FILLER_RE = re.compile("^(?:" + "|".join(sorted(map(re.escape, _FILLER), key=len, reverse=True))
                        + ")+$", re.IGNORECASE)
_OPENER_RE = re.compile(r"^(请问)?(你们|你|您)?(这里|这边|那边)?(是|就是)(不是)?.{0,8}"
                        r"(物业|服务中心|客服|管理处|前台|物管)(吗|吧|呀|啊|嘛|对吧)?$")
# An agent's opening line, for calls whose parties are not separated.
_AGENT_OPENING = re.compile(r"有什么(可以|需要)?(帮|为)您|为您服务|工号|请问您贵姓|感谢您的来电")


def _get(u: Any, key: str, default: Any = None) -> Any:
    if isinstance(u, Mapping):
        return u.get(key, default)
    return getattr(u, key, default)


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_SPLIT.split(text or "") if c and c.strip()]


def _bare(clause: str) -> str:
    return _PUNCT.sub("", clause)


def _is_filler(clause: str) -> bool:
    b = _bare(clause)
    return not b or bool(_FILLER_RE.match(b) or _OPENER_RE.match(b))


def _substance(text: str) -> int:
    """Chinese characters left once fillers, numbers and address answers are removed."""
    kept = "".join(c for c in _clauses(text) if not _is_filler(c))
    return len(_HAN.findall(_ADDRESS.sub("", kept)))


def caller_reason(utterances: Iterable[Any], *, min_chars: int = 60, max_chars: int = 100,
                  max_turns: int = 3, min_substance: int = 4) -> str:
    """The caller's stated reason: the customer's first substantive turns, in time order.

    Parameters
    ----------
    utterances : iterable of :class:`~qa.records.Utterance` or dict
        The call's turns; each has ``speaker`` (``agent`` / ``customer`` / ``unknown``),
        ``start`` (seconds) and ``text`` (attributes or keys, e.g. rows from the database).
    min_chars : int, default=60
        Turns are taken until the reason has at least this many characters.
    max_chars : int, default=100
        The reason is cut at the last clause boundary before this many characters (a single
        longer clause is cut at ``max_chars``).
    max_turns : int, default=3
        At most this many substantive turns are taken (later turns answer the agent rather
        than state the reason).
    min_substance : int, default=4
        A turn counts when it has at least this many Chinese characters besides greetings
        (喂, 你好), backchannels (嗯, 对), "is this the property office?" and bare address or
        name answers (九栋二单元一零零二, 我姓周).

    Returns
    -------
    str
        The reason, clauses joined as spoken (greeting and backchannel clauses dropped);
        ``""`` when the customer said nothing substantive. When no turn is marked
        ``customer`` (parties not separated), the non-agent turns are read, without the
        agent's opening lines.
    """
    utts = sorted((u for u in utterances if str(_get(u, "text", "") or "").strip()),
                  key=lambda u: float(_get(u, "start", 0.0) or 0.0))
    turns = [str(_get(u, "text")) for u in utts if _get(u, "speaker") == "customer"]
    if not turns:
        turns = [str(_get(u, "text")) for u in utts if _get(u, "speaker") != "agent"
                 and not _AGENT_OPENING.search(str(_get(u, "text")))]
    out: list[str] = []
    length = 0
    taken = 0
    full = False
    for turn in turns:
        if full or length >= min_chars or taken >= max_turns:
            break
        if _substance(turn) < min_substance:
            continue
        taken += 1
        # 喂，你好。我家…好的谢谢 → 我家…
        for c in (c.strip() for c in _clauses(turn) if not _is_filler(c)):
            if length + len(c) > max_chars:
                if not out:                     # one long clause: cut it
                    out.append(c[:max_chars])
                full = True
                break
            out.append(c)
            length += len(c)
    return _join(out)


def _join(clauses: list[str]) -> str:
    text = ""
    for c in clauses:
        if text and not re.search(r"[，,。．.！!？?；;、…~～]$", text):
            text += "，"
        text += c
    return text


# ------------------------------------------------------------------------------ terms
# Words that say nothing about the matter: function words, pronouns, time words, politeness,
# the parties and the organisation, generic verbs of calling and asking.
_STOP = set("""
的 了 吗 呢 吧 啊 呀 哦 嗯 哎 喂 噢 哈 嘛 啦 么 着 过 得 地 和 与 及 或 跟 同 在 是 有 没 没有
不 不是 也 都 就 还 又 再 才 很 太 挺 更 最 蛮 非常 特别 比较 真的 实在 一直 一下 一下子 一点
一些 一个 一次 一天 一趟 这 那 这个 那个 这些 那些 这样 那样 这么 那么 这边 那边 这里 那里
这儿 那儿 哪 哪里 哪儿 哪个 什么 怎么 怎么样 怎样 为什么 为啥 多少 几 谁 我 你 您 他 她 它 我们
你们 他们 她们 咱们 咱 俺 自己 大家 人家 别人 我家 我们家 你们家 家里 家 就是 还是 但是 可是
所以 因为 然后 而且 如果 要是 的话 虽然 不过 其实 反正 或者 以及 还有 另外 比如 现在 今天 昨天
前天 明天 后天 上午 下午 晚上 早上 中午 半夜 凌晨 刚才 刚刚 已经 马上 赶紧 赶快 尽快 一样 好像
感觉 觉得 知道 看看 看 说 讲 问 问问 想 要 想要 需要 能 能不能 可以 可不可以 会 让 给 把 被 帮
帮忙 帮帮忙 过来 下来 起来 出来 上来 进来 回来 过去 来 去 到 做 弄 搞 办 事 事情 问题 情况
东西 时候 地方 样子 办法 处理 解决 反映 反应 咨询 了解 确认 打电话 电话 联系 回复 回电话 打
物业 你们物业 物业公司 服务中心 物业服务中心 客服 客服中心 管理处 前台 管家 业主 小区 花园 家园
住 住户 先生 女士 小姐 阿姨 大爷 师傅 你好 您好 你们好 谢谢 谢谢你 谢谢您 麻烦 麻烦你 麻烦您
请问 请 打扰 不好意思 对不起 抱歉 好的 好 对 对的 是的 行 嗯嗯 哦哦 呃 额 啥 咋 呗 之 其 中 里
上 下 前 后 边 面 点 个 位 种 些 次 回 遍 天 月 年 号 栋 楼 单元 室 层 楼层 号楼 本 该 每 各 另
能够 应该 必须 一定 肯定 可能 估计 大概 差不多 一般 总是 老是 经常 好几 好多 很多 不少 所有 全部
已 未 没人 有人 有没有 是不是 对不对 行不行 好不好 吧 嘛 呀 哇 喽 咯 啰 得了 算了 而已 罢了
我想 我要 想问 问下 一问 请教 说下 讲下 说说 讲讲 告诉 通知 知道了 明白 清楚 听说 据说
出去 进去 上去 下去 过去 回去 起来 开始 结果 一直在 还在 正在 发现 看到 看见 听到 遇到 碰到
我住 家住 住在 时间 时候 一会 等下 待会
天天 每天 每次 每个 以前 之前 以后 之后 后来 平时 最近 在家 工作 配合 方便 不方便 突然 领导
不管 没人管 管不管 怎么办 不行 很大 太大 好几天 几天 好几次 几次 上次 这次 下次 两次 反复 多久
什么时候 希望 要求 答复 说法 负责 投诉 意见 建议 人管 早就 记下 记着 按时
不能 到底 全是 根本 上交 本来 居然 竟然 简直 真是 老是 一直都
""".split())
# Single characters that do name a matter (the others are dropped).
_MEANINGFUL_CHARS = set("水电漏吵堵臭脏狗猫车灯门锁树草鼠蚊虫票卡费钱暖热冷晃响烟火墙窗网占堆砸贵涨"
                        "税蟑渗裂霉吠")
# Characters that name one matter wherever they occur: a word containing one also counts
# as the character, so that 漏水/渗水/滴水, 太吵/吵得/声太吵 and 车位/停车/车库 look alike to
# the model (jieba cuts the same matter into different words). 电 (电梯/停电), 门
# (门禁/电梯门), 费 (物业费/停车费) and 修 (维修 of anything) are left out: they join matters.
_SUBWORD_CHARS = set("水漏渗滴吵堵臭脏车灯锁鼠蚊虫蟑票暖晃响烟墙窗网狗猫吠霉裂")
_NUMERIC_TOKEN = re.compile(rf"^[{_NUMERAL}.点半:：%]+[栋幢号楼层室户期座区元块毛角点分天月日年次个回遍位"
                            rf"岁斤米平方周礼拜星期小时钟多来余整]*$")
_ADDRESS_TOKEN = re.compile(rf"^[{_NUMERAL}栋幢号楼层室户单元期座区]+$")
_PERSON_TOKEN = re.compile(r"^.{1,2}(先生|女士|小姐|阿姨|师傅|大爷|大姐|经理|主任)$|^[我您你]?姓.?$")
# Compounds jieba keeps whole that hide the matter word (开发票 = 开 + 发票).
_SPLIT = {"开发票": ["发票"], "开张发票": ["发票"], "又坏了": ["坏了"],
          "交物业费": ["物业费"], "缴物业费": ["物业费"]}


@lru_cache(maxsize=1)
def default_estates() -> tuple[str, ...]:
    """The company's estate and organisation names: ``estates`` of
    ``qa/config/reports.yaml`` and ``estates``/``organisations`` of
    ``transcribe/vocabulary.yaml`` (missing or unreadable files give nothing)."""
    import yaml

    here = Path(__file__).resolve()
    names: list[str] = []
    for path, keys in ((here.with_name("config") / "reports.yaml", ("estates",)),
                       (here.parents[1] / "transcribe" / "vocabulary.yaml",
                        ("estates", "organisations"))):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("cannot read estate names from %s: %s", path, exc)
            continue
        for k in keys:
            names += [str(x).strip() for x in data.get(k) or [] if str(x).strip()]
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=8)
def _estate_pattern(estates: tuple[str, ...]) -> re.Pattern[str] | None:
    names = sorted({e for e in estates if e}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names))) if names else None


def _keep(tok: str) -> bool:
    if tok in _STOP or _NUMERIC_TOKEN.match(tok) or _ADDRESS_TOKEN.match(tok) or \
            _PERSON_TOKEN.match(tok):
        return False
    if len(tok) == 1:
        return tok in _MEANINGFUL_CHARS
    if tok.isascii():
        return tok.isalpha()
    return bool(_HAN.search(tok))


def reason_terms(text: str, estates: Sequence[str] = ()) -> list[str]:
    """The words of a reason that can name its matter (the tokens topics are made of).

    jieba words (:func:`classifiers.features.tokenize`, the repository's tokenizer) without
    stop words, greetings and politeness words, numbers and room numbers (九栋, 1002),
    person words (周先生), single characters that carry no meaning (single characters such
    as 水, 电, 漏, 吵 are kept) and the names in ``estates`` (removed from the text first,
    with :func:`default_estates`).

    >>> reason_terms("喂你好，我家卫生间天花板在漏水")
    ['卫生间', '天花板', '漏水']
    """
    from classifiers.features import tokenize

    pattern = _estate_pattern(tuple(estates) + default_estates())
    if pattern is not None:
        text = pattern.sub("，", text)
    out: list[str] = []
    for tok in tokenize(text):
        tok = tok.lower()
        for t in _SPLIT.get(tok, (tok,)):
            if _keep(t):
                out.append(t)
    return out


# ------------------------------------------------------------------------------ discovery
def _analyzer(tokens: list[str]) -> list[str]:
    """The features of a reason: its words, and the matter characters inside longer words
    (``_SUBWORD_CHARS``; module level so that nothing needs a lambda)."""
    return tokens + [c for w in tokens if len(w) > 1 for c in w if c in _SUBWORD_CHARS]


def _unit_rows(M: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(M, axis=1)
    return M / np.where(n > 0, n, 1.0)[:, None]


def _fit_nmf(X, k: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """NMF of the TF-IDF matrix (NNDSVDa start: deterministic)."""
    import warnings

    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=k, init="nndsvda", solver="cd", beta_loss="frobenius",
                max_iter=300, tol=1e-4, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    return W, model.components_


def _nmf_labels(W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Each reason's component: the one contributing most to its reconstruction."""
    return (W * np.linalg.norm(H, axis=1)[None, :]).argmax(axis=1)


def _compact(label: np.ndarray) -> np.ndarray:
    """The groups renumbered 0…k-1 in the same order, empty numbers dropped."""
    _, inverse = np.unique(label, return_inverse=True)
    return inverse.astype(int)


def _sums(X, label: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the (unit) TF-IDF rows of each group 0…k-1 and the group sizes (at least 1);
    rows labelled outside 0…k-1 count nowhere."""
    from scipy import sparse

    ok = (label >= 0) & (label < k)
    G = sparse.csr_matrix((np.ones(int(ok.sum())), (label[ok], np.flatnonzero(ok))),
                          shape=(k, X.shape[0]))
    S = np.asarray((G @ X).todense())
    counts = np.bincount(label[ok], minlength=k).astype(float)
    return S, np.maximum(counts, 1)


def _own_fit(X, label: np.ndarray, k: int) -> np.ndarray:
    """Each reason's cosine with the centroid of the *other* reasons of its group (leave one
    out: a reason alike no other would otherwise fit its group by its own weight, about
    1/sqrt(size)); 0 for reasons without a group (-1) or alone in theirs."""
    S, _ = _sums(X, label, k)
    XS = np.asarray(X @ S.T)
    n2 = (S * S).sum(axis=1)
    out = np.zeros(X.shape[0])
    idx = np.flatnonzero(label >= 0)
    g = label[idx]
    xs = XS[idx, g]
    self2 = np.asarray(X[idx].multiply(X[idx]).sum(axis=1)).ravel()
    rest2 = n2[g] - 2 * xs + self2
    ok = rest2 > 1e-9
    out[idx[ok]] = (xs[ok] - self2[ok]) / np.sqrt(rest2[ok])
    return out


def _centroids(X, label: np.ndarray, k: int) -> np.ndarray:
    """Unit-length mean TF-IDF vector of each group (zero rows for empty groups)."""
    return _unit_rows(_sums(X, label, k)[0])




def discover(docs: Sequence[ReasonDoc], *, n_topics: int | None = None, max_topics: int = 12,
             min_size: int = 2, min_fit: float = 0.2, merge_threshold: float = 0.08,
             docs_per_component: int = 8, max_components: int | None = None,
             estates: Sequence[str] = (),
             random_state: int = 0) -> Topics:
    """Group the reasons of a period into topics.

    1. Features: the reasons' words (:func:`reason_terms`) and the matter characters inside
       them (水 of 漏水/渗水/滴水, 吵 of 太吵/吵得, 车 of 车位/停车: jieba cuts one matter into
       different words), weighted by TF-IDF (sublinear term frequency, unit rows); features
       of a single reason are dropped, and a reason left with no word goes to the remainder.
    2. Components: NMF (NNDSVDa start, deterministic) into more components than topics are
       wanted — one per ``docs_per_component`` reasons, at most ``max_components`` — so
       that small matters get one of their own; each reason joins the component that
       explains most of it.
    3. Merging: every reason moves to the nearest group centroid, then the two groups whose
       reasons are most alike (mean cosine over all pairs of their reasons) merge, while that
       mean is at least ``merge_threshold``, and again: one matter said in different words
       splits into several components, different matters share almost no words. This
       fixes the number of topics (when ``n_topics`` is ``None``).
    4. The remainder: a reason whose cosine with the centroid of the *other* reasons of its
       topic is below ``min_fit`` fits no topic (其他). Topics under ``min_size`` calls, and
       beyond the ``max_topics`` largest, are dissolved: their reasons join the nearest
       remaining topic they fit, or the remainder.

    Topic vectors, terms and labels come from the topic's centroid (mean TF-IDF: frequent
    *and* distinctive words); examples are the reasons nearest to it.

    Parameters
    ----------
    docs : sequence of ReasonDoc
        The period's reasons (empty texts are allowed: they go to the remainder).
    n_topics : int or None, default=None
        Number of NMF components, taken as the topics without merging (step 3 is skipped);
        ``None`` lets the merging choose the number.
    max_topics : int, default=12
        Most topics reported.
    min_size : int, default=2
        Least calls of a topic.
    min_fit : float, default=0.2
        Least cosine of a reason with the centroid of its topic's other reasons.
    merge_threshold : float, default=0.08
        Least mean cosine between the reasons of two topics for them to merge (higher:
        more, narrower topics). On the benchmark's reasons, parts of one matter have a mean
        of 0.08-0.19 and different matters below 0.07.
    docs_per_component : int, default=8
        Reasons per NMF component fitted before merging.
    max_components : int or None, default=None
        Most NMF components before merging; ``None``: ``4 * max_topics``.
    estates : sequence of str
        Estate names removed from the words besides :func:`default_estates` and the docs'
        own ``estate`` values.
    random_state : int, default=0
        Passed to scikit-learn's NMF (the NNDSVDa start uses no randomness: the result is
        the same for the same input whatever the seed).

    Returns
    -------
    Topics
        The topics, largest first (ties by key), with ``remainder`` (其他), ``n_docs`` and
        ``components`` (NMF components fitted).

    Raises
    ------
    ValueError
        ``n_topics``, ``max_topics``, ``min_size``, ``docs_per_component`` or
        ``max_components`` below 1.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    if n_topics is not None and n_topics < 1:
        raise ValueError(f"n_topics must be at least 1, got {n_topics}")
    if max_topics < 1 or min_size < 1 or docs_per_component < 1 or \
            (max_components is not None and max_components < 1):
        raise ValueError(f"max_topics, min_size, docs_per_component and max_components must "
                         f"be at least 1, got {max_topics}, {min_size}, {docs_per_component}, "
                         f"{max_components}")
    docs = list(docs)
    n = len(docs)
    if n == 0:
        return Topics(n_docs=0)
    names = tuple(estates) + tuple(sorted({d.estate for d in docs if d.estate}))
    tokens = [reason_terms(d.text, names) for d in docs]
    everything_else = Topics(remainder=_remainder(docs, range(n), n), n_docs=n)
    if sum(1 for t in tokens if t) < max(2, min_size):
        return everything_else
    vec = TfidfVectorizer(analyzer=_analyzer, min_df=2 if n >= 10 else 1, max_df=0.95,
                          sublinear_tf=True)
    try:
        X = vec.fit_transform(tokens)
    except ValueError:          # no term left after min_df/max_df
        return everything_else
    vocab = vec.get_feature_names_out()
    # A reason none of whose words occurs in another reason goes to the remainder even when
    # a character inside one of them does (二手自行车 → 车 would make it a perfect parking fit).
    known = vec.vocabulary_
    has_word = np.array([1.0 if any(w in known for w in t) else 0.0 for t in tokens])
    X = sparse.csr_matrix(sparse.diags(has_word) @ X)
    X.eliminate_zeros()
    rows = np.flatnonzero(np.asarray(X.getnnz(axis=1)) > 0)
    if len(rows) < max(2, min_size):
        return everything_else
    Xr = X[rows]

    # 2. components: NMF, each reason to the component that explains most of it
    if n_topics is not None:
        k_fit = max(1, min(n_topics, len(rows), Xr.shape[1]))
    else:
        most = max_components if max_components is not None else 4 * max_topics
        k_fit = max(1, min(most, len(rows) // docs_per_component, Xr.shape[1]))
    W, H = _fit_nmf(Xr, k_fit, random_state)
    label = _compact(_nmf_labels(W, H))
    # 3. every reason to the nearest group centroid; then the two groups whose reasons are
    #    most alike merge, while their mean pairwise cosine is at least merge_threshold
    while True:
        k = int(label.max()) + 1
        C = _centroids(Xr, label, k)
        label = _compact(np.asarray(Xr @ C.T).argmax(axis=1))
        k = int(label.max()) + 1
        if n_topics is not None or k < 2:
            break
        S, counts = _sums(Xr, label, k)
        B = (S @ S.T) / np.outer(counts, counts)
        np.fill_diagonal(B, -1.0)
        i, j = np.unravel_index(int(B.argmax()), B.shape)
        if B[i, j] < merge_threshold:
            break
        label[label == max(i, j)] = min(i, j)
        label = _compact(label)
    C = _centroids(Xr, label, k)
    # 4. the remainder (a reason alike none of its topic's other reasons), then topics too
    #    small or beyond max_topics dissolved
    label[_own_fit(Xr, label, k) < min_fit] = -1
    sim = np.asarray(Xr @ C.T)
    alive = set(range(k))
    while alive:
        counts = {t: int((label == t).sum()) for t in alive}
        order = sorted(alive, key=lambda t: (counts[t], -t))
        if counts[order[0]] >= min_size and len(alive) <= max_topics:
            break
        t = order[0]
        alive.discard(t)
        idx = np.flatnonzero(label == t)
        if idx.size and alive:
            keep = np.array(sorted(alive))
            s = sim[np.ix_(idx, keep)]
            j = s.argmax(axis=1)
            label[idx] = np.where(s[np.arange(idx.size), j] >= min_fit, keep[j], -1)
        else:
            label[idx] = -1
    C = _centroids(Xr, label, k)
    own = _own_fit(Xr, label, k)

    topics = []
    for t in sorted(alive):
        idx = np.flatnonzero(label == t)
        c = C[t]
        top = np.argsort(-c, kind="stable")[:SIGNATURE_TERMS]
        vector = {str(vocab[i]): float(c[i]) for i in top if c[i] > 0}
        near = idx[np.argsort(-own[idx], kind="stable")]
        topics.append(_make_topic(vector, [docs[rows[i]] for i in near], n))
    topics.sort(key=lambda tp: (-tp.size, tp.key))
    in_topic = np.zeros(n, dtype=bool)
    in_topic[rows[label >= 0]] = True
    rest = np.flatnonzero(~in_topic).tolist()
    log.debug("topics: %d reasons, %d components, %d topics, %d in the remainder", n, k_fit,
              len(topics), len(rest))
    return Topics(topics, remainder=_remainder(docs, rest, n) if rest else None, n_docs=n,
                  components=k_fit)


def _label(terms: list[tuple[str, float]]) -> str:
    """The top 2-3 terms joined with ·; the third only when it weighs at least half the first.
    Of a term and a word containing it (水 and 漏水) only the word is kept."""
    chosen: list[str] = []
    top = terms[0][1] if terms else 0.0
    for t, w in terms:
        inside = [i for i, c in enumerate(chosen) if c in t]
        if inside:                      # 漏 chosen, now 漏水: the word replaces it
            chosen = [t if i == inside[0] else c for i, c in enumerate(chosen)
                      if i == inside[0] or i not in inside]
            continue
        if any(t in c for c in chosen):
            continue
        if len(chosen) >= 2 and w < 0.5 * top:
            break
        chosen.append(t)
        if len(chosen) == 3:
            break
    return "·".join(chosen) or REMAINDER_LABEL


def _top_terms(vector: Mapping[str, float]) -> list[tuple[str, float]]:
    """The top terms to show: words; a matter character counted inside words (狗 of 大狗 and
    养狗) only when it outweighs every word and none of the words shown contains it."""
    ranked = sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))
    words = [(t, w) for t, w in ranked if not (len(t) == 1 and t in _SUBWORD_CHARS)]
    shown = words[:TOP_TERMS]
    heaviest = shown[0][1] if shown else 0.0
    chars = [(t, w) for t, w in ranked if len(t) == 1 and t in _SUBWORD_CHARS
             and w >= heaviest and not any(t in x for x, _ in shown)]
    return sorted(shown + chars, key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]


def _make_topic(vector: dict[str, float], members: Sequence[ReasonDoc], n_docs: int,
                **extra: Any) -> Topic:
    terms = _top_terms(vector)
    return Topic(key="|".join(sorted(t for t, _ in terms)), terms=terms, label=_label(terms),
                 size=len(members), call_ids=[d.call_id for d in members],
                 examples=[(d.call_id, d.text) for d in members[:3]],
                 share=len(members) / n_docs if n_docs else 0.0, vector=vector, **extra)


def _remainder(docs: Sequence[ReasonDoc], idx: Iterable[int], n_docs: int) -> Topic:
    members = [docs[i] for i in idx]
    return Topic(key=REMAINDER_LABEL, terms=[], label=REMAINDER_LABEL, size=len(members),
                 call_ids=[d.call_id for d in members],
                 examples=[(d.call_id, d.text) for d in members if d.text.strip()][:3],
                 share=len(members) / n_docs if n_docs else 0.0)


def discover_by_estate(docs: Sequence[ReasonDoc], *, min_docs: int = 20,
                       **kwargs: Any) -> dict[str | None, Topics]:
    """:func:`discover` per estate.

    Parameters
    ----------
    docs : sequence of ReasonDoc
        The period's reasons of all estates.
    min_docs : int, default=20
        Estates with fewer reasons get no topics (an empty :class:`Topics` whose remainder
        holds their calls): too few calls make topics of single calls.
    **kwargs
        Passed on to :func:`discover`.

    Returns
    -------
    dict
        Estate (``None``: calls of unknown estate) → its topics, each topic's ``estate`` set;
        estates in order of first appearance.
    """
    groups: dict[str | None, list[ReasonDoc]] = defaultdict(list)
    for d in docs:
        groups[d.estate].append(d)
    out: dict[str | None, Topics] = {}
    for estate, group in groups.items():
        if len(group) < min_docs:
            rem = _remainder(group, range(len(group)), len(group))
            out[estate] = Topics(remainder=replace(rem, estate=estate), n_docs=len(group),
                                 estate=estate)
            continue
        found = discover(group, **kwargs)
        out[estate] = Topics([replace(t, estate=estate) for t in found],
                             remainder=None if found.remainder is None
                             else replace(found.remainder, estate=estate),
                             n_docs=found.n_docs, estate=estate,
                             components=found.components)
    return out


def by_week(docs: Iterable[ReasonDoc]) -> dict[str, list[ReasonDoc]]:
    """The reasons by ISO week (``YYYY-Www``, e.g. ``2026-W47``, as in
    :func:`qa.assessment.iso_week_range`), weeks in order: the periods :func:`compare`
    takes two of."""
    out: dict[str, list[ReasonDoc]] = defaultdict(list)
    for d in docs:
        year, week, _ = d.day.isocalendar()
        out[f"{year}-W{week:02d}"].append(d)
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------ matching
def similarity(a: Mapping[str, float] | Topic, b: Mapping[str, float] | Topic) -> float:
    """Cosine similarity of two term-weight vectors (a :class:`Topic` stands for its
    :attr:`~Topic.vector`, or its ``terms`` when it has none), 0-1."""
    va = _vec(a)
    vb = _vec(b)
    dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
    na = math.sqrt(sum(w * w for w in va.values()))
    nb = math.sqrt(sum(w * w for w in vb.values()))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0


def _vec(x: Mapping[str, float] | Topic) -> Mapping[str, float]:
    if isinstance(x, Topic):
        return x.vector or dict(x.terms)
    return x


def _families(current: Sequence[Topic], previous: Sequence[Topic], threshold: float
               ) -> tuple[list[int], np.ndarray]:
    """Connected components of the similarity links between the two periods' topics
    (similarity at least ``threshold``, or the same supervisor's name). Returns the family of
    each topic (current first, then previous) and the similarity matrix."""
    nc, np_ = len(current), len(previous)
    sim = np.zeros((nc, np_))
    parent = list(range(nc + np_))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, c in enumerate(current):
        for j, p in enumerate(previous):
            sim[i, j] = similarity(c, p)
            if sim[i, j] >= threshold or (c.name is not None and c.name == p.name):
                sim[i, j] = max(sim[i, j], threshold)
                a, b = find(i), find(nc + j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(nc + np_)], sim


def compare(current: Sequence[Topic], previous: Sequence[Topic], *, threshold: float = 0.4,
            min_ratio: float = 1.5, min_change: int = 3) -> TopicChanges:
    """Week-on-week change of each current topic.

    Parameters
    ----------
    current, previous : sequence of Topic
        This period's and the previous period's topics (e.g. from :func:`discover`, after
        :func:`apply_names`; topics with the same name always match).
    threshold : float, default=0.4
        Least cosine similarity of term vectors for topics of the two periods to be the same
        matter. Linked topics form a family (see :class:`TopicChange`), compared as a whole.
    min_ratio : float, default=1.5
        ``growing`` needs the family's share to grow by at least this factor (``shrinking``:
        fall by it); shares make periods of different volume comparable.
    min_change : int, default=3
        ``growing``/``shrinking`` also need the family's size to differ from the expected size
        (previous share × this period's reasons) by at least this many calls, so that 1 → 2
        calls is ``steady``.

    Returns
    -------
    TopicChanges
        One :class:`TopicChange` per current topic, in their order; ``disappeared`` lists the
        previous topics linked to no current topic.

    Raises
    ------
    ValueError
        ``min_ratio`` below 1 or ``min_change`` below 0.
    """
    if min_ratio < 1 or min_change < 0:
        raise ValueError(f"min_ratio must be >= 1 and min_change >= 0, got {min_ratio}, "
                         f"{min_change}")
    current, previous = list(current), list(previous)
    nc = len(current)
    fam, sim = _families(current, previous, threshold)
    members: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i in range(nc):
        members[fam[i]][0].append(i)
    for j in range(len(previous)):
        members[fam[nc + j]][1].append(j)
    changes = []
    for i, c in enumerate(current):
        cur_idx, prev_idx = members[fam[i]]
        family = [current[x].key for x in cur_idx]
        size = sum(current[x].size for x in cur_idx)
        if not prev_idx:
            changes.append(TopicChange(c, "new", family=family, size=size))
            continue
        prev_idx = sorted(prev_idx, key=lambda j: (-sim[i, j], j))
        prev = [previous[j] for j in prev_idx]
        share_now = sum(current[x].share for x in cur_idx)
        share_then = sum(p.share for p in prev)
        n_now = c.size / c.share if c.share > 0 else float(size)
        expected = share_then * n_now
        delta = size - expected
        if share_now >= share_then * min_ratio and delta >= min_change:
            status = "growing"
        elif share_now * min_ratio <= share_then and -delta >= min_change:
            status = "shrinking"
        else:
            status = "steady"
        changes.append(TopicChange(c, status, previous=prev[0],
                                   similarity=float(sim[i, prev_idx[0]]), previous_topics=prev,
                                   family=family, size=size,
                                   previous_size=sum(p.size for p in prev),
                                   expected_size=expected, share_change=share_now - share_then))
    linked = {fam[nc + j] for j in range(len(previous))} & {fam[i] for i in range(nc)}
    return TopicChanges(changes, disappeared=[p for j, p in enumerate(previous)
                                              if fam[nc + j] not in linked])


# ------------------------------------------------------------------------------ names
def _final_name(name: str, named: Mapping[str, NamedTopic]) -> str:
    """Follow ``merged_into`` to the name a topic is counted under (cycles stop)."""
    seen = {name}
    while True:
        nt = named.get(name)
        if nt is None or not nt.merged_into or nt.merged_into in seen:
            return name
        name = nt.merged_into
        seen.add(name)


def apply_names(topics: Sequence[Topic], named: Iterable[NamedTopic], *,
                threshold: float = 0.5) -> list[Topic]:
    """Give topics the supervisor's names and merge the topics that share one.

    Parameters
    ----------
    topics : sequence of Topic
        A period's topics (a :class:`Topics` keeps its remainder and size in the result).
    named : iterable of NamedTopic
        The names kept from earlier periods. A topic takes the name of the named topic whose
        signature is most similar to its term vector, when at least ``threshold``; a named
        topic ``merged_into`` another gives that other's name (followed to the end).
    threshold : float, default=0.5
        Least cosine similarity of a topic's vector and a signature.

    Returns
    -------
    list of Topic
        The topics, each with at most one name; topics with the same name merged into one
        (sizes, shares and call ids summed; examples of all kept, largest part first; vector
        the size-weighted mean; ``merged_keys`` the parts' keys), largest first. A
        :class:`Topics` in gives a :class:`Topics` out.
    """
    by_name: dict[str, NamedTopic] = {}
    for nt in named:
        by_name[nt.name] = nt
    out: list[Topic] = []
    groups: dict[str, list[Topic]] = {}
    for t in topics:
        best, best_s = None, threshold
        for nt in by_name.values():
            s = similarity(t, nt.terms)
            if s >= best_s and (best is None or s > best_s or nt.name < best.name):
                best, best_s = nt, s
        if best is None:
            out.append(t)
            continue
        final = _final_name(best.name, by_name)
        groups.setdefault(final, []).append(t)
    for name, parts in groups.items():
        out.append(_merge_parts(parts, name))
    out.sort(key=lambda tp: (-tp.size, tp.key))
    return topics.like(out) if isinstance(topics, Topics) else out


def _merge_parts(parts: list[Topic], name: str) -> Topic:
    if len(parts) == 1:
        return replace(parts[0], name=name)
    parts = sorted(parts, key=lambda tp: (-tp.size, tp.key))
    total = sum(p.size for p in parts)
    acc: dict[str, float] = defaultdict(float)
    for p in parts:
        for term, w in _vec(p).items():
            acc[term] += w * p.size / max(total, 1)
    norm = math.sqrt(sum(w * w for w in acc.values())) or 1.0
    top = sorted(acc.items(), key=lambda kv: (-kv[1], kv[0]))[:SIGNATURE_TERMS]
    vector = {t: w / norm for t, w in top}
    terms = _top_terms(vector)
    return Topic(key="|".join(sorted(t for t, _ in terms)), terms=terms, label=_label(terms),
                 size=total, call_ids=[c for p in parts for c in p.call_ids],
                 examples=[e for p in parts for e in p.examples],
                 share=sum(p.share for p in parts), vector=vector, name=name,
                 estate=parts[0].estate,
                 merged_keys=[k for p in parts for k in (p.merged_keys or [p.key])])


def merge(target: Topic, others: Iterable[Topic], name: str | None = None) -> list[NamedTopic]:
    """The named topics that record a supervisor's merge of ``others`` into ``target``.

    ``target`` is named ``name`` (default: its title); each other topic's signature is
    kept under its own title with ``merged_into`` the target's name, so later topics like
    either are counted as one (:func:`apply_names`). Store the result with the other names.
    """
    into = name or target.title
    out = [NamedTopic.from_topic(target, into)]
    for o in others:
        own = o.title if o.title != into else f"{o.title}（并入{into}）"
        out.append(NamedTopic.from_topic(o, own, merged_into=into))
    return out
