"""CP01: whether the agent's handling fits the complaint type (from the classifier).

The standards' 投诉应对方法 table: each complaint type asks for a different response.

* ``vent`` (纯粹发泄) — 倾听: while the caller vents the agent talks little (a low share of
  the talk time in the venting phase), does not interrupt, does not argue, and soothes.
* ``resolve`` (解决问题) — 倾听，认同并表达改善之意，及时处理与回复: the agent acknowledges,
  commits to an action, and promises a reply with a time.
* ``expectation`` (为了某种期待) — 认同并表达改善之意: the agent acknowledges and expresses
  the intent to improve.

Arguing with the caller never fits any type. The venting phase runs from the customer's
first words to the end of the last long customer turn (>= 5 s by default) that still shows
anger (anger words or exclamations), or the customer's first turn when none does.
"""
from __future__ import annotations

from classifiers.records import COMPLAINT_TYPE_ZH
from qa.records import Evidence, Finding, Utterance
from qa.rules.base import Rule, RuleContext
from qa.rules.listening import is_backchannel


class ComplaintResponseFit(Rule):
    """投诉应对方式与投诉类型相符：按《投诉应对方法》，不同投诉类型要求不同的应对。

    适用：投诉电话（类型由分类器给出）。纯粹发泄：客户发泄时坐席少说多听（发泄阶段坐席讲话
    时间占比低）、不打断、不争辩，并加以安抚；解决问题：认同客户、承诺处理并给出回复时间；
    为了某种期待：认同客户并表达改善之意。任何类型下与客户争辩都不相符。

    正例：客户发泄不满时客服耐心倾听，只轻声附和，待客户说完再说“我非常理解您的心情，您先别着急”。

    反例：客户为解决问题投诉，客服只说“知道了”，既不认同也不承诺回复时间。
    """

    code = "CP01"
    name = "complaint_response_fit"
    family = "complaint"
    config_keywords = ("acknowledge_phrases", "soothe_phrases", "improve_phrases",
                       "action_phrases", "deadline_phrases", "argue_phrases", "anger_phrases",
                       "max_agent_share_venting", "min_venting_turn_seconds", "backchannel_phrases",
                       "backchannel_max_seconds", "min_overlap", "max_interruptions_venting")
    fail_message = "投诉应对方式与投诉类型不符"

    # ---- helpers -------------------------------------------------------------------------
    def venting_window(self, ctx: RuleContext) -> tuple[float, float] | None:
        cust = [u for u in ctx.customer if u.duration > 0]
        if not cust:
            return None
        angry = [u for u in cust if u.duration >= self.min_venting_turn_seconds and (
            ctx.matcher.find(u, self.anger_phrases) or u.text.count("！") + u.text.count("!") >= 2)]
        end = (angry[-1] if angry else cust[0]).end
        return cust[0].start, end

    def agent_share(self, ctx: RuleContext, lo: float, hi: float) -> float | None:
        def inside(us: list[Utterance]) -> float:
            return sum(max(0.0, min(u.end, hi) - max(u.start, lo)) for u in us)

        a, c = inside(ctx.agent), inside(ctx.customer)
        return None if a + c <= 0 else a / (a + c)

    def interruptions(self, ctx: RuleContext, lo: float, hi: float) -> list[Utterance]:
        out = []
        for a in ctx.agent:
            if not lo <= a.start <= hi or is_backchannel(
                    ctx, a, self.backchannel_phrases, self.backchannel_max_seconds):
                continue
            if any(c.start < a.start < c.end and min(a.end, c.end) - a.start >= self.min_overlap
                   for c in ctx.customer):
                out.append(a)
        return out

    @staticmethod
    def _ev(u: Utterance, text: str | None = None) -> Evidence:
        return Evidence(u.speaker, round(u.start, 2), round(u.end, 2), text or u.text)

    # ---- the rule ------------------------------------------------------------------------
    def evaluate(self, ctx: RuleContext) -> Finding:
        if ctx.classification is None:
            return self.na("未做通话分类，无法判断投诉类型 / no call classification")
        if not ctx.is_complaint:
            return self.na("非投诉电话 / not a complaint")
        ctype = ctx.complaint_type
        if ctype not in ("resolve", "vent", "expectation"):
            return self.na("投诉类型未知 / complaint type unknown")
        if not ctx.agent:
            return self.na("没有坐席讲话 / agent silent")
        # a fit can only be as certain as the type it is judged against
        type_conf = ctx.classification.complaint_confidence or 0.7
        conf = max(0.3, min(0.95, 0.95 * type_conf))

        argue = ctx.first(ctx.agent, self.argue_phrases)
        ack = ctx.first(ctx.agent, self.acknowledge_phrases)
        missing: list[str] = []
        evidence: list[Evidence] = []
        if argue:
            missing.append(f"与客户争辩（“{argue.text}”）")
            evidence.append(argue.evidence())

        if ctype == "vent":
            win = self.venting_window(ctx)
            if win:
                share = self.agent_share(ctx, *win)
                if share is not None and share > self.max_agent_share_venting:
                    missing.append(f"客户发泄时坐席讲话占 {share:.0%}，未以倾听为主")
                cuts = self.interruptions(ctx, *win)
                if len(cuts) > self.max_interruptions_venting:
                    missing.append(f"客户发泄时打断 {len(cuts)} 次")
                    evidence += [self._ev(u) for u in cuts[:2]]
            soothe = ctx.first(ctx.agent, self.soothe_phrases)
            if not soothe:
                missing.append("未安抚客户情绪")
            good = [m for m in (soothe,) if m]
        elif ctype == "resolve":
            action = ctx.first(ctx.agent, self.action_phrases)
            deadline = ctx.first(ctx.agent, self.deadline_phrases)
            if not ack:
                missing.append("未认同客户的问题")
            if not action:
                missing.append("未承诺处理")
            if not deadline:
                missing.append("未给出回复或处理时间")
            good = [m for m in (ack, action, deadline) if m]
        else:
            improve = ctx.first(ctx.agent, self.improve_phrases)
            if not ack:
                missing.append("未认同客户")
            if not improve:
                missing.append("未表达改善之意")
            good = [m for m in (ack, improve) if m]

        zh = COMPLAINT_TYPE_ZH[ctype]
        if not missing:
            return self.passed(conf, [m.evidence() for m in good],
                               note=f"{zh}型投诉，应对相符")
        if not evidence:  # absence of the right words: point at the agent's main reply
            longest = max(ctx.agent, key=lambda u: u.duration)
            evidence.append(self._ev(longest))
        confidence = conf * (1.0 if argue else ctx.absence_confidence(ctx.agent, 1.0))
        return self.failed(evidence, confidence,
                           f"{zh}型投诉，{self.fail_message}：" + "；".join(missing))
