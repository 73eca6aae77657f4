"""Service points (服务要点): confirming, empathy, deadlines, thanks, message taking,
suggestions, referrals and escalation."""
from __future__ import annotations

import re

from qa import numbers
from qa.matching import normalize
from qa.records import Evidence, Finding, Utterance
from qa.rules.base import Rule, RuleContext, best_act_hit, with_act_notes

_NUM = numbers.NUMERAL_CLASS  # a digit as said or written, 十/百/千 too
_CLOCK = re.compile(rf"[{_NUM}半]+(?:点|个小时|小时|分钟|个工作日|工作日|个星期|天|周)(?:半|钟)?"
                    rf"(?:之内|以内|内|之前|以前|前|左右)?")


def _first_turn(ctx: RuleContext) -> list[Evidence]:
    """The customer's first turn (or the agent's), as evidence of what the call was about."""
    first = (ctx.customer or ctx.agent or [None])[0]
    return [Evidence.from_utterance(first)] if first is not None else []


def after_opening(ctx: RuleContext) -> list[Utterance]:
    opening = {id(u) for u in ctx.opening(10.0)}
    return [u for u in ctx.agent if id(u) not in opening]


class ConfirmUnderstanding(Rule):
    """确认客户听明白：解答或给出安排后，确认客户是否清楚、是否认可
    （“您看这样可以吗”“您清楚了吗”“还有什么不明白的吗”）。复述号码时的“对吗”不算。

    判断：确认用语是锚点；换了说法的确认由对话行为模型判断（check_understanding）。

    判断：客户是否反映问题由模型对客户话语的判断决定（problem），列出的问题词须得到模型一定程度的认可；理解或歉意既看固定说法，也看模型（empathy / calming）。

    判断：具体时间按时间表达式识别，也看对话行为模型（deadline）；“有空就去”“有结果通知”等不算。

    判断：客户是否提意见建议由模型判断（suggestion）；感谢并表示改进既看固定说法，也看模型（thanks_suggestion）。

    判断：超出范围既看单位名称，也看模型判断的转介（referral）；致歉与去处既看固定说法，也看模型。

    判断：超出权限的要求既看固定说法，也看模型对客户话语的判断（beyond_authority）；上报并承诺回复既看固定说法，也看模型（escalation）。

    正例：“……周五之前安排修剪，您看这样可以吗？”

    反例：解答完缴费方式就结束，从未确认客户是否听明白。
    """

    code = "SV01"
    name = "confirm_understanding"
    family = "service"
    config_keywords = ("min_answer_chars", "confirm_phrases", "exclude_phrases",
                       "act_threshold")
    fail_message = "解答后未确认客户是否清楚明白"

    def evaluate(self, ctx: RuleContext) -> Finding:
        body = after_opening(ctx)
        answers = [u for u in body if len(normalize(u.text).text) >= self.min_answer_chars]
        if not answers:
            return self.na("坐席没有解答或安排 / no explanation given")
        m = ctx.first(body, self.confirm_phrases, exclude=self.exclude_phrases) or \
            best_act_hit(ctx, body, "check_understanding", self.act_threshold)
        if m:
            return with_act_notes(self.passed(m.confidence, [m.evidence()]), [m])
        longest = max(answers, key=lambda u: len(u.text))
        return self.failed([Evidence.from_utterance(longest)], ctx.absence_confidence(body))


class Empathy(Rule):
    """表示理解：投诉电话，或客户说出遇到的问题、不便时，坐席对客户的困扰表示理解或歉意
    （“我理解您的心情”“给您添麻烦了”“非常抱歉”）。单纯咨询为 n/a。

    正例：“哎呀，马上要做晚饭了，给您带来不便了。”

    反例：客户说老人差点在黑楼道踩空，坐席只问“几单元？”，没有任何歉意或理解。
    """

    code = "SV02"
    name = "empathy"
    family = "service"
    config_keywords = ("problem_phrases", "empathy_phrases", "exclude_phrases",
                       "act_threshold")
    fail_message = "客户反映问题时未表示理解或歉意"

    def evaluate(self, ctx: RuleContext) -> Finding:
        t = self.act_threshold
        if ctx.has_acts:
            # "the caller voices a problem" is a judgement of the caller's turns, not a
            # trigger word: a listed word only counts where the model half agrees
            problem = best_act_hit(ctx, ctx.customer, "problem", t)
            if problem is None:
                problem = next((m for m in ctx.find(ctx.customer, self.problem_phrases,
                                                    whole=False)
                                if ctx.act(m.utterance, "problem") >= t / 2), None)
        else:
            problem = ctx.first(ctx.customer, self.problem_phrases, whole=False)
        if not ctx.is_complaint and problem is None:
            return self.na("客户未反映问题或不便 / no problem voiced")
        m = ctx.first(ctx.agent, self.empathy_phrases, exclude=self.exclude_phrases) or \
            best_act_hit(ctx, ctx.agent, "empathy", t) or \
            best_act_hit(ctx, ctx.agent, "calming", t)
        if m:
            return with_act_notes(self.passed(m.confidence, [m.evidence()]), [m])
        ev = [problem.evidence()] if problem else _first_turn(ctx)
        return self.failed(ev, ctx.absence_confidence(ctx.agent))


class DeadlineWhenDeferred(Rule):
    """告知反馈期限：不能当场答复或解决（需要核实、登记、派单、转交、上报）时，
    告诉客户什么时候有答复或上门（今天下午、明天上午、X 个工作日内、X 小时内）。

    正例：“我给您派个水电师傅，今天下午五点半之前上门。”

    反例：“等师傅有空了就过去给您看看。”“有结果会通知您。”（没有时间）
    """

    code = "SV03"
    name = "deadline_when_deferred"
    family = "service"
    config_keywords = ("defer_phrases", "deadline_phrases", "vague_phrases", "act_threshold")
    fail_message = "推后处理却未告知客户反馈或上门时间"

    def evaluate(self, ctx: RuleContext) -> Finding:
        agent = ctx.agent
        first = next((i for i, u in enumerate(agent)
                      if ctx.matcher.find(u, self.defer_phrases)), None)
        if first is None:
            return self.na("坐席当场答复，没有推后处理 / nothing deferred")
        scope = agent[max(0, first - 1):]
        for u in scope:
            m = _CLOCK.search(u.text)
            if m:
                return self.passed(0.9, [Evidence.from_utterance(u, m.group(0))])
        m = ctx.first(scope, self.deadline_phrases) or \
            best_act_hit(ctx, scope, "deadline", self.act_threshold)
        if m:
            return with_act_notes(self.passed(m.confidence * 0.95, [m.evidence()]), [m])
        defer = ctx.matcher.first(agent[first], self.defer_phrases)
        ev = [defer.evidence()] if defer else []
        vague = ctx.first(scope, self.vague_phrases)
        if vague:
            ev.append(vague.evidence())
            msg = f"只说“{vague.text}”，未告知客户具体的反馈或上门时间"
        else:
            msg = self.fail_message
        return self.failed(ev, ctx.absence_confidence(scope), msg)


class ThanksForCall(Rule):
    """感谢来电：坐席感谢客户来电或支持（“感谢您的来电”“谢谢您的来电”“感谢您的支持”）。

    正例：“好的，感谢您的来电，再见。”

    反例：“不客气，再见。”
    """

    code = "SV04"
    name = "thanks_for_call"
    family = "service"
    config_keywords = ("thanks_phrases",)
    fail_message = "未感谢客户来电"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.agent:
            return self.na("没有坐席讲话 / no agent speech")
        m = ctx.first(ctx.agent, self.thanks_phrases)
        if m:
            return self.passed(m.confidence, [m.evidence()])
        last = ctx.agent[-1]
        return self.failed([Evidence.from_utterance(last)], ctx.absence_confidence(ctx.agent))


class MessageTaking(Rule):
    """留言与复核：报修、投诉、建议等需要后续跟进的电话，坐席要记下姓名、电话、地址/房号和事项，
    并复述关键信息（至少电话或房号）请客户核对。数字按中文读法归一后比较（幺/一、两/二、洞/零）。

    正例：“林先生，十二栋一八零一，电话就是您现在这个幺三七，六幺五三，八二零四，对吗？”

    反例：报修只问了楼号就结束，没有留姓名和电话，也没有复述核对。
    """

    code = "SV05"
    name = "message_taking"
    family = "service"
    config_keywords = ("applies_call_types", "follow_up_phrases", "callback_phrases",
                       "name_phrases",
                       "phone_phrases", "address_phrases")
    fail_message = "留言登记不完整或未复述核对"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if ctx.classification is not None:
            # Any call where the agent promises to call back also leaves a message.
            applies = ctx.call_type in self.applies_call_types or \
                ctx.first(ctx.agent, self.callback_phrases) is not None
        else:
            applies = ctx.first(ctx.agent, self.follow_up_phrases) is not None
        if not applies:
            return self.na("无需留言或后续跟进 / nothing to follow up")
        cust_text = [u.text for u in ctx.customer]
        name = any(numbers.surnames(t) for t in cust_text) or \
            ctx.first(ctx.agent, self.name_phrases) is not None
        phone = any(numbers.phone_numbers(u.text) for u in ctx.transcript.utterances
                    if u.speaker in ("agent", "customer")) or \
            ctx.first(ctx.agent, self.phone_phrases) is not None
        address = any(numbers.address_parts(t) for t in cust_text) or \
            ctx.first(ctx.agent, self.address_phrases) is not None
        readback = self._readback(ctx)
        missing = [w for w, ok in (("姓名", name), ("电话", phone), ("地址/房号", address))
                   if not ok]
        if not missing and readback is not None:
            return self.passed(0.9, [readback])
        parts = []
        if missing:
            parts.append("未登记" + "、".join(missing))
        if readback is None:
            parts.append("未复述电话或房号请客户核对")
        ev = [Evidence.from_utterance(ctx.agent[-1])] if ctx.agent else []
        return self.failed(ev, ctx.absence_confidence(ctx.agent, 0.85), "；".join(parts))

    @staticmethod
    def _readback(ctx: RuleContext) -> Evidence | None:
        caller = numbers.digits_of(str(ctx.metadata.get("caller_number") or ""))
        said_phones: set[str] = {caller} if len(caller) >= 7 else set()
        said_addr: set[tuple[str, str]] = set()
        for u in ctx.transcript.utterances:
            if u.speaker == "customer":
                said_phones.update(p.value for p in numbers.phone_numbers(u.text))
                said_addr.update((a.kind, a.value) for a in numbers.address_parts(u.text))
            elif u.speaker == "agent":
                for p in numbers.phone_numbers(u.text):
                    if any(p.value[-7:] == s[-7:] for s in said_phones):
                        return Evidence.from_utterance(u, u.text[p.begin:p.end])
                # A read-back the recogniser garbled in one digit still shows its pieces:
                # the last four digits, or six or more digits of the number in a row.
                for r in numbers.digit_runs(u.text, 4):
                    if any(s.endswith(r.value) or (len(r.value) >= 6 and r.value in s)
                           for s in said_phones):
                        return Evidence.from_utterance(u, u.text[r.begin:r.end])
                parts = numbers.address_parts(u.text)
                hit = [a for a in parts if (a.kind, a.value) in said_addr]
                if any(a.kind == "room" for a in hit) or len(hit) >= 2:
                    b, e = min(a.begin for a in hit), max(a.end for a in hit)
                    return Evidence.from_utterance(u, u.text[b:e])
        return None


class ThankSuggestion(Rule):
    """感谢建议：客户提出意见或建议（含与以前、与别的小区的比较）时，坐席感谢客户的关心和支持，
    并表示会改进或转达。

    正例：“谢谢您的建议，也感谢您对我们的关心和支持，这个我们一定改进。”

    反例：客户建议规范养犬，坐席只说“知道了”。
    """

    code = "SV06"
    name = "thank_suggestion"
    family = "service"
    config_keywords = ("suggestion_phrases", "thanks_phrases", "improve_phrases",
                       "act_threshold")
    fail_message = "客户提出意见建议时未致谢或未表示改进"

    def evaluate(self, ctx: RuleContext) -> Finding:
        t = self.act_threshold
        # the listed cues (建议, comparisons with the former company or other estates) are
        # certain; the model adds suggestions worded otherwise
        cue = ctx.first(ctx.customer, self.suggestion_phrases) or \
            best_act_hit(ctx, ctx.customer, "suggestion", t)
        typed = ctx.call_type == "suggestion" or ctx.complaint_type == "expectation"
        if cue is None and not typed:
            return self.na("客户未提意见或建议 / no suggestion")
        both = best_act_hit(ctx, ctx.agent, "thanks_suggestion", t)
        if both:
            return with_act_notes(self.passed(both.confidence, [both.evidence()]), [both])
        thanks = ctx.first(ctx.agent, self.thanks_phrases)
        improve = ctx.first(ctx.agent, self.improve_phrases)
        if thanks and improve:
            return self.passed(min(thanks.confidence, improve.confidence), [thanks.evidence()])
        what = "致谢" if not thanks else "表示改进或转达"
        if not thanks and not improve:
            what = "致谢，也未表示改进或转达"
        ev = [cue.evidence()] if cue else _first_turn(ctx)
        return self.failed(ev, ctx.absence_confidence(ctx.agent),
                           f"客户提出意见建议，坐席未{what}")


class OutOfScopeReferral(Rule):
    """超出服务范围时致歉并指引：事项不归物业管（燃气、宽带、供电、快递……）时，
    坐席先致歉，再告诉客户该找哪里、拨打什么电话。

    正例：“不好意思，燃气表是燃气公司负责的，您可以拨打燃气公司热线九六七七七。”

    反例：“宽带是电信负责的，物业管不了。”（未致歉、未给电话）
    """

    code = "SV07"
    name = "out_of_scope_referral"
    family = "service"
    config_keywords = ("outside_phrases", "scope_phrases", "apology_phrases",
                       "referral_phrases", "act_threshold")
    fail_message = "超出服务范围时未致歉或未告知去处"

    def evaluate(self, ctx: RuleContext) -> Finding:
        agent = ctx.agent
        t = self.act_threshold
        idx = None
        for i, u in enumerate(agent):
            if ctx.matcher.find(u, self.outside_phrases) and any(
                    ctx.matcher.find(v, self.scope_phrases) for v in agent[i:i + 2]):
                idx = i
                break
            # sending the caller to another organisation says it is not the centre's matter,
            # whichever organisation is named (a neighbour's number is a leak, not a referral)
            if ctx.act(u, "referral") >= max(t, 0.7) and ctx.act(u, "disclosure") < 0.3:
                idx = i
                break
        if idx is None:
            return self.na("事项在服务范围内 / within the centre's scope")
        near = agent[max(0, idx - 1): idx + 3]
        apology = ctx.first(near, self.apology_phrases) or \
            best_act_hit(ctx, near, "apology", t)
        referral = ctx.first(near, self.referral_phrases) or \
            best_act_hit(ctx, near, "referral", t)
        number = next((u for u in near if len(numbers.digits_of(u.text)) >= 3), None)
        if apology and (referral or number):
            return with_act_notes(self.passed(apology.confidence, [apology.evidence()]),
                                  [apology, referral])
        missing = []
        if not apology:
            missing.append("致歉")
        if not (referral or number):
            missing.append("告知应联系的单位或电话")
        return self.failed([Evidence.from_utterance(agent[idx])],
                           ctx.absence_confidence(near),
                           "超出服务范围时未" + "、".join(missing))


class EscalateBeyondAuthority(Rule):
    """超出权限及时上报并告知：客户的要求超出坐席权限（赔偿、减免、通融、跨部门纠纷）时，
    坐席说明会上报主管，并告诉客户会回复。

    正例：“补偿这个我做不了主，我马上报给主管，今天下午五点前给您回电话。”

    反例：客户要求通融免费停车，坐席自己答复“不行，规定就是这样”，未上报。
    """

    code = "SV08"
    name = "escalate_beyond_authority"
    family = "service"
    config_keywords = ("request_phrases", "authority_phrases", "escalate_phrases",
                       "callback_phrases", "act_threshold")
    fail_message = "超出权限的要求未上报或未告知会回复"

    def evaluate(self, ctx: RuleContext) -> Finding:
        t = self.act_threshold
        request = ctx.first(ctx.customer, self.request_phrases) or \
            best_act_hit(ctx, ctx.customer, "beyond_authority", t)
        authority = ctx.first(ctx.agent, self.authority_phrases)
        escalate = ctx.first(ctx.agent, self.escalate_phrases)
        promised = best_act_hit(ctx, ctx.agent, "escalation", t)
        if not (request or authority or escalate or promised):
            return self.na("没有超出权限的要求 / nothing beyond authority")
        if promised:
            return with_act_notes(self.passed(promised.confidence, [promised.evidence()]),
                                  [promised, request])
        callback = ctx.first(ctx.agent, self.callback_phrases)
        if escalate and callback:
            return self.passed(min(escalate.confidence, callback.confidence),
                               [escalate.evidence(), callback.evidence()])
        missing = [w for w, ok in (("上报", escalate), ("告知会回复", callback)) if not ok]
        ev = [(request or authority or escalate).evidence()]
        return self.failed(ev, ctx.absence_confidence(ctx.agent, 0.85),
                           "客户的要求超出权限，坐席未" + "、".join(missing))
