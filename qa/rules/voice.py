"""The agent's voice: loudness and speaking rate."""
from __future__ import annotations

from qa.matching import normalize
from qa.records import Evidence, Finding, Utterance
from qa.rules.base import Rule, RuleContext


def weighted_median(values: list[tuple[float, float]]) -> float:
    """Median of (value, weight) pairs."""
    values = sorted(values)
    total = sum(w for _, w in values)
    acc = 0.0
    for v, w in values:
        acc += w
        if acc >= total / 2:
            return v
    return values[-1][0]


def level_of(utts: list[Utterance], min_seconds: float) -> float | None:
    pairs = [(u.level_dbfs, u.duration) for u in utts
             if u.level_dbfs is not None and u.duration >= min_seconds]
    if not pairs:
        pairs = [(u.level_dbfs, max(u.duration, 0.1)) for u in utts if u.level_dbfs is not None]
    return weighted_median(pairs) if pairs else None


class AgentVolume(Rule):
    """音量适中：坐席讲话的有效音量在 −35…−12 dBFS 之间，且不比客户响 10 dB 以上。
    需要录音测得的 ``level_dbfs``，纯文本转写为 n/a。

    正例：坐席 −20 dBFS，客户 −21 dBFS。

    反例：坐席 −8 dBFS（像吵架）；坐席 −40 dBFS（客户听不清）。
    """

    code = "VO01"
    name = "agent_volume"
    family = "voice"
    config_keywords = ("min_dbfs", "max_dbfs", "max_louder_than_customer_db",
                       "min_utterance_seconds")
    fail_message = "坐席音量不适中"

    def evaluate(self, ctx: RuleContext) -> Finding:
        agent = level_of(ctx.agent, self.min_utterance_seconds)
        if agent is None:
            return self.na("没有音量测量 / no level measurements")
        customer = level_of(ctx.customer, self.min_utterance_seconds)
        loud = [u for u in ctx.agent if u.level_dbfs is not None
                and u.duration >= self.min_utterance_seconds]
        if agent > self.max_dbfs:
            ev = [Evidence("agent", u.start, u.end, f"{u.level_dbfs:.1f} dBFS")
                  for u in sorted(loud, key=lambda u: -u.level_dbfs)[:3]]
            return self.failed(ev, 0.85, f"坐席音量过大（{agent:.1f} dBFS，上限 "
                                         f"{self.max_dbfs:.0f}）")
        if agent < self.min_dbfs:
            ev = [Evidence("agent", u.start, u.end, f"{u.level_dbfs:.1f} dBFS")
                  for u in sorted(loud, key=lambda u: u.level_dbfs)[:3]]
            return self.failed(ev, 0.85, f"坐席音量过小（{agent:.1f} dBFS，下限 "
                                         f"{self.min_dbfs:.0f}）")
        if customer is not None and agent - customer > self.max_louder_than_customer_db:
            ev = [Evidence("agent", u.start, u.end, f"{u.level_dbfs:.1f} dBFS")
                  for u in loud[:3]]
            return self.failed(ev, 0.8, f"坐席比客户响 {agent - customer:.0f} dB，"
                                        f"听起来像在吵架")
        return self.passed(0.85, note=f"坐席 {agent:.1f} dBFS")


class AgentSpeechRate(Rule):
    """语速适中：坐席每秒 2.0–5.5 字（约 120–330 字/分钟，按讲话时间计）。

    正例：每秒约 3.5 字，客户听得清、跟得上。

    反例：每秒 7 字以上，客户跟不上。
    """

    code = "VO02"
    name = "agent_speech_rate"
    family = "voice"
    config_keywords = ("min_chars_per_second", "max_chars_per_second", "min_voiced_seconds")
    fail_message = "坐席语速不适中"

    def evaluate(self, ctx: RuleContext) -> Finding:
        chars, seconds = 0, 0.0
        for u in ctx.agent:
            n = len(normalize(u.text).text)
            if not n:
                continue
            chars += n
            if u.words:
                seconds += sum(max(0.0, w.end - w.start) for w in u.words)
            else:
                seconds += u.duration
        if seconds < self.min_voiced_seconds:
            return self.na("坐席讲话太少，无法计算语速 / too little agent speech")
        rate = chars / seconds
        note = f"每秒 {rate:.1f} 字"
        if self.min_chars_per_second <= rate <= self.max_chars_per_second:
            return self.passed(0.85, note=note)
        fastest = max(ctx.agent, key=lambda u: len(normalize(u.text).text) /
                      max(u.duration, 0.3))
        slow = rate < self.min_chars_per_second
        return self.failed([Evidence.from_utterance(fastest)], 0.8,
                           f"坐席语速过{'慢' if slow else '快'}（{note}，应在 "
                           f"{self.min_chars_per_second:g}–{self.max_chars_per_second:g} 字之间）")
