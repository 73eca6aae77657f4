"""Text normalisation, hallucination guard, sound-alike correction, levels and pitch."""
from __future__ import annotations

import numpy as np
import pytest

from transcribe.engine import fit_words_to_speech, split_utterances
from transcribe.measure import active_level_dbfs, pitch_stats
from transcribe.normalize import (Vocabulary, chinese_punctuation,
                                  known_hallucination, normalize_for_cer, runaway_repetition,
                                  to_simplified)
from transcribe.records import Word
from transcribe.soundalike import SoundAlikeCorrector


def test_simplified_on_whole_text():
    assert to_simplified("請問您貴姓，物業服務中心") == "请问您贵姓，物业服务中心"
    # phrase context matters: 答覆 → 答复, while the lone word 覆 stays 覆
    assert to_simplified("我給您答覆") == "我给您答复"
    assert "".join(to_simplified(w) for w in ["答", "覆"]) == "答覆"


def test_punctuation():
    assert chinese_punctuation("好的,請稍等?") == "好的，請稍等？"
    assert chinese_punctuation("喂 你好 我是九栋的") == "喂你好我是九栋的"
    assert chinese_punctuation("三点五是3.5") == "三点五是3.5"


def test_cer_normalisation():
    assert normalize_for_cer("九棟2單元1002，幺三九！ OK") == "九栋二单元一零零二一三九ok"


@pytest.mark.parametrize("text", ["字幕由Amara.org社群提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
                                  "谢谢观看!"])
def test_known_hallucinations(text):
    assert known_hallucination(to_simplified(text))


def test_real_speech_is_not_a_hallucination():
    assert not known_hallucination("谢谢您的来电，再见")
    assert not runaway_repetition("好的，好的，我马上安排师傅上门")
    assert runaway_repetition("好的好的好的好的好的好的好的好的")
    assert runaway_repetition("嗯" * 12)


def test_sound_alike_correction():
    c = SoundAlikeCorrector(Vocabulary.load())
    assert c("阳光物业服务中兴") == "阳光物业服务中心"
    assert c("我是物叶的") == "我是物业的"
    assert c("卫生尖漏水") == "卫生间漏水"
    assert c("天天都来") == "天天都来"  # nothing like a term: unchanged
    assert c("物业服务中心") == "物业服务中心"


def test_vocabulary_file_errors(tmp_path):
    p = tmp_path / "v.yaml"
    p.write_text("terms: 物业\n", encoding="utf-8")
    with pytest.raises(ValueError, match="terms"):
        Vocabulary.load(p)
    p.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mapping"):
        Vocabulary.load(p)
    p.write_text("estates: [金地华府]\ncorrections: {鸡尾灰: 居委会}\nuse_hotwords: true\n",
                 encoding="utf-8")
    v = Vocabulary.load(p)
    assert "金地华府" in v.terms and v.hotword_text() == "金地华府"
    assert SoundAlikeCorrector(v)("找鸡尾灰，金地花府") == "找居委会，金地华府"


def _w(start, end, text="字"):
    return Word(start=start, end=end, text=text)


def test_split_utterances_by_pause_and_turns():
    words = [_w(0, 0.5), _w(0.6, 1.0), _w(1.5, 2.0), _w(5.0, 5.5)]
    assert [len(g) for g in split_utterances(words)] == [3, 1]
    other = [_w(1.1, 1.3)]  # the other party spoke in the 0.5 s pause
    assert [len(g) for g in split_utterances(words, other)] == [2, 1, 1]


def test_active_level():
    sr = 16000
    t = np.arange(2 * sr) / sr
    sine = 0.5 * np.sin(2 * np.pi * 300 * t)
    assert active_level_dbfs(sine, sr) == pytest.approx(-9.0, abs=0.1)
    gapped = sine.copy()
    gapped[sr:] = 1e-4 * np.random.default_rng(0).standard_normal(sr)  # a pause
    assert active_level_dbfs(gapped, sr) == pytest.approx(-9.0, abs=0.2)
    assert active_level_dbfs(np.zeros(sr), sr) is None
    assert active_level_dbfs(sine, sr, 0.5, 0.502) is None


@pytest.mark.parametrize("f0", [90.0, 180.0, 260.0, 350.0])
def test_pitch(f0):
    sr = 8000
    t = np.arange(sr) / sr
    # a glide of ±2 semitones around f0
    inst = f0 * 2 ** (2 / 12 * np.sin(2 * np.pi * 1.0 * t))
    x = 0.3 * np.sin(2 * np.pi * np.cumsum(inst) / sr)
    med, std = pitch_stats(x, sr)
    assert med == pytest.approx(f0, rel=0.03)
    assert 1.0 < std < 2.0
    assert pitch_stats(0.1 * np.random.default_rng(0).standard_normal(sr), sr) == (None, None)


def test_lone_word_after_a_finished_sentence_is_split_off():
    # "…排班。" then, after a 0.9 s pause before a hold, a stray "周" (next turn's first word)
    words = [Word(53.36, 53.6, "排"), Word(53.6, 53.84, "班。"), Word(54.74, 55.26, "周")]
    assert [len(g) for g in split_utterances(words, sentence_gap_s=0.6)] == [2, 1]
    assert [len(g) for g in split_utterances(words)] == [3]
    # a pause inside a sentence, or a short one after it, keeps the word
    mid = [Word(0, 0.3, "排"), Word(0.3, 0.5, "班，"), Word(1.4, 1.6, "周")]
    assert [len(g) for g in split_utterances(mid, sentence_gap_s=0.6)] == [3]
    short = [Word(0, 0.3, "排"), Word(0.3, 0.5, "班。"), Word(0.9, 1.1, "周")]
    assert [len(g) for g in split_utterances(short, sentence_gap_s=0.6)] == [3]


def test_fit_words_to_speech_clamps_drops_and_stretches():
    regions = [(10.0, 14.0), (20.0, 22.0)]
    words = [Word(9.5, 10.6, "您"), Word(10.6, 11.0, "好"), Word(13.5, 14.0, "再见。"),
             Word(13.95, 14.3, "周"),          # wholly in the trailing padding: dropped
             Word(20.5, 21.0, "喂"), Word(21.0, 23.5, "你好")]
    kept, dropped = fit_words_to_speech(words, regions, trim_s=0.1)
    assert [w.text for w in dropped] == ["周"]
    assert [(w.start, w.end) for w in kept] == [(10.1, 10.6), (10.6, 11.0), (13.5, 13.9),
                                                (20.5, 21.0), (21.0, 21.9)]
    kept, _ = fit_words_to_speech(words, regions, trim_s=0.1, extend_s=0.3)
    # first word of a chunk starts by chunk start + 0.3, last one ends no earlier than end - 0.3
    assert (kept[3].start, kept[4].end) == (20.3, 21.9)
    late = [Word(10.8, 11.0, "嗯"), Word(11.2, 12.0, "对。")]
    kept, _ = fit_words_to_speech(late, regions, trim_s=0.1, extend_s=0.3)
    assert (kept[0].start, kept[-1].end) == (10.3, 13.7)
    assert fit_words_to_speech(words, [], 0.1) == (words, [])


def test_shipped_vocabulary_patterns_fix_building_numbers_and_sound_alikes(tmp_path):
    c = SoundAlikeCorrector(Vocabulary.load())
    assert c("我是九动二单元，给您先麻烦了，别著急") == "我是九栋二单元，给您添麻烦了，别着急"
    assert c("电话要八九，六二腰五") == "电话幺八九，六二幺五"
    # left alone: ordinary words that only look alike
    for text in ("一动不动", "先麻烦您登记一下", "著名的小区", "效果显著", "要八九天才能修好",
                 "我要一个"):
        assert c(text) == text
    p = tmp_path / "v.yaml"
    p.write_text("patterns: [['(unclosed', 'x']]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="pattern"):
        Vocabulary.load(p)
    p.write_text("patterns: ['not a pair']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="patterns"):
        Vocabulary.load(p)
