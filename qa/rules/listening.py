"""Listening: not interrupting, showing one listens, asking politely to repeat."""
from __future__ import annotations

import re

from qa.matching import normalize
from qa.records import Evidence, Finding, Utterance
from qa.rules.base import ActHit, Rule, RuleContext, with_act_notes


def is_backchannel(ctx: RuleContext, u: Utterance, phrases, max_seconds: float) -> bool:
    """A short agent utterance made only of listening words (是/嗯/对/好的…)."""
    if u.duration >= max_seconds:
        return False
    rest = normalize(u.text).text
    if not rest:
        return True
    for m in sorted(ctx.matcher.find(u, phrases), key=lambda m: -len(m.text)):
        rest = rest.replace(normalize(m.text).text, "")
    return len(rest) == 0


class NoInterrupting(Rule):
    """不随意打断客户：客户说话中途坐席抢话（坐席在客户开口 ≥ 1 秒后插话、双方同时说话
    ≥ 1 秒、客户在坐席开口后 2 秒内停下）计一次打断，超过 1 次不合格。
    “是/嗯/好的/对”等简短附和（< 1.5 秒）不算打断。

    判断：生硬反问既看句式，也看对话行为模型（repeat_bare 与 repeat_polite 的比较）。

    正例：客户说完后坐席再回应；客户陈述时坐席只轻声“嗯”。

    反例：客户正在诉说垃圾三天未清运，坐席插话“不可能三天没收”，客户被迫停下，且不止一次。
    """

    code = "LI01"
    name = "no_interrupting"
    family = "listening"
    config_keywords = ("min_agent_delay", "min_overlap", "max_customer_tail",
                       "max_interruptions", "backchannel_max_seconds", "backchannel_phrases")
    fail_message = "多次在客户说话中途打断"

    def interruptions(self, ctx: RuleContext) -> list[tuple[Utterance, Utterance]]:
        out = []
        for a in ctx.agent:
            if is_backchannel(ctx, a, self.backchannel_phrases, self.backchannel_max_seconds):
                continue
            for c in ctx.customer:
                if not (c.start + self.min_agent_delay <= a.start < c.end):
                    continue
                overlap = min(a.end, c.end) - a.start
                if overlap >= self.min_overlap and c.end - a.start <= self.max_customer_tail:
                    out.append((a, c))
                    break
        return out

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.customer or not ctx.agent:
            return self.na("缺少一方讲话 / one party silent")
        hits = self.interruptions(ctx)
        if len(hits) <= self.max_interruptions:
            return self.passed(0.85, note=f"打断 {len(hits)} 次" if hits else None)
        ev = [Evidence("agent", round(a.start, 2), round(a.end, 2), a.text) for a, _ in hits]
        return self.failed(ev, 0.8, f"客户说话中途被打断 {len(hits)} 次")


class Backchannel(Rule):
    """倾听回应：客户连续讲话 ≥ 15 秒时，坐席在其间或紧接着用“是/嗯/对/好的/明白”表示在听，
    至少一半的长段陈述有回应。没有长段陈述时本条为 n/a。

    正例：客户讲述漏水经过（17 秒），坐席中间轻声“嗯”。

    反例：客户两段超过 15 秒的建议陈述，坐席全程无任何回应。
    """

    code = "LI02"
    name = "backchannel"
    family = "listening"
    config_keywords = ("min_turn_seconds", "min_share", "after_seconds",
                       "backchannel_max_seconds", "backchannel_phrases")
    fail_message = "客户长段陈述时坐席没有倾听回应"

    def turns(self, ctx: RuleContext) -> list[tuple[float, float, list[Utterance]]]:
        """Customer turns: consecutive customer utterances not separated by a real agent turn."""
        turns: list[tuple[float, float, list[Utterance]]] = []
        for c in ctx.customer:
            if turns:
                s, e, us = turns[-1]
                between = [a for a in ctx.agent if s < a.start < c.start and not
                           is_backchannel(ctx, a, self.backchannel_phrases,
                                          self.backchannel_max_seconds)]
                if c.start - e <= 1.5 and not between:
                    turns[-1] = (s, max(e, c.end), us + [c])
                    continue
            turns.append((c.start, c.end, [c]))
        return turns

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.customer:
            return self.na("没有客户讲话 / no customer speech")
        long_turns = [t for t in self.turns(ctx) if t[1] - t[0] >= self.min_turn_seconds]
        if not long_turns:
            return self.na(f"客户没有 ≥ {self.min_turn_seconds:.0f} 秒的长段陈述")
        missed = []
        for s, e, us in long_turns:
            ok = False
            for a in ctx.agent:
                inside = s < a.start < e
                after = e <= a.start <= e + self.after_seconds
                if (inside and a.duration <= self.backchannel_max_seconds) or \
                        ((inside or after) and is_backchannel(
                            ctx, a, self.backchannel_phrases, self.backchannel_max_seconds)):
                    ok = True
                    break
            if not ok:
                missed.append((s, e, us))
        share = 1 - len(missed) / len(long_turns)
        if share >= self.min_share:
            return self.passed(0.85)
        ev = [Evidence("customer", round(s, 2), round(e, 2), us[0].text[:30])
              for s, e, us in missed]
        # The recogniser often drops a soft 嗯: from ASR a missing backchannel is weak evidence.
        conf = 0.6 if ctx.from_asr else 0.8
        return self.failed(ev, conf, f"客户 {len(long_turns)} 段长陈述中有 {len(missed)} 段"
                                    f"坐席没有“嗯/是/对”等倾听回应")


class PoliteClarification(Rule):
    """礼貌澄清：没听清或没明白时，等客户讲完后礼貌地请其重复或解释
    （“不好意思，请您再说一遍”“麻烦您重复一下”），不能只说“啊？”“什么？”“你说什么”。
    坐席没有请客户重复或解释时本条为 n/a。

    正例：“不好意思，您刚才说的是九栋还是五栋？麻烦您再说一下。”

    反例：“啊？几栋？”
    """

    code = "LI03"
    name = "polite_clarification"
    family = "listening"
    config_keywords = ("clarify_phrases", "bare_patterns", "polite_phrases", "act_threshold")
    fail_message = "请客户重复时不礼貌"

    def __init__(self, **config) -> None:
        super().__init__(**config)
        try:
            self._bare_res = [re.compile(p) for p in self.bare_patterns]
        except re.error as exc:
            raise ValueError(f"{self.code}: bare_patterns: invalid regular expression: {exc}") from exc

    def evaluate(self, ctx: RuleContext) -> Finding:
        bare_res = self._bare_res
        asks, bad, hits = [], [], []
        t = self.act_threshold
        for u in ctx.agent:
            bare = next((m for r in bare_res for m in [r.search(u.text)] if m), None)
            clar = ctx.matcher.first(u, self.clarify_phrases)
            # the model adds blunt requests the patterns miss (a polite one it finds changes
            # nothing: no deduction); a lone 嗯/啊 without a question mark is listening
            p_bare, p_polite = ctx.act(u, "repeat_bare"), ctx.act(u, "repeat_polite")
            asked = p_bare >= t and p_bare > p_polite and (
                "？" in u.text or "?" in u.text or len(normalize(u.text).text) >= 3)
            if not bare and not clar and not asked:
                continue
            asks.append(u)
            polite = ctx.matcher.first(u, self.polite_phrases)
            talking = any(c.start < u.start < c.end - 0.3 for c in ctx.customer)
            if not bare and not clar:
                hits.append(ActHit(ctx, u, "repeat_bare", p_bare))
                bad.append((Evidence.from_utterance(u), "直接反问"))
            elif bare and not polite:
                bad.append((Evidence.from_utterance(u, bare.group(0).strip("，。！,.! ")
                                                    or u.text), "直接反问"))
            elif clar and not polite:
                bad.append((clar.evidence(), "未使用礼貌用语"))
            elif talking:
                bad.append((Evidence.from_utterance(u), "客户未讲完就要求重复"))
        if not asks:
            return self.na("坐席没有请客户重复或解释 / no clarification request")
        if not bad:
            return self.passed(0.85)
        why = "、".join(dict.fromkeys(w for _, w in bad))
        conf = max([ctx.absence_confidence(asks, 0.85)] + [h.confidence for h in hits])
        return with_act_notes(self.failed([e for e, _ in bad], conf,
                                          f"请客户重复或解释时{why}，应先致歉并礼貌请求"), hits)
