"""Closing the call: saying goodbye and letting the caller end the call."""
from __future__ import annotations

from qa.records import Evidence, Finding
from qa.rules.base import Rule, RuleContext


class Farewell(Rule):
    """道别：通话结束时坐席说“再见”（也可“再会”“回见”“拜拜”）。

    正例：“感谢您的来电，再见。”

    反例：“感谢您的来电。”（未道别即结束）
    """

    code = "CL01"
    name = "farewell"
    family = "closing"
    config_keywords = ("farewell_phrases", "last_turns")
    fail_message = "通话结束时未道别"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.agent:
            return self.na("没有坐席讲话 / no agent speech")
        tail = ctx.agent[-int(self.last_turns):]
        m = ctx.first(tail, self.farewell_phrases)
        if m:
            return self.passed(m.confidence, [m.evidence()])
        return self.failed([Evidence.from_utterance(ctx.agent[-1])],
                           ctx.absence_confidence(tail))


class CallerEndsCall(Rule):
    """让客户先结束通话：客户先挂机（元数据 ``hangup_by``），或录音显示客户在坐席道别后最后讲话。

    正例：坐席“再见”，客户“好，再见”，客户挂机。

    反例：坐席说完“感谢您的来电”随即挂断，客户还没说完。
    """

    code = "CL02"
    name = "caller_ends_call"
    family = "closing"
    speaker_dependent = False
    config_keywords = ("farewell_phrases", "inferred_confidence")
    fail_message = "坐席先挂机，未让客户结束通话"

    def evaluate(self, ctx: RuleContext) -> Finding:
        who = str(ctx.metadata.get("hangup_by") or "").strip().lower()
        utts = ctx.transcript.utterances
        last = utts[-1] if utts else None
        ev = [Evidence.from_utterance(last)] if last else []
        if who == "customer":
            return self.passed(0.95, ev, note="客户挂机")
        if who == "agent":
            return self.failed(ev, 0.95)
        if last is None or ctx.has_unknown:
            return self.na("不知道谁先挂机 / who ended the call is unknown")
        if last.speaker == "customer":
            return self.passed(self.inferred_confidence, ev, note="由最后讲话者推断")
        return self.failed(ev, self.inferred_confidence,
                           "坐席最后讲话后通话结束，疑似坐席先挂机（由录音推断）")
