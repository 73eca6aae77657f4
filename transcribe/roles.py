"""Which party of a separated mono call is the agent (坐席) and which the customer.

Only names roles (no audio). Two kinds of evidence:

* **Words** — an agent answers with a greeting and the centre's name (您好，…物业服务中心),
  offers help (请问有什么可以帮您), addresses the caller with 您/先生/女士, asks them to wait
  (请稍等), reads back data the caller gave (room, phone number), thanks for the call
  (感谢您的来电); a caller says 你们/我家/我姓…. :func:`lexical_log_odds` scores one stretch of
  text; the separation uses it per chunk, and :func:`assign_roles` per party.
* **Call structure** — on an inbound hotline call the agent speaks first after answering.

:func:`assign_roles` returns which party is the agent with a confidence (0.5-1); a caller should
treat a low confidence as "needs review", never as a silent guess.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RoleAssignment", "assign_roles", "lexical_log_odds", "read_back"]

# (pattern, log-odds that the speaker is the agent). Counted per occurrence, capped per text.
_AGENT_CUES: list[tuple[str, float]] = [
    (r"请问有什么(事情?)?(可以|能|需要)?(帮|为)(助)?您", 3.0),
    (r"(服务中心|物业客服|客服中心|服务热线|工号)", 2.0),
    (r"^您好", 0.5),
    (r"(先生|女士|阿姨|叔叔)", 0.8),
    (r"您", 0.6),
    (r"(请|麻烦)?您?稍等", 1.5),
    (r"(让您久等|感谢您的耐心等待|感谢您的来电|谢谢您的来电|感谢您的支持)", 2.5),
    (r"(给您添麻烦|非常抱歉|不好意思)", 0.8),
    (r"(登记|派单|安排师傅|师傅上门|维修师傅|跟进|反馈给|回电|回个电话)", 0.8),
    (r"(我们这边|我这边|帮您|给您|为您)", 1.0),
    (r"(您看这样可以吗|您看可以吗|对吗|对吧)", 1.0),
    (r"^好的", 0.6),
    (r"请问您?(贵姓|怎么称呼|是几栋|的地址|的电话)", 1.5),
]
_CUSTOMER_CUES: list[tuple[str, float]] = [
    (r"你们", 1.2),
    (r"(我家|我们家|我是.{0,6}(业主|住户)|我姓|我住)", 1.5),
    (r"^喂", 1.0),
    (r"是.{0,12}(物业|服务中心|客服)(吗|吧|么|嘛)", 1.5),
    (r"^你好", 0.8),
    (r"(我要投诉|我要反映|我想问|我想咨询|我想报修|怎么回事|到底)", 1.2),
    (r"^(对|对的|是的|行|可以|嗯|好)[。，！]?$", 0.5),
    (r"^谢谢", 0.5),
]
_CAP = 6.0
#: a caller checking whom they reached (是阳光物业吗?) names the centre too, but asks
_ASKS_WHO = re.compile(r"是.{0,12}(物业|服务中心|客服|公司)(吗|吧|么|嘛|啊)?[?？]|"
                       r"是.{0,12}(物业|服务中心|客服|公司)(吗|吧|么|嘛)")


def lexical_log_odds(text: str) -> float:
    """Log-odds (natural log, capped at ±6) that ``text`` was said by the agent rather than the
    customer, from the words alone; 0 when the text says nothing either way."""
    t = text.strip()
    if not t:
        return 0.0
    score = 0.0
    for pat, w in _AGENT_CUES:
        score += w * min(3, len(re.findall(pat, t)))
    for pat, w in _CUSTOMER_CUES:
        score -= w * min(3, len(re.findall(pat, t)))
    return max(-_CAP, min(_CAP, score))


_DIGITS = re.compile(r"[0-9零〇一二三四五六七八九幺两]{3,}")
_NORM = str.maketrans({"幺": "一", "〇": "零", "两": "二", "0": "零", "1": "一", "2": "二",
                       "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八",
                       "9": "九"})


def read_back(earlier: str, later: str) -> bool:
    """True when ``later`` repeats a run of ≥ 3 digits (room, phone number) that ``earlier``
    said — the agent reading back the caller's data."""
    runs = {m.translate(_NORM) for m in _DIGITS.findall(earlier)}
    said = later.translate(_NORM)
    return any(r in said for r in runs if len(r) >= 3)


@dataclass
class RoleAssignment:
    """Which party is the agent.

    Attributes:
        agent: the agent's party index (0 or 1).
        confidence: probability that this is right (0.5-1).
        evidence: what decided it, for the transcript's diagnostics.
    """

    agent: int
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)


def assign_roles(turns: list[tuple[int, str, float]], answer_s: float = 0.0) -> RoleAssignment:
    """Decide which of two parties is the agent.

    Args:
        turns: the separated call as ``(party, text, start_s)`` in time order.
        answer_s: when the call was answered (s into the recording; speech before it, such as
            a ringback tone, is ignored).

    Returns:
        A :class:`RoleAssignment`. With one party only, that party is the agent when its words
        say so (else the customer) — confidence reflects how sure the words are.
    """
    parties = sorted({p for p, _, _ in turns})
    ev: dict[str, Any] = {}
    if not turns:
        return RoleAssignment(0, 0.5, {"reason": "no speech"})
    text = {p: "".join(t for q, t, _ in turns if q == p) for p in (0, 1)}
    lex = {p: sum(lexical_log_odds(t) for q, t, _ in turns if q == p) for p in (0, 1)}
    # evidence for "party 0 is the agent", in log-odds
    words = (lex[0] - lex[1]) / 4.0
    ev["lexical"] = round(words, 2)
    after = [(p, t) for p, t, s in turns if s >= answer_s - 0.5]
    first = after[0][0] if after else turns[0][0]
    opening = 1.5 if first == 0 else -1.5
    first_text = after[0][1] if after else ""
    if re.search(r"(您好|你好).{0,20}(物业|服务中心|客服|公司|工号)|有什么.{0,4}帮", first_text) \
            and not _ASKS_WHO.search(first_text):
        opening *= 2  # the first speaker greets and names the centre: surely the agent
    ev["first_speaker"] = first
    ev["opening"] = opening
    rb = 0.0
    for (p1, t1, _), (p2, t2, _) in zip(turns, turns[1:]):
        if p1 != p2 and read_back(t1, t2):
            rb += 1.0 if p2 == 0 else -1.0
    ev["read_back"] = rb
    total = words + opening + rb
    if len(parties) == 1:
        only = parties[0]
        lo = lex[only] / 4.0
        agent = only if lo >= 0 else 1 - only
        conf = 1 / (1 + math.exp(-abs(lo)))
        return RoleAssignment(agent, round(conf, 3), {**ev, "parties": 1})
    agent = 0 if total >= 0 else 1
    conf = 1 / (1 + math.exp(-abs(total)))
    ev["chars"] = {p: len(text[p]) for p in (0, 1)}
    return RoleAssignment(agent, round(conf, 3), ev)
