"""Opening of the call: answering promptly, greeting with self-introduction, offering help."""
from __future__ import annotations

from qa.records import Evidence, Finding
from qa.rules.base import Rule, RuleContext


class AnswerPromptly(Rule):
    """接听及时：铃响不超过三遍（约 15 秒）即接听。

    依据振铃时长（元数据 ``ring_seconds``，或录音中可闻的回铃音 ``ringback_seconds``）；
    两者都没有时本条为 n/a。

    正例：振铃 5 秒后接起：“您好，阳光花园物业服务中心……”

    反例：振铃 22 秒（超过三遍铃声）才接听。
    """

    code = "GR01"
    name = "answer_promptly"
    family = "greeting"
    speaker_dependent = False
    config_keywords = ("max_ring_seconds",)
    fail_message = "振铃超过三遍才接听"

    def evaluate(self, ctx: RuleContext) -> Finding:
        ring = ctx.meta_float("ring_seconds")
        source = "metadata"
        if ring is None and ctx.transcript.diagnostics:
            v = ctx.transcript.diagnostics.get("ringback_seconds")
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ring, source = float(v), "ringback"
        if ring is None:
            return self.na("振铃时长未知 / ring time unknown")
        conf = 0.98 if source == "metadata" else 0.8
        if ring <= self.max_ring_seconds:
            return self.passed(conf, note=f"振铃 {ring:.0f} 秒")
        first = ctx.transcript.utterances[0] if ctx.transcript.utterances else None
        ev = [Evidence(first.speaker if first else "agent", 0.0, round(ring, 2),
                       f"振铃 {ring:.0f} 秒")]
        return self.failed(ev, conf, f"振铃 {ring:.0f} 秒才接听（应在三遍铃声约 "
                                     f"{self.max_ring_seconds:.0f} 秒内）")


class GreetingSelfIntro(Rule):
    """问候并自报家门：坐席第一句话（接听后 10 秒内）有问候语并报出服务中心/物业/公司名称或工号。

    正例：“您好，阳光花园物业服务中心，请问有什么可以帮您？”
    正例：“早上好，滨江一号物业服务中心，工号一零零三。”

    反例：“喂？”（无问候、未自报家门）
    反例：“喂，你好。”（有问候但未报名称）
    """

    code = "GR02"
    name = "greeting_self_intro"
    family = "greeting"
    config_keywords = ("window_seconds", "greeting_phrases", "organisation_phrases")
    fail_message = "开场未问候或未自报家门"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.agent:
            return self.na("没有坐席讲话 / no agent speech")
        opening = ctx.opening(self.window_seconds)
        greet = ctx.first(opening, self.greeting_phrases)
        org = ctx.first(opening, self.organisation_phrases)
        if greet and org:
            return self.passed(min(greet.confidence, org.confidence),
                               [greet.evidence(), org.evidence()])
        missing = "问候语" if not greet else "自报家门（服务中心/公司名称或工号）"
        if not greet and not org:
            missing = "问候语和自报家门"
        return self.failed([Evidence.from_utterance(opening[0])],
                           ctx.absence_confidence(opening),
                           f"开场缺少{missing}")


class OfferHelp(Rule):
    """主动询问需求：开场询问“请问有什么可以帮您”“需要帮助和服务吗”或“请讲”。

    正例：“您好，物业服务中心，请问有什么可以帮您？”
    正例：“……请问有什么需要帮助的吗？”

    反例：“您好，翠湖苑物业服务中心。”（报完名称就停下，等客户自己说）
    """

    code = "GR03"
    name = "offer_help"
    family = "greeting"
    config_keywords = ("window_seconds", "offer_phrases")
    fail_message = "开场未询问客户需要什么帮助"

    def evaluate(self, ctx: RuleContext) -> Finding:
        if not ctx.agent:
            return self.na("没有坐席讲话 / no agent speech")
        opening = ctx.opening(self.window_seconds)
        m = ctx.first(opening, self.offer_phrases)
        if m:
            return self.passed(m.confidence, [m.evidence()])
        return self.failed([Evidence.from_utterance(opening[0])],
                           ctx.absence_confidence(opening))
