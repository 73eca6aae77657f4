"""Politeness and the forbidden behaviours: holds, honorifics, conflict, shirking, gossip,
privacy (禁止行为 1, 3, 4, 6 are red lines)."""
from __future__ import annotations

import re

from qa import numbers
from qa.matching import asr_confidence, scale_confidence
from qa.records import Evidence, Finding, Utterance
from qa.rules.base import ActHit, Rule, RuleContext, act_hits, best_act_hit, with_act_notes

_PLATE = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z]|车牌")
# The agent reading the caller's own details back for confirmation (您现在这个号码…对吗？).
# Both: the caller's own details (您现在这个…, 您登记的…, 跟您核对一下…) and a question asking
# them to confirm; an utterance about a third person (隔壁、楼上…) is never one.
_READ_BACK = re.compile(r"(?:您(?:现在|的|家|这个|登记|留的|预留|报的)|核对|确认一下)"
                        r".*(?:对吗|是吗|对吧|是吧|对不对|没错吧|是不是)[？?。]?\s*$")
_QUESTION_END = re.compile(r"(吗|呢|吧|？|\?)\s*[。！!]?\s*$")


class HoldEtiquette(Rule):
    """让客户等待的礼仪：等待前致歉并请客户稍等；等待 20 秒以上后感谢客户耐心等待。

    适用：坐席说完话后出现 ≥ 5 秒无人讲话的等待（查询、联系同事），或坐席请客户稍等。
    坐席提问后客户思考造成的停顿不算。

    判断：致歉、请客户稍等、感谢等待既看固定说法，也看对话行为模型对每句话的判断（apology / wait_request / thanks_wait）。

    判断：列出的冲突用语是确定的锚点；没有这些字眼的讥讽、反问、指责由对话行为模型判断（rudeness，概率 ≥ act_threshold）。

    判断：推诿既看固定说法，也看对话行为模型（shirking）；同一句或下一句给出具体去处、号码或上报跟进（referral / escalation）则不算。

    判断：列出的议论用语是锚点；以“提醒”“说句实话”等口吻议论他人由对话行为模型判断（gossip）。

    判断：号码、姓名加房号按规则比对；其他他人信息（车牌、单位等）由对话行为模型判断（disclosure，概率 ≥ 0.7），且该句须含有不属于来电人的号码、姓名、房号或车牌。

    正例：“不好意思，麻烦您稍等一下，我查一下。”……“让您久等了，查到了……”

    反例：“您稍等。”（未致歉）
    反例：等待 25 秒后直接说“查到了”（未感谢客户耐心等待）。
    """

    code = "PO01"
    name = "hold_etiquette"
    family = "politeness"
    config_keywords = ("min_gap_seconds", "long_wait_seconds", "apology_phrases",
                       "wait_phrases", "hold_cue_phrases", "thanks_phrases", "act_threshold")
    fail_message = "让客户等待前未致歉并请其稍等"

    def _holds(self, ctx: RuleContext) -> list[tuple[Utterance, float, Utterance | None]]:
        """(agent utterance before the wait, wait seconds, next agent utterance)."""
        utts = ctx.transcript.utterances
        holds: list[tuple[Utterance, float, Utterance | None]] = []
        seen: set[int] = set()
        last: Utterance | None = None
        for i, u in enumerate(utts):
            if last is not None:
                gap = u.start - last.end
                cue = last.speaker == "agent" and bool(
                    ctx.matcher.find(last, self.hold_cue_phrases))
                if last.speaker == "agent" and (
                        (gap >= self.min_gap_seconds
                         and not _QUESTION_END.search(last.text)) or cue):
                    if id(last) not in seen:
                        seen.add(id(last))
                        nxt = next((v for v in utts[i:] if v.speaker == "agent"), None)
                        holds.append((last, max(gap, 0.0), nxt))
            if last is None or u.end >= last.end:
                last = u
        return holds

    def evaluate(self, ctx: RuleContext) -> Finding:
        holds = self._holds(ctx)
        if not holds:
            return self.na("通话中没有等待 / no hold")
        evidence: list[Evidence] = []
        problems: list[str] = []
        confs: list[float] = []
        for pre, wait, post in holds:
            # The agent's last turn before the wait (since the customer last spoke).
            last_c = max((c.end for c in ctx.customer if c.end <= pre.start + 0.01),
                         default=float("-inf"))
            before = [u for u in ctx.agent if last_c <= u.start <= pre.start]
            apology = ctx.first(before, self.apology_phrases) or \
                best_act_hit(ctx, before, "apology", self.act_threshold)
            ask = ctx.first(before, self.wait_phrases) or \
                best_act_hit(ctx, before, "wait_request", self.act_threshold)
            if not (apology and ask):
                what = "致歉" if ask else ("请客户稍等" if apology else "致歉并请客户稍等")
                problems.append(f"等待前未{what}")
                evidence.append(Evidence.from_utterance(pre))
                confs.append(ctx.absence_confidence([pre], 0.85))
            else:
                confs.append(min(apology.confidence, ask.confidence))
            if wait >= self.long_wait_seconds:
                after = [post] if post is not None else []
                thanks = ctx.first(after, self.thanks_phrases) or \
                    best_act_hit(ctx, after, "thanks_wait", self.act_threshold)
                if thanks is None:
                    problems.append(f"等待 {wait:.0f} 秒后未感谢客户耐心等待")
                    evidence.append(Evidence("agent", round(pre.end, 2),
                                             round(post.start if post else pre.end + wait, 2),
                                             post.text if post else f"等待 {wait:.0f} 秒"))
                    confs.append(ctx.absence_confidence(after, 0.8))
        if problems:
            return self.failed(evidence, min(confs), "；".join(dict.fromkeys(problems)))
        return self.passed(min(confs) * 0.95)


_NI = re.compile(r"你(?!好|们)")


class HonorificAddress(Rule):
    """称呼客户用“您”：坐席对客户的第二人称中，“您”至少占 70%；不含人称的句子不计。

    “你好”“你们”不计入。识别结果中“你/您”常被混淆，转写来源的不合格判断置信度较低，交人工复核。

    正例：“您是几栋几号？麻烦您留个电话。”

    反例：“你贵姓？电话就是你现在打的这个？”
    """

    code = "PO02"
    name = "honorific_address"
    family = "politeness"
    config_keywords = ("min_polite_ratio", "asr_confidence")
    fail_message = "称呼客户多用“你”而非“您”"

    def evaluate(self, ctx: RuleContext) -> Finding:
        nin, ni, ev = 0, 0, []
        for u in ctx.agent:
            nin += u.text.count("您")
            hits = list(_NI.finditer(u.text))
            ni += len(hits)
            for m in hits[:2]:
                if len(ev) < 5:
                    b, e = max(0, m.start() - 2), min(len(u.text), m.end() + 4)
                    ev.append(Evidence.from_utterance(u, u.text[b:e]))
        total = nin + ni
        if total == 0:
            return self.na("坐席未使用第二人称 / no second-person address")
        ratio = nin / total
        conf = self.asr_confidence if ctx.from_asr else 0.9
        if ratio >= self.min_polite_ratio:
            return self.passed(conf if ctx.from_asr else 0.95,
                               note=f"“您” {nin} 次，“你” {ni} 次")
        return self.failed(ev, conf, f"称呼客户“您”仅占 {ratio:.0%}（“您” {nin} 次，"
                                     f"“你” {ni} 次），应以“您”为主")


class _PhraseRedLine(Rule):
    """Fails when the agent says one of ``phrase_key``'s phrases (minus ``exclude``), or
    when an agent utterance performs ``act`` (the dialogue-act model) with at least
    ``act_threshold``: the phrases are the certain anchors, the act reads the meaning."""

    red_line = True
    family = "politeness"
    phrase_key = ""
    act = ""

    def matches(self, ctx: RuleContext):
        return ctx.find(ctx.agent, getattr(self, self.phrase_key),
                        exclude=getattr(self, "exclude_phrases", ()))

    def evaluate(self, ctx: RuleContext) -> Finding:
        ms = self.matches(ctx)
        anchored = {id(m.utterance) for m in ms if getattr(m, "utterance", None) is not None}
        ms = list(ms) + [h for h in act_hits(ctx, ctx.agent, self.act, self.act_threshold)
                         if id(h.utterance) not in anchored]
        if not ms:
            return self.passed(ctx.absence_confidence(ctx.agent, 0.9))
        best = max(m.confidence for m in ms)
        quoted = "、".join(dict.fromkeys(f"“{m.text}”" for m in ms[:3]))
        return with_act_notes(self.failed([m.evidence() for m in ms[:5]], best,
                                          f"{self.fail_message}：{quoted}"), ms)


class NoVerbalConflict(_PhraseRedLine):
    """不与客户发生言语冲突（禁止行为 3，红线）：不争辩、不讥讽、不指责、不说粗话。

    正例：“您先别着急，我马上安排人过去看。”

    反例：“我不是说了吗，已经派单了。”“你急也没用。”“你凶什么凶？”
    反例：“是不是您那栋有人乱扔装修垃圾？”（反指客户）
    """

    code = "PO03"
    name = "no_verbal_conflict"
    config_keywords = ("conflict_phrases", "exclude_phrases", "act_threshold")
    phrase_key = "conflict_phrases"
    act = "rudeness"
    fail_message = "与客户发生言语冲突"


class NoShirking(Rule):
    """不推诿（禁止行为 6，红线）：不以“不归我们管”“跟我说没用”把客户推开而不给任何帮助。

    转给别处时给出具体去处（电话、部门）或上报跟进，不算推诿。

    正例：“宽带是电信公司负责的，您可以拨打一零零零零报修。”

    反例：“这个跟我们物业没关系，跟我说也没用。”
    """

    code = "PO04"
    name = "no_shirking"
    family = "politeness"
    red_line = True
    config_keywords = ("shirk_phrases", "alternative_phrases", "act_threshold")
    fail_message = "推诿客户，未给出具体去处或帮助"

    def evaluate(self, ctx: RuleContext) -> Finding:
        bad: list = []
        agent = ctx.agent
        t = self.act_threshold
        for i, u in enumerate(agent):
            ms = list(ctx.matcher.find(u, self.shirk_phrases))
            if not ms and ctx.act(u, "shirking") >= t:
                ms = [ActHit(ctx, u, "shirking", ctx.act(u, "shirking"))]
            if not ms:
                continue
            window = agent[i:i + 2]
            # Help offered after it (a place, a number, a report with a reply) excuses a phrase.
            # The model read the utterance whole: when it still calls it shirking, help within
            # the same utterance (已经报上去了，后面怎么弄就不是我们能决定的了) is not taken
            # as given; only a concrete number there or help in the next utterance is.
            model_only = all(isinstance(m, ActHit) for m in ms)
            after = window[1:] if model_only else window
            helped = any(ctx.matcher.find(v, self.alternative_phrases) for v in after) or \
                any(len(numbers.digits_of(v.text)) >= 5 for v in window) or \
                any(max(ctx.act(v, "referral"), ctx.act(v, "escalation")) >= t
                    for v in after)
            if not helped:
                bad.extend(ms)
        if not bad:
            return self.passed(ctx.absence_confidence(agent, 0.9))
        quoted = "、".join(dict.fromkeys(f"“{m.text}”" for m in bad[:3]))
        return with_act_notes(self.failed([m.evidence() for m in bad[:5]],
                                          max(m.confidence for m in bad),
                                          f"{self.fail_message}：{quoted}"), bad)


class NoGossip(_PhraseRedLine):
    """不搬弄是非（禁止行为 4，红线）：不向客户议论同事、部门、施工方或其他住户。

    正例：“给您添麻烦了，我让维修主管跟进，确保这次修好。”

    反例：“那个师傅干活就是毛糙，他们工程部老这样。”
    反例：“您楼上那家人素质确实不怎么样。”
    """

    code = "PO05"
    name = "no_gossip"
    config_keywords = ("gossip_phrases", "exclude_phrases", "act_threshold")
    phrase_key = "gossip_phrases"
    act = "gossip"
    fail_message = "向客户议论他人"


def _longest_common_run(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            best = max(best, k)
    return best


def _same_number(heard: str, own: str) -> bool:
    """Whether ``heard`` is (a recogniser-garbled reading of) the number ``own``: equal in
    its last seven digits, or sharing a run of at least five digits."""
    return heard[-7:] == own[-7:] or own.endswith(heard) or \
        _longest_common_run(heard, own) >= 5


class NoPrivacyLeak(Rule):
    """不泄露他人隐私（禁止行为 1，红线）：不说出来电人以外任何人的电话、证件号，或姓名加房号。

    来电人自己的号码（元数据中的来电号码、客户自己报的号码）复述核对不算泄露；
    服务热线（九六七七七、一零零零零、四零零……）不算个人信息。

    正例：“电话就是您现在这个幺三九，幺六二四，七七三五，对吗？”

    反例：“楼上是八零二的张先生，电话是幺三九，零七二六，五五八幺。”
    """

    code = "PO06"
    name = "no_privacy_leak"
    family = "politeness"
    red_line = True
    config_keywords = ("min_phone_digits", "disclose_phrases", "act_threshold")
    fail_message = "向客户泄露他人个人信息"

    _SERVICE = ("400", "800", "95", "96", "12", "10")
    # Third persons: the caller is addressed as 先生/女士 too, so titles alone do not count.
    _PERSON = re.compile(r"他的|她的|他家|她家|他电话|她电话|车主|邻居|楼上|楼下|对门|隔壁|"
                         r"那家|那户|住户|那位|这位|业主是")

    def _reads_back(self, text: str) -> bool:
        """The caller's own details read back for confirmation (您登记的手机号是…，对吧？)."""
        return bool(_READ_BACK.search(text)) and not self._PERSON.search(text)

    def evaluate(self, ctx: RuleContext) -> Finding:
        own_phones = set()
        caller = numbers.digits_of(str(ctx.metadata.get("caller_number") or ""))
        if caller:
            own_phones.add(caller)
        own_rooms, own_names = set(), set()
        for u in ctx.customer:
            own_phones.update(p.value for p in numbers.phone_numbers(u.text))
            own_rooms.update(a.value for a in numbers.address_parts(u.text) if a.kind == "room")
            own_names.update(s.value for s in numbers.surnames(u.text))
        leaks: list[tuple[Evidence, float, str]] = []
        for u in ctx.agent:
            read_back = self._reads_back(u.text)
            for p in numbers.phone_numbers(u.text):
                if len(p.value) < self.min_phone_digits or p.value in own_phones or read_back:
                    continue
                if any(_same_number(p.value, o) for o in own_phones):
                    continue
                mobile = len(p.value) == 11 and p.value[0] == "1" and p.value[1] in "3456789"
                service = p.value.startswith(self._SERVICE) and not mobile
                if service or not (mobile or self._PERSON.search(u.text)):
                    continue
                conf = scale_confidence(0.9, asr_confidence(u, p.begin, p.end))
                leaks.append((Evidence.from_utterance(u, u.text[p.begin:p.end]), conf, "电话号码"))
            # Name + room of someone else. A read-back of the caller's own details (the
            # utterance also repeats the caller's number) is not a leak, however garbled.
            reads_back = any(_same_number(p.value, o) for p in numbers.phone_numbers(u.text)
                             for o in own_phones)
            if own_names and not reads_back:
                names = [s for s in numbers.surnames(u.text) if s.value not in own_names]
                rooms = [a for a in numbers.address_parts(u.text)
                         if a.kind == "room" and a.value not in own_rooms]
                if names and rooms:
                    b = min(names[0].begin, rooms[0].begin)
                    e = max(names[0].end, rooms[0].end)
                    conf = scale_confidence(0.75, asr_confidence(u, b, e))
                    leaks.append((Evidence.from_utterance(u, u.text[b:e]), conf, "姓名和房号"))
        # The meaning of a disclosure the number and name patterns miss (a plate, a name with
        # a floor, someone's workplace): the act model, where the utterance holds data that is
        # not the caller's own (a read-back of the caller's details is no leak).
        seen = {(e.start, e.end) for e, _, _ in leaks}
        hits = []
        for h in act_hits(ctx, ctx.agent, "disclosure", self.act_threshold):
            u = h.utterance
            if any(s <= u.start <= e for s, e in seen) or self._reads_back(u.text) or \
                    any(_same_number(p.value, o) for p in numbers.phone_numbers(u.text)
                        for o in own_phones):
                continue  # the caller's own details read back, however garbled
            foreign = [p for p in numbers.phone_numbers(u.text) if p.value not in own_phones] + \
                [n for n in numbers.surnames(u.text) if n.value not in own_names
                 and not u.text[n.begin:n.end].endswith("师傅")] + \
                [a for a in numbers.address_parts(u.text)
                 if a.kind == "room" and a.value not in own_rooms]
            if foreign or _PLATE.search(u.text):
                hits.append(h)
                leaks.append((h.evidence(), h.confidence, "个人信息"))
        if not leaks:
            return self.passed(ctx.absence_confidence(ctx.agent, 0.9))
        kinds = "、".join(dict.fromkeys(k for _, _, k in leaks))
        return with_act_notes(self.failed([e for e, _, _ in leaks[:5]],
                                          max(c for _, c, _ in leaks),
                                          f"向客户透露了他人的{kinds}"), hits)
