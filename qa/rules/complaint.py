"""Complaint handling (投诉处理): no flat refusal, calming the caller, recording the complaint.

CP01 (response fits the complaint type) lives in ``complaint_fit.py`` with the classifier.
Rules that need the call type get it from the call's Classification; without one they are
``n/a`` with a note, except where the words themselves decide (CP02: a request was made).
"""
from __future__ import annotations

from qa.matching import normalize
from qa.records import Evidence, Finding
from qa.rules.base import ActHit, Rule, RuleContext, best_act_hit, with_act_notes

NO_TYPE = "未做通话分类，无法判断是否投诉 / no call classification"


class NoFlatRefusal(Rule):
    """不生硬拒绝：投诉或客户提出请求时，不能只说“不行/不可能/没办法/做不到”而不给原因或替代办法。

    判断：拒绝用语加剩余字数是锚点；没有原因和替代办法的拒绝由模型判断（flat_refusal 高于 refusal_reasoned）。

    判断：客户是否生气由模型对客户话语的判断决定（anger；平静地说“投诉”“给个说法”不算生气），发泄型投诉一律适用；安抚既看固定说法，也看模型（calming）。

    判断：登记用语是锚点；换了说法的“已记录并跟进”由模型判断（complaint_recorded）。

    正例：“今晚师傅都下班了，没办法上门，我先让保安过去看一下，明早八点半第一个给您修。”

    反例：“没办法。”
    """

    code = "CP02"
    name = "no_flat_refusal"
    family = "complaint"
    config_keywords = ("refusal_phrases", "exclude_phrases", "reason_phrases",
                       "min_flat_chars", "request_call_types", "request_phrases",
                       "act_threshold")
    fail_message = "生硬拒绝客户，未说明原因或给出替代办法"

    def evaluate(self, ctx: RuleContext) -> Finding:
        request = ctx.first(ctx.customer, self.request_phrases)
        if ctx.call_type not in self.request_call_types and request is None:
            return self.na("非投诉，客户也未提出请求 / no complaint or request")
        flat = []
        for u in ctx.agent:
            ms = ctx.matcher.find(u, self.refusal_phrases, exclude=self.exclude_phrases)
            if not ms:
                continue
            rest = normalize(u.text).text
            for m in ms:
                rest = rest.replace(normalize(m.text).text, "", 1)
            if len(rest) < self.min_flat_chars and not ctx.matcher.find(u, self.reason_phrases):
                flat.append(ms[0])
        anchored = {id(m.utterance) for m in flat}
        for u in ctx.agent:
            p = ctx.act(u, "flat_refusal")
            if id(u) not in anchored and p >= self.act_threshold and \
                    p > ctx.act(u, "refusal_reasoned"):
                flat.append(ActHit(ctx, u, "flat_refusal", p / 0.9))
        if not flat:
            return self.passed(ctx.absence_confidence(ctx.agent, 0.85))
        quoted = "、".join(dict.fromkeys(f"“{m.text}”" for m in flat))
        return with_act_notes(self.failed([m.evidence() for m in flat],
                                          max(m.confidence for m in flat) * 0.9,
                                          f"{self.fail_message}：{quoted}"), flat)


class CalmTheCaller(Rule):
    """安抚情绪：投诉客户在生气（发泄型，或带怒气的解决型）时，坐席设法稳定其情绪
    （“您先别着急”“请您消消气”“我非常理解您的心情”）。

    正例：“您先消消气，这么晚还被吵得睡不着，确实太影响休息了。”

    反例：客户第三次投诉漏水、明显生气，坐席只说“知道了，我登记一下”。
    """

    code = "CP03"
    name = "calm_the_caller"
    family = "complaint"
    config_keywords = ("calm_phrases", "anger_phrases", "min_anger_cues", "act_threshold")
    fail_message = "客户情绪激动，坐席未安抚"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if ctx.classification is None:
            return self.na(NO_TYPE)
        if not ctx.is_complaint:
            return self.na("非投诉电话 / not a complaint")
        t = self.act_threshold
        if ctx.has_acts:
            # anger is the caller's state, judged on their turns (投诉/说法 said calmly is no
            # anger); a listed word counts only where the model half agrees
            anger: list = [a for a in ctx.find(ctx.customer, self.anger_phrases)
                           if ctx.act(a.utterance, "anger") >= t / 2]
            # a turn of a few characters (再见！, 喂？) says too little to read a mood from
            said = [u for u in ctx.customer if len(normalize(u.text).text) >= 5]
            hit = best_act_hit(ctx, said, "anger", t)
            angry = hit is not None or len(anger) >= self.min_anger_cues
            if hit is not None:
                anger.insert(0, hit)
        else:
            anger = ctx.find(ctx.customer, self.anger_phrases)
            angry = len(anger) >= self.min_anger_cues
        if ctx.complaint_type != "vent" and not angry:
            return self.na("客户没有明显怒气 / caller not angry")
        m = ctx.first(ctx.agent, self.calm_phrases) or \
            best_act_hit(ctx, ctx.agent, "calming", t)
        if m:
            return with_act_notes(self.passed(m.confidence, [m.evidence()]), [m])
        ev = [a.evidence() for a in anger[:2]]
        if not ev and ctx.customer:
            ev = [Evidence.from_utterance(ctx.customer[0])]
        return with_act_notes(self.failed(ev, ctx.absence_confidence(ctx.agent, 0.85)),
                              anger[:1])


class RecordComplaint(Rule):
    """登记投诉：坐席告诉客户投诉已记录/登记，并会跟进（“我已经帮您登记下来了，会一直跟进”）。

    正例：“您反映的电梯问题我已经登记下来了，会一直跟进到修好为止。”

    反例：只解释合同规定，没有登记、没有跟进。
    """

    code = "CP04"
    name = "record_complaint"
    family = "complaint"
    config_keywords = ("record_phrases", "act_threshold")
    fail_message = "未告知客户投诉已登记并会跟进"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if ctx.classification is None:
            return self.na(NO_TYPE)
        if not ctx.is_complaint:
            return self.na("非投诉电话 / not a complaint")
        m = ctx.first(ctx.agent, self.record_phrases) or \
            best_act_hit(ctx, ctx.agent, "complaint_recorded", self.act_threshold)
        if m:
            return with_act_notes(self.passed(m.confidence, [m.evidence()]), [m])
        ev = [Evidence.from_utterance(ctx.agent[-1])] if ctx.agent else []
        return self.failed(ev, ctx.absence_confidence(ctx.agent, 0.85))
