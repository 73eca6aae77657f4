"""Cue and voice features follow the standards' 识别方法 and the transcript's measurements."""
from __future__ import annotations

import math

from classifiers import features as F
from transcribe.records import Transcript, Utterance


def _t(*utts) -> Transcript:
    return Transcript(utterances=[Utterance(*u) for u in utts])


def test_tokenizer_is_module_level_and_drops_punctuation():
    assert F.tokenize.__module__ == "classifiers.features"
    toks = F.tokenize("你们这电梯到底还修不修了？！")
    assert "电梯" in toks and not any(t in "？！" for t in toks)


def test_anger_repetition_and_threats_of_a_venting_caller():
    vent = _t(("customer", 0, 8, "气死我了！电梯又坏了！又坏了！你们干什么吃的！我要打12345投诉你们！"))
    calm = _t(("customer", 0, 8, "你好，我想反映一下电梯的问题，麻烦你们看一下，谢谢。"))
    v, c = F.cue_features(vent), F.cue_features(calm)
    assert v["anger"] > 0 and c["anger"] == 0
    assert v["repeat_clauses"] >= 1 and c["repeat_clauses"] == 0
    assert v["threat"] >= 1 and c["threat"] == 0
    assert v["exclaim_rate"] > c["exclaim_rate"]
    assert c["polite"] >= 2


def test_specifics_self_explanation_and_comparisons():
    resolve = _t(("customer", 0, 8, "上周三报的修，十二栋一八零一，交了两千四的物业费，这是第三次了。"))
    expect = _t(("customer", 0, 8, "我家住了十年了，以前的物业每周都修剪，别的小区也是，希望能改善。"))
    r, e = F.cue_features(resolve), F.cue_features(expect)
    assert r["specifics"] > e["specifics"]
    assert r["times"] >= 1
    assert e["self"] > 0 and e["compare"] >= 2 and e["wish"] >= 1
    assert r["compare"] == 0


def test_only_customer_words_count_when_speakers_known():
    t = _t(("agent", 0, 3, "您先别着急，真是气死人了"), ("customer", 3, 6, "你好，我想问一下物业费。"))
    assert F.cue_features(t)["anger"] == 0
    assert "物业费" in F.customer_text(t)


def test_voice_features_from_levels_and_times():
    t = _t(("agent", 0, 4, "您好，物业服务中心"), ("customer", 4.5, 10, "你们到底管不管啊电梯又坏了"),
           ("agent", 9.0, 12, "您先别着急"), ("customer", 10.0, 16, "我不听我今天就要个说法"))
    lv = {0: -20.0, 1: -12.0, 2: -21.0, 3: -14.0}
    for i, u in enumerate(t.utterances):
        u.level_dbfs = lv[i]
    t.utterances[1].extra.update(pitch_hz=180.0, pitch_std_st=3.0)
    t.utterances[3].extra.update(pitch_hz=240.0, pitch_std_st=4.0)
    v = F.voice_features(t)
    assert F.has_voice(t)
    assert 6.0 < v["rel_agent_db"] < 9.0          # customer louder than the agent
    assert math.isclose(v["rel_quiet_db"], (-12 * 5.5 - 14 * 6) / 11.5 + 14, rel_tol=1e-6)
    assert v["rate_cps"] > 0 and v["rate_rel_agent"] > 0
    assert v["pitch_turn_st"] > 2                 # 180 → 240 Hz is ~5 semitones apart
    assert 0.5 < v["talk_share"] < 1
    assert v["overlap_rate"] == 0.5               # the second turn starts while the agent talks


def test_voice_features_missing_without_measurements():
    t = _t(("customer", 0, 0, "你好"))
    v = F.voice_features(t)
    assert not F.has_voice(t)
    assert all(math.isnan(v[k]) for k in ("rel_agent_db", "pitch_std_st", "talk_share"))


def test_explain_in_chinese():
    t = _t(("customer", 0, 8, "气死我了！又坏了！又坏了！以前的物业可不这样！"))
    cues = F.explain(t, voice=False)
    assert any("愤怒" in c for c in cues) and any("对比" in c for c in cues)


def test_agent_text_is_the_agents_words_or_empty():
    both = _t(("agent", 0, 2, "您好，物业。"), ("customer", 2, 5, "楼道灯不亮了。"),
              ("agent", 5, 8, "好的，我安排电工下午上门。"))
    assert F.agent_text(both) == "您好，物业。。好的，我安排电工下午上门。"
    assert "电工" not in F.customer_text(both)
    assert F.agent_text(_t(("customer", 0, 0, "你好，我想问一下物业费。"))) == ""
    mono = _t(("unknown", 0, 2, "您好，物业。"), ("unknown", 2, 5, "楼道灯不亮了。"))
    assert F.agent_text(mono) == "" and "楼道灯" in F.customer_text(mono)


def test_call_type_cues_name_the_agents_reply():
    t = _t(("customer", 0, 3, "楼道灯不亮了，怎么回事？"), ("agent", 3, 6, "我给您登记报修，让电工师傅上门。"))
    cues = F.call_type_cues(t, "repair")
    assert any(c.startswith("坐席的报修类应答") and "师傅" in c for c in cues)
    assert not any(c.startswith("坐席") for c in F.call_type_cues(t, "suggestion"))
