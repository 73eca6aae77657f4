"""Sound-alike correction with the domain vocabulary (transcribe/soundalike.py) and the
estates the product is configured with reaching the recogniser."""
from __future__ import annotations

import json

import pytest

from transcribe.normalize import Vocabulary
from transcribe.soundalike import (SoundAlikeCorrector, correct_building_numbers,
                                   syllable_similarity)

ESTATES = ["阳光花园", "翠湖苑", "金地华府", "碧水湾", "御景湾", "世纪城", "紫荆花园"]


@pytest.fixture(scope="module")
def corrector() -> SoundAlikeCorrector:
    return SoundAlikeCorrector(Vocabulary.load().with_names(ESTATES))


def test_syllable_similarity():
    assert syllable_similarity("是", "是") == 1.0
    assert syllable_similarity("世", "是") == 1.0          # same sounds, other tone
    assert syllable_similarity("景", "紧") == 0.9          # jing / jin
    assert syllable_similarity("久", "景") == 0.4          # jiu / jing: only the initial
    assert syllable_similarity("起", "几") == 0.7          # qi / ji
    assert syllable_similarity("耐", "电") == 0.0
    assert syllable_similarity("a", "是") == 0.0


#: (stage, heard, meant): what each stage corrects, and right text it must leave alone.
CASES = {
    "estate name in the greeting slot": [
        ("您好，遇久万物业服务中心，请问有什么可以帮您？", "您好，御景湾物业服务中心，请问有什么可以帮您？"),
        ("您好，此今花言物业服务中心", "您好，紫荆花园物业服务中心"),
        ("您好，退湖苑物业客服", "您好，翠湖苑物业客服"),
        ("您好，必须万物业服务中心", "您好，碧水湾物业服务中心"),
        # 阳光物业 ends with the anchor itself: the words before 物业服务中心 stay
        ("也可以到1号楼底商的物业服务中心前台交", "也可以到1号楼底商的物业服务中心前台交"),
    ],
    "term that sounds exactly alike and is no word": [
        ("十二栋那个点踢又坏了", "十二栋那个电梯又坏了"),
        ("让宝杰过去清", "让保洁过去清"),
        ("您的防耗是多少", "您的房号是多少"),
        ("我要报案", "我要报案"),  # 报案 is a word: not 保安
    ],
    "stock phrase": [
        ("请问您世纪冻结后，贵姓。", "请问您是几栋几号，贵姓。"),
        ("不好意思，给您骗麻烦了", "不好意思，给您添麻烦了"),
        ("会在五个工作室之内给您回电话", "会在五个工作日之内给您回电话"),
        ("跟您合对一下", "跟您核对一下"),
        ("感谢您的耐心等待", "感谢您的耐心等待"),  # 耐心 sounds nothing like 来电
        ("具体是九栋几单元几号", "具体是九栋几单元几号"),  # a number said never becomes 几
        ("请问是二十一栋几单元", "请问是二十一栋几单元"),
    ],
    "building number": [
        ("酒洞二单元一零零二", "九栋二单元一零零二"),
        ("时期动三零八", "十七栋三零八"),
        ("我是时期动饿三零八", "我是十七栋饿三零八"),
        ("十次动206", "十四栋206"),
        ("我是山洞的业主", "我是三栋的业主"),
        ("我是酒冬的", "我是九栋的"),  # 是 is heard right: not 十九栋
        ("启动一单言一一零三", "七栋一单言一一零三"),
        ("八多二单元", "八栋二单元"),  # vocabulary pattern
        ("空调启动的时候有噪音", "空调启动的时候有噪音"),
        ("项目启动了", "项目启动了"),
    ],
    "surname before 先生/女士": [
        ("正先生，五栋一单元", "郑先生，五栋一单元"),
        ("两先生，六栋一单元九零二", "梁先生，六栋一单元九零二"),
        ("和女士", "何女士"),
        ("这位先生您好", "这位先生您好"),
        ("老先生腿脚不好", "老先生腿脚不好"),
    ],
}


@pytest.mark.parametrize("heard, meant", [
    pytest.param(heard, meant, id=f"{stage}: {heard}")
    for stage, cases in CASES.items() for heard, meant in cases])
def test_correction(corrector, heard, meant):
    assert corrector(heard) == meant


def test_estates_come_from_the_vocabulary_given():
    heard = "您好，金帝华服物业服务中心"
    assert SoundAlikeCorrector(Vocabulary.load())(heard) == heard  # not a shipped estate
    assert SoundAlikeCorrector(Vocabulary.load().with_names(["金地华府"]))(heard) == \
        "您好，金地华府物业服务中心"


def test_building_numbers_need_an_address_context():
    assert correct_building_numbers("移动公司") == "移动公司"
    assert correct_building_numbers("我是移动的") == "我是一栋的"
    assert correct_building_numbers("他启动的") == "他启动的"


def test_true_transcripts_are_left_unchanged(corrector, truth_files):
    """Correct text must survive the corrector: every utterance of the 40 true transcripts."""
    changed = []
    for f in truth_files:
        for u in json.loads(f.read_text("utf-8"))["utterances"]:
            if corrector(u["text"]) != u["text"]:
                changed.append((f.name, u["text"], corrector(u["text"])))
    assert changed == []


def test_product_vocabulary_has_the_configured_estates(qa_home, monkeypatch):
    from qa import reports
    from qa.pipeline import product_vocabulary
    from qa.settings import get_settings

    assert "翠湖苑" in product_vocabulary().names  # qa/config/reports.yaml
    monkeypatch.setenv("HOTLINE_QA_ESTATES", "滨江一号, 金色家园")
    get_settings.cache_clear()
    reports._default_config.cache_clear()
    v = product_vocabulary()
    assert {"滨江一号", "金色家园"} <= set(v.names) and "滨江一号" in v.terms
    assert SoundAlikeCorrector(v)("早上好，冰江一号物业服务中心") == "早上好，滨江一号物业服务中心"


def test_transcriber_takes_estates_from_its_settings():
    from transcribe.engine import Transcriber
    from transcribe.settings import TranscribeSettings

    tr = Transcriber(settings=TranscribeSettings(estates="滨江一号,御景湾"))
    assert {"滨江一号", "御景湾"} <= set(tr.vocabulary.names)
