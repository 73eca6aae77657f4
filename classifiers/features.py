"""Features of a call for the classifiers: the customer's and the agent's words, cues and voice.

* :func:`tokenize` — the module-level jieba tokenizer the TF-IDF step uses (a lambda could
  not be persisted).
* :func:`customer_text`, :func:`agent_text` — each party's words (the call-type model reads
  both: what the agent does — sends a worker, answers, apologises, thanks — tells the type;
  the complaint-type model reads the customer only).
* :func:`cue_features` — counts that follow the standards' 识别方法 for complaint types:
  anger words and swearing, repetition of the same complaint (理由简单而反复), specifics
  (dates, amounts, numbers, places — 理由充分), stressing of key points (多次强调重点),
  self-explanation (大多自我说明), favourable comparisons (常用好的对比), question and
  exclamation density, threats, politeness.
* :func:`voice_features` — from the measurements the transcriber puts on utterances
  (``level_dbfs``, ``extra["pitch_hz"]``/``["pitch_std_st"]``) and the turn times: the
  customer's loudness relative to the agent and to the customer's own quietest turn,
  speaking rate (characters per voiced second, absolute and relative to the agent), pitch
  variability within and across turns, share of talk time, overlaps. Missing measurements
  are ``nan``.
* :func:`explain` — the same cues as Chinese sentences for the supervisor's "why".
"""
from __future__ import annotations

import logging
import math
import re
from collections import Counter

import jieba

from classifiers.records import CALL_TYPE_ZH
from transcribe.records import Transcript

logger = logging.getLogger("hotline_qa.classifiers.features")
jieba.setLogLevel(logging.WARNING)

_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCT_SPLIT = re.compile(r"[，,。．.！!？?；;、\s]+")


_TOKEN_CACHE: dict[str, list[str]] = {}


def tokenize(text: str) -> list[str]:
    """jieba words of ``text`` without whitespace and punctuation (module level: persistable).

    Results are memoised (training tokenizes the same corpus once per fold).
    """
    hit = _TOKEN_CACHE.get(text)
    if hit is None:
        if len(_TOKEN_CACHE) > 20000:
            _TOKEN_CACHE.clear()
        hit = _TOKEN_CACHE[text] = [w for w in jieba.lcut(text)
                                    if w.strip() and not _PUNCT_SPLIT.fullmatch(w)]
    return list(hit)


def customer_turns(transcript: Transcript) -> list[str]:
    """The customer's utterance texts; all texts when no utterance is marked ``customer``."""
    turns = [u.text for u in transcript.utterances if u.speaker == "customer"]
    if not turns:
        turns = [u.text for u in transcript.utterances if u.speaker != "agent"] or \
                [u.text for u in transcript.utterances]
    return [t for t in turns if t.strip()]


def customer_text(transcript: Transcript) -> str:
    return "。".join(customer_turns(transcript))


def agent_turns(transcript: Transcript) -> list[str]:
    """The agent's utterance texts; empty when no utterance is marked ``agent`` (text-only
    examples, supervisor corrections without a transcript, mono calls left ``unknown``)."""
    return [u.text for u in transcript.utterances if u.speaker == "agent" and u.text.strip()]


def agent_text(transcript: Transcript) -> str:
    return "。".join(agent_turns(transcript))


# ------------------------------------------------------------------------------ lexicons
ANGER = ["气死", "受够", "干什么吃的", "干啥吃的", "破物业", "垃圾物业", "搞什么", "太过分", "过分",
         "烦死", "烦不烦", "有完没完", "不要脸", "欺负", "糊弄", "逼疯", "像话吗", "不像话", "什么玩意",
         "岂有此理", "忍无可忍", "火大", "要命", "混蛋", "当大爷", "算什么", "凭什么", "骗子", "无语",
         "离谱", "服了", "谁受得了", "还过不过", "不负责任", "怎么搞的", "管不管", "有没有人管", "气得"]
SWEAR = ["妈的", "他妈", "特么", "tm", "靠", "见鬼", "鬼东西", "滚", "神经病", "狗屁", "屁"]
THREAT = ["12345", "一二三四五", "曝光", "媒体", "住建局", "不交物业费", "告你们", "投诉你们", "找领导",
          "找你们领导", "市长热线", "上网", "报社", "电视台", "天天打", "业委会"]
STRESS = ["强调", "重点", "关键是", "关键", "再说一遍", "我要的是", "第一", "第二", "必须", "一定要",
          "说清楚", "记清楚", "明确", "书面", "具体", "核对"]
SELF = ["我家", "我们家", "我这边", "我们这", "我平时", "我是", "我年纪", "我家孩子", "我上班", "我自己",
        "我们当", "俺家", "咱家", "我住", "我在这", "我家老人", "我们老"]
COMPARE = ["别的小区", "以前", "原来", "之前的物业", "老物业", "隔壁", "人家", "旁边的", "跟以前",
           "从前", "过去", "别人家", "其他小区", "那边物业", "差不多", "不如"]
WISH = ["希望", "要是能", "就好了", "也不是说", "不是来投诉", "改进", "改善", "重视", "体谅", "建议"]
POLITE = ["谢谢", "麻烦", "辛苦", "打扰", "不好意思", "请问", "劳驾", "拜托"]
RHETORIC = ["管不管", "有没有人管", "干什么吃的", "像话吗", "还有没有", "知不知道", "凭什么", "算什么"]
DATE_RE = re.compile(r"(\d+|[一二三四五六七八九十两]+)(号|日|月|点|年)|[上下这]个?(周|礼拜|星期|月)|周[一二三四五六日天]|"
                     r"礼拜[一二三四五六日天]|星期[一二三四五六日天]|昨天|前天|大前天|今天早上|上午|下午|晚上|月初|月底")
AMOUNT_RE = re.compile(r"(\d+|[一二三四五六七八九十百千万两]+)(块|元|万|毛)|多少钱|费用|赔偿|损失")
NUMBER_RE = re.compile(r"\d{2,}|[零一二三四五六七八九十百千两幺]{2,}")
PLACE_RE = re.compile(r"栋|号楼|单元|室|楼层|层|车位|地库|北门|南门|东门|西门|大门")
TIMES_RE = re.compile(r"第[一二三四五六七八九十\d]+[次回]|[两三四五六七八九十几好\d]+[次回]了|又")


def _count(text: str, words: list[str]) -> tuple[int, list[str]]:
    hits = [w for w in words if w in text]
    return sum(text.count(w) for w in hits), hits


def _clauses(text: str) -> list[str]:
    return [c for c in _PUNCT_SPLIT.split(text) if len(_HAN.findall(c)) >= 2]


def _repetition(text: str) -> tuple[int, float]:
    """(repeated clauses, share of repeated 4-character grams) — 理由简单而反复."""
    clauses = [re.sub(r"[^\u4e00-\u9fff]", "", c) for c in _clauses(text)]
    seen: list[str] = []
    repeats = 0
    for c in clauses:
        if len(c) >= 2 and any(c == s or (len(c) >= 3 and (c in s or s in c)) for s in seen):
            repeats += 1
        seen.append(c)
    han = "".join(_HAN.findall(text))
    grams = [han[i:i + 4] for i in range(max(0, len(han) - 3))]
    if not grams:
        return repeats, 0.0
    counts = Counter(grams)
    rep = sum(n for n in counts.values() if n > 1)
    return repeats, rep / len(grams)


# What the caller wants (call type): intent markers, counted once each.
INTENT = {
    "complain": ["投诉", "反映", "不满", "说法", "态度", "没人管", "不管", "不解决", "每次都", "怎么回事",
                 "赔偿", "损失", "负责", "不合理", "还没解决", "糊弄", "不如", "以前"],
    "repair": ["报修", "报个修", "维修", "修一下", "来修", "修修", "师傅", "派人", "派个", "上门",
               "来看看", "坏了", "不亮", "漏水", "堵", "修好"],
    "ask": ["请问", "咨询", "问一下", "问问", "想了解", "怎么办", "怎么交", "多少钱", "怎么收费", "需要什么",
            "要带", "几点", "在哪", "能不能", "是不是", "可以吗", "吗？", "手续", "还有吗"],
    "suggest": ["建议", "提个", "意见", "增设", "增加", "加装", "考虑", "采纳", "就更好了", "想法"],
    "elsewhere": ["燃气", "天然气", "宽带", "网络", "快递", "电费", "供电", "打错", "运营商", "有线电视",
                  "派出所", "报警", "自来水公司", "厂家", "表扬", "感谢一下", "教育局", "广电"],
}

#: The cue features, in the order of the model's columns.
CUE_NAMES: tuple[str, ...] = (
    "anger", "swear", "threat", "rhetoric", "repeat_clauses", "repeat_gram_share", "specifics",
    "times", "stress", "self", "compare", "wish", "polite", "question_rate", "exclaim_rate",
    "mean_clause_len",
) + tuple(f"intent_{k}" for k in INTENT)


def cue_features(transcript: Transcript) -> dict[str, float]:
    """Cue counts of the customer's words (densities per 100 characters where marked)."""
    turns = customer_turns(transcript)
    text = "。".join(turns)
    n_han = max(1, len(_HAN.findall(text)))
    per100 = 100.0 / n_han
    clauses = _clauses(text) or [text]
    repeats, gram_share = _repetition(text)
    specifics = (len(DATE_RE.findall(text)) + len(AMOUNT_RE.findall(text)) +
                 len(NUMBER_RE.findall(text)) + len(PLACE_RE.findall(text)))
    return {
        "anger": _count(text, ANGER)[0] * per100,
        "swear": _count(text.lower(), SWEAR)[0] * per100,
        "threat": float(_count(text, THREAT)[0]),
        "rhetoric": float(_count(text, RHETORIC)[0]),
        "repeat_clauses": float(repeats),
        "repeat_gram_share": gram_share,
        "specifics": specifics * per100,
        "times": float(len(TIMES_RE.findall(text))),
        "stress": float(_count(text, STRESS)[0]),
        "self": _count(text, SELF)[0] * per100,
        "compare": float(_count(text, COMPARE)[0]),
        "wish": float(_count(text, WISH)[0]),
        "polite": float(_count(text, POLITE)[0]),
        "question_rate": (text.count("？") + text.count("?")) / len(clauses),
        "exclaim_rate": (text.count("！") + text.count("!")) / len(clauses),
        "mean_clause_len": n_han / len(clauses),
        **{f"intent_{k}": float(sum(1 for w in ws if w in text)) for k, ws in INTENT.items()},
    }


# ------------------------------------------------------------------------------ voice
#: The voice features, in the order of the model's columns (``nan`` = not measured).
VOICE_NAMES: tuple[str, ...] = (
    "rel_agent_db", "rel_quiet_db", "rate_cps", "rate_rel_agent", "pitch_std_st",
    "pitch_turn_st", "talk_share", "overlap_rate",
)
NAN = float("nan")


def _voiced_seconds(u) -> float:
    if u.words:
        return sum(max(0.0, w.end - w.start) for w in u.words) or u.duration
    return u.duration


def _wmean(pairs: list[tuple[float, float]]) -> float:
    w = sum(d for _, d in pairs)
    return sum(v * d for v, d in pairs) / w if w > 0 else NAN


def voice_features(transcript: Transcript) -> dict[str, float]:
    """Voice features of the customer from utterance measurements and times (``nan`` if absent)."""
    cust = [u for u in transcript.utterances if u.speaker == "customer" and u.duration > 0]
    agent = [u for u in transcript.utterances if u.speaker == "agent" and u.duration > 0]
    out = {k: NAN for k in VOICE_NAMES}
    if not cust:
        return out
    lv_c = [(u.level_dbfs, u.duration) for u in cust if u.level_dbfs is not None]
    lv_a = [(u.level_dbfs, u.duration) for u in agent if u.level_dbfs is not None]
    if lv_c and lv_a:
        out["rel_agent_db"] = _wmean(lv_c) - _wmean(lv_a)
    long_c = [v for v, d in lv_c if d >= 1.0]
    if len(long_c) >= 2:
        out["rel_quiet_db"] = _wmean([(v, d) for v, d in lv_c if d >= 1.0]) - min(long_c)

    def rate(us) -> float:
        chars = sum(len(_HAN.findall(u.text)) for u in us)
        secs = sum(_voiced_seconds(u) for u in us)
        return chars / secs if secs > 0.5 and chars else NAN

    rc, ra = rate(cust), rate(agent)
    out["rate_cps"] = rc
    if not math.isnan(rc) and not math.isnan(ra) and ra > 0:
        out["rate_rel_agent"] = rc / ra
    ps = [(float(u.extra["pitch_std_st"]), u.duration) for u in cust
          if isinstance(u.extra.get("pitch_std_st"), (int, float))]
    if ps:
        out["pitch_std_st"] = _wmean(ps)
    ph = [float(u.extra["pitch_hz"]) for u in cust
          if isinstance(u.extra.get("pitch_hz"), (int, float)) and u.extra["pitch_hz"] > 0]
    if len(ph) >= 2:
        med = sorted(ph)[len(ph) // 2]
        st = [12 * math.log2(p / med) for p in ph]
        m = sum(st) / len(st)
        out["pitch_turn_st"] = math.sqrt(sum((s - m) ** 2 for s in st) / len(st))
    if agent:
        tc = sum(u.duration for u in cust)
        out["talk_share"] = tc / (tc + sum(u.duration for u in agent))
        # the customer starts while the agent is still talking (not a backchannel of < 1 s)
        over = sum(1 for c in cust if c.duration >= 1.0 and any(
            a.start < c.start < a.end - 0.3 for a in agent))
        out["overlap_rate"] = over / len(cust)
    return out


def has_voice(transcript: Transcript) -> bool:
    """True when the transcript carries the measurements the voice model needs (levels of both)."""
    return any(u.level_dbfs is not None for u in transcript.by("customer")) and \
        any(u.level_dbfs is not None for u in transcript.by("agent"))


# ------------------------------------------------------------------------------ why
def explain(transcript: Transcript, voice: bool) -> list[str]:
    """The cues found in the call, as Chinese sentences (strongest first)."""
    text = customer_text(transcript)
    c = cue_features(transcript)
    out: list[tuple[float, str]] = []

    def ex(words: list[str]) -> str:
        return "、".join(list(dict.fromkeys(w for w in words if w in text))[:3])

    n_anger = _count(text, ANGER)[0] + _count(text.lower(), SWEAR)[0]
    if n_anger:
        out.append((3 + n_anger, f"客户有愤怒或粗话用语 {n_anger} 处（{ex(ANGER + SWEAR)}）"))
    if c["threat"]:
        out.append((2 + c["threat"], f"客户扬言投诉或曝光（{ex(THREAT)}）"))
    if c["repeat_clauses"] >= 1 or c["repeat_gram_share"] > 0.15:
        out.append((2 + c["repeat_clauses"], f"同一说法反复出现 {int(c['repeat_clauses'])} 次（理由简单而反复）"))
    if c["exclaim_rate"] >= 0.3:
        out.append((1.5, f"感叹句多（每句 {c['exclaim_rate']:.1f} 个感叹号）"))
    if c["rhetoric"]:
        out.append((1.5, f"反问质问（{ex(RHETORIC)}）"))
    n_spec = len(DATE_RE.findall(text)) + len(AMOUNT_RE.findall(text)) + len(PLACE_RE.findall(text))
    if n_spec >= 2:
        out.append((1 + n_spec / 2, f"理由具体：日期、金额、地点等细节 {n_spec} 处"))
    if c["times"] >= 1:
        out.append((1, "提到问题多次发生（第几次/又…）"))
    if c["stress"]:
        out.append((1 + c["stress"], f"多次强调重点（{ex(STRESS)}）"))
    if _count(text, SELF)[0]:
        out.append((1 + _count(text, SELF)[0] / 2, f"多作自我说明（{ex(SELF)}）"))
    if c["compare"]:
        out.append((1.5 + c["compare"], f"与以前或别处作对比（{ex(COMPARE)}）"))
    if c["wish"]:
        out.append((1, f"表达期望或建议（{ex(WISH)}）"))
    if c["polite"] and not n_anger:
        out.append((0.5, f"语气平和有礼（{ex(POLITE)}）"))
    if voice:
        v = voice_features(transcript)
        if not math.isnan(v["rel_agent_db"]):
            d = v["rel_agent_db"]
            word = "响" if d >= 0 else "轻"
            out.append((abs(d) / 2, f"客户声音比坐席{word} {abs(d):.1f} dB"))
        if not math.isnan(v["rate_cps"]):
            rel = "" if math.isnan(v["rate_rel_agent"]) else f"，为坐席的 {v['rate_rel_agent']:.1f} 倍"
            out.append((1, f"客户语速 {v['rate_cps']:.1f} 字/秒{rel}"))
        if not math.isnan(v["pitch_turn_st"]):
            out.append((v["pitch_turn_st"], f"客户音高在各句间起伏 {v['pitch_turn_st']:.1f} 个半音"))
        if not math.isnan(v["talk_share"]):
            out.append((1, f"客户说话占双方通话时间的 {v['talk_share'] * 100:.0f}%"))
        if not math.isnan(v["overlap_rate"]) and v["overlap_rate"] > 0:
            out.append((1.5, f"客户抢话（坐席未说完即开口）{v['overlap_rate'] * 100:.0f}% 的发言"))
    out.sort(key=lambda t: -t[0])
    return [s for _, s in out]


CALL_TYPE_WORDS: dict[str, list[str]] = {
    "complaint": ["投诉", "反映", "不满", "说法", "赔", "态度", "又坏", "几次", "没人管", "不解决"],
    "repair": ["报修", "维修", "修一下", "师傅", "坏了", "漏水", "堵", "不亮", "上门", "派人"],
    "inquiry": ["请问", "咨询", "问一下", "怎么办", "多少钱", "需要什么", "几点", "在哪", "手续", "怎么交"],
    "suggestion": ["建议", "提个", "意见", "能不能增设", "希望能", "增加", "考虑", "采纳"],
    "other": ["燃气", "宽带", "快递", "电费", "供电", "打错", "运营商", "有线电视", "派出所", "表扬"],
}


#: What agents typically say in each type of call (for the explanation only; the model
#: learns the agent's words from the corpus).
AGENT_CALL_TYPE_WORDS: dict[str, list[str]] = {
    "complaint": ["抱歉", "道歉", "答复", "反馈给", "主管", "严肃处理", "投诉", "核实", "交代"],
    "repair": ["报修", "工单", "派单", "派人", "上门", "师傅", "维保", "维修"],
    "inquiry": ["查一下", "查到", "办理", "前台", "公众号", "小程序", "需要带", "规定"],
    "suggestion": ["建议", "研究", "考虑", "采纳", "汇总", "意见"],
    "other": ["不属于", "管不了", "打错", "运营商", "报警", "燃气公司", "派出所"],
}


def call_type_cues(transcript: Transcript, call_type: str) -> list[str]:
    """The words typical of ``call_type`` in the customer's speech and in the agent's replies,
    as Chinese sentences."""
    zh = CALL_TYPE_ZH.get(call_type, call_type)
    out = []
    for text, words, label in ((customer_text(transcript), CALL_TYPE_WORDS, f"{zh}类说法"),
                               (agent_text(transcript), AGENT_CALL_TYPE_WORDS, f"坐席的{zh}类应答")):
        hits = list(dict.fromkeys(w for w in words.get(call_type, []) if w in text))[:4]
        if hits:
            out.append(f"{label}：{'、'.join(hits)}")
    return out
