"""Call-reason discovery (qa/topics.py) on generated caller reasons.

The reasons are generated here: for each matter several writers' wordings (statements,
questions, complaints, reports), with estates, buildings, rooms, times, greetings and
closing words mixed in, so that a topic model can only separate the matters by their words.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date, timedelta

import pytest

from qa.records import Utterance
from qa.topics import (REMAINDER_LABEL, NamedTopic, ReasonDoc, Topic, Topics, apply_names,
                       by_week, caller_reason, compare, discover, discover_by_estate, merge,
                       reason_terms, similarity)

ESTATES = ["阳光花园", "翠湖苑", "金地华府", "碧水湾", "御景湾"]
NUM = "一二三四五六七八九十"

# matter -> (words a label must contain one of, what is wrong, details, what the caller asks).
# A reason is a "what is wrong" with some of the details and asks, in varying order, so that
# every matter is said in many ways and no fixed sentence repeats. Slots: {place} {time} ….
MATTERS: dict[str, tuple[tuple[str, ...], list[str], list[str], list[str]]] = {
    "leak": (("漏水", "渗水", "滴水", "天花板", "水管", "漏"), [
        "我家{place}漏水了", "{place}天花板一直在滴水", "楼上的水漏到我家{place}了",
        "{place}墙面渗水", "水管爆了，{place}全是水", "{place}的水管接口漏水",
        "{place}又开始漏水了", "{place}吊顶渗水渗得厉害",
    ], [
        "{time}发现的，地上都是水", "墙皮都起泡了", "吊顶都泡得发黄了", "估计是楼上漏下来的",
        "上次修完没两天又漏了", "滴了一晚上", "楼下邻居说他家也湿了", "接了好几盆水",
    ], [
        "你们派人来看看", "能不能尽快来修", "总阀在哪关", "楼上家里没人联系不上",
        "我想报修", "要不要先停水",
    ]),
    "fee": (("物业费", "缴费", "缴纳", "交费"), [
        "我想问一下物业费怎么交", "今年物业费是不是涨了", "物业费缴费截止到哪天",
        "我想缴物业费", "物业费一年要交多少", "物业费比去年多收了",
        "{channel}缴物业费一直失败", "我要交物业费",
    ], [
        "{channel}能交吗", "一平米多少钱", "晚交有没有滞纳金", "线上缴费的入口在哪",
        "能不能按季度缴纳", "缴费单上的金额不对", "老人不会用手机缴费", "能不能去前台缴费",
    ], [
        "你帮我查一下", "给我算一下", "我好准备钱", "上个月的也一起交",
        "不然我先不交了", "有没有优惠",
    ]),
    "noise": (("噪音", "吵", "装修", "扰民"), [
        "楼上{time}一直{noise}", "隔壁装修噪音太大了", "楼下广场舞的音响太吵了",
        "邻居家的噪音实在受不了", "装修的电钻声太吵", "小区里施工噪音很大",
        "楼上又在{noise}", "{time}外面吵得不行",
    ], [
        "吵得睡不着觉", "中午午休时间还在施工", "周末一大早就开始", "孩子没法写作业",
        "吵到半夜", "老人心脏不好受不了", "说了好几次都没用", "严重扰民",
    ], [
        "你们去管一管", "能不能让他们小声点", "装修有没有规定时间", "你们去跟他说一下",
        "再这样我就报警了", "请你们去现场看看",
    ]),
    "parking": (("车位", "停车", "停车费", "车库", "停车位"), [
        "我的车位被别人占了", "地库停车位太少了", "月租车位怎么办理", "小区门口乱停车",
        "车库的车位被人停了", "临时停车费收得太贵", "我买的车位{time}又被占了",
        "外来车辆在小区里乱停",
    ], [
        "{car}一直停在我的车位上", "打电话也不挪车", "堵着路车开不出去", "停了两个小时收了好多",
        "每天回来都没地方停车", "消防通道上都停满了车", "保安也不管", "停车费多少钱",
    ], [
        "你们赶紧让他挪车", "能不能贴个条", "你们保安管不管停车", "我要办月卡",
        "能不能多划几个车位", "把车牌登记一下",
    ]),
    "lift": (("电梯",), [
        "{bldg}的电梯又坏了", "电梯故障好几天了", "电梯里有异响", "电梯{lift}",
        "我们这栋的电梯停运了", "电梯按钮不灵", "电梯门夹人", "电梯又困人了",
    ], [
        "{lift}", "老人上下楼太不方便", "晃得厉害", "有人被困在里面了", "天天这样",
        "电梯门关得太快", "上个月刚修过", "我家住十八楼爬不上去",
    ], [
        "什么时候能修好", "是不是该维保了", "快派人来", "你们让电梯公司来看看",
        "能不能换个新电梯", "维修要多久",
    ]),
    "cleaning": (("垃圾", "保洁", "打扫", "卫生", "清理", "清运"), [
        "楼道里的垃圾好几天没人清理了", "保洁阿姨好几天没来打扫了", "垃圾桶满了没人清运",
        "{bldg}楼道卫生太差了", "垃圾站臭气熏天", "走廊卫生没人管",
        "保洁只扫大门口", "楼梯上的垃圾一直没人扫",
    ], [
        "都臭了", "楼梯上全是灰", "苍蝇特别多", "垃圾堆得到处都是", "地上都是烟头",
        "夏天味道太大", "扶手上一层灰", "纸箱堆在楼道里",
    ], [
        "你们保洁到底管不管", "能不能每天打扫一次", "赶紧派人来清理", "垃圾要及时清运",
        "把保洁的排班给我看看", "你们检查一下卫生",
    ]),
    "invoice": (("发票", "开票"), [
        "我交了物业费想开一张发票", "物业费的发票什么时候能开出来", "上次开的发票抬头写错了",
        "我需要开{inv}", "缴费以后发票怎么拿", "公司报销需要发票", "去年的发票丢了",
        "电子发票一直没收到",
    ], [
        "{inv}", "我要报销", "能不能重开一张发票", "开票要提供什么", "能开电子发票吗",
        "开票信息我发给你", "能补开发票吗", "发票发到我邮箱",
    ], [
        "麻烦你帮我开一下", "多久能开好", "我去前台拿还是寄给我", "税号我等下发你",
        "财务说必须有发票", "发票抬头写公司",
    ]),
}
SLOTS = {
    "place": ["卫生间", "厨房", "阳台", "卧室", "客厅", "吊顶", "墙角"],
    "time": ["昨天晚上", "今天早上", "这几天", "前天半夜", "刚才", "这两天"],
    "channel": ["微信", "支付宝", "公众号", "银行卡", "小程序"],
    "noise": ["跺脚", "拖椅子", "砸墙", "放音乐", "打麻将", "蹦跳"],
    "car": ["一辆白色的车", "一辆外地车", "别人的电动车", "一辆黑色越野车"],
    "bldg": [f"{a}栋" for a in NUM] + [f"{a}号楼" for a in NUM],
    "lift": ["停在五楼不动了", "门关不上", "一直报警", "按了没反应", "下坠了一下"],
    "inv": ["电子发票", "增值税专用发票", "普通发票", "专票"],
}
OPENERS = ["", "", "喂，你好，", "您好，", "你好，我是{estate}{bldg}{room}的业主，",
           "我是{estate}的，", "你好，我住{bldg}{room}，", "喂，是物业吗？", "哎你好，请问一下，"]
CLOSERS = ["", "", "。", "，麻烦尽快处理一下。", "，谢谢。", "，你们看怎么办？", "，我等你们回电话。"]
OFF_TOPIC = [
    "附近哪家银行可以办信用卡",
    "我的快递员今天打不通电话",
    "孩子上学的学区划分是怎么定的",
    "请帮我查一下天然气公司的号码",
    "宽带网速特别慢，运营商是哪家",
    "小区旁边新开的超市几点关门",
    "我想找人帮忙搬家，有没有推荐",
    "社区医院疫苗接种的时间安排",
]


def _room(rng: random.Random) -> str:
    return f"{rng.choice(NUM)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}"


def make_reason(matter: str, rng: random.Random, estate: str, part: slice = slice(None)
                ) -> str:
    """One reason; ``part`` limits the "what is wrong" wordings (another mix of them)."""
    _, wrong, details, asks = MATTERS[matter]
    wrong = wrong[part]
    fill = {k: rng.choice(v) for k, v in SLOTS.items()}
    parts = rng.sample(details, rng.choice((0, 1, 1, 2))) + rng.sample(asks, rng.choice((0, 1, 1)))
    rng.shuffle(parts)
    # most callers say what is wrong first, some start with a detail
    parts.insert(1 if parts and rng.random() < 0.3 else 0, rng.choice(wrong))
    body = "，".join(p.format(**fill) for p in parts)
    opener = rng.choice(OPENERS).format(estate=estate, bldg=fill["bldg"], room=_room(rng))
    return opener + body + rng.choice(CLOSERS)


def make_docs(counts: dict[str, int], seed: int = 0, day: date = date(2026, 11, 2),
              prefix: str = "c", estates: list[str] | None = None,
              parts: dict[str, slice] | None = None
              ) -> tuple[list[ReasonDoc], dict[str, str]]:
    """Reasons for the given number of calls per matter (shuffled) and the truth; ``parts``
    limits a matter's "what is wrong" wordings."""
    parts = parts or {}
    rng = random.Random(seed)
    estates = estates or ESTATES
    items = [m for m, n in counts.items() for _ in range(n)]
    rng.shuffle(items)
    docs, truth = [], {}
    off = 0
    for i, m in enumerate(items):
        estate = rng.choice(estates)
        if m == "off":              # each off-topic reason once
            text, off = OFF_TOPIC[off % len(OFF_TOPIC)], off + 1
        else:
            text = make_reason(m, rng, estate, parts.get(m, slice(None)))
        cid = f"{prefix}{i:05d}"
        docs.append(ReasonDoc(cid, day + timedelta(days=i % 7), estate, text))
        truth[cid] = m
    return docs, truth


def purity(topics: Topics, truth: dict[str, str]) -> float:
    assigned = sum(t.size for t in topics)
    return sum(max(Counter(truth[c] for c in t.call_ids).values()) for t in topics) / assigned


def majority(topic: Topic, truth: dict[str, str]) -> str:
    return Counter(truth[c] for c in topic.call_ids).most_common(1)[0][0]


EVEN = {m: 40 for m in MATTERS}


@pytest.fixture(scope="module")
def week():
    docs, truth = make_docs(EVEN, seed=1)
    return docs, truth, discover(docs)


# ------------------------------------------------------------------------------ reasons
def test_caller_reason_skips_greetings_backchannels_and_agent():
    utts = [
        Utterance("agent", 0.0, 4.0, "您好，阳光花园物业服务中心，请问有什么可以帮您？"),
        Utterance("customer", 4.5, 5.0, "喂？"),
        Utterance("customer", 5.2, 6.0, "嗯，你好你好。"),
        Utterance("agent", 6.1, 7.0, "您好，请讲。"),
        Utterance("customer", 7.5, 12.0, "喂，是物业吗？我家卫生间天花板漏水了。"),
        Utterance("agent", 12.2, 13.0, "嗯嗯"),
        Utterance("customer", 13.5, 15.0, "对。"),
        Utterance("customer", 15.5, 18.0, "我姓周，九栋二单元一零零二。"),
        Utterance("customer", 18.5, 25.0, "水是从楼上渗下来的，墙皮都泡起来了，地板也湿了一大片，"
                                          "柜子都要泡坏了，楼上家里一直没人，敲门也没人应。"),
        Utterance("customer", 40.0, 45.0, "好的谢谢，那我等师傅电话，这次一定要修好啊，不然楼下也要遭殃了。"),
    ]
    reason = caller_reason(utts)
    assert reason.startswith("我家卫生间天花板漏水了")
    assert "楼上渗下来" in reason
    for said in ("喂", "你好", "是物业吗", "请讲", "有什么可以帮您", "我姓周"):
        assert said not in reason
    # enough said after the first two substantive turns: the later words are not taken
    assert "等师傅电话" not in reason


def test_caller_reason_time_order_dicts_and_length_cap():
    rows = [  # rows from the database, out of order
        {"speaker": "customer", "start": 20.0, "text": "还有，这个月的物业费怎么交？"},
        {"speaker": "customer", "start": 3.0, "text": "你好。"},
        {"speaker": "agent", "start": 0.0, "text": "您好，物业服务中心。"},
        {"speaker": "customer", "start": 6.0, "text": "电梯坏了。"},
    ]
    assert caller_reason(rows) == "电梯坏了。还有，这个月的物业费怎么交？"
    long = [{"speaker": "customer", "start": 0.0,
             "text": "我跟你说，" + "楼上装修天天砸墙，吵得老人孩子都休息不了，" * 8}]
    r = caller_reason(long)
    assert 20 <= len(r) <= 100 and r.startswith("楼上装修")
    assert caller_reason([{"speaker": "customer", "start": 0, "text": "喂，你好，嗯嗯，对。"}]) == ""


def test_caller_reason_without_separated_parties():
    utts = [{"speaker": "unknown", "start": 0.0, "text": "您好，工号一零二三为您服务，请问有什么可以帮您？"},
            {"speaker": "unknown", "start": 4.0, "text": "你好，我们楼的电梯按了没反应，一直停在五楼。"}]
    assert caller_reason(utts) == "我们楼的电梯按了没反应，一直停在五楼。"


def test_reason_terms_drop_estates_numbers_and_politeness():
    terms = reason_terms("喂，你好，我是阳光花园九栋二单元一零零二的业主周先生，麻烦问一下物业费怎么交，谢谢")
    assert "物业费" in terms
    for word in ("阳光", "花园", "阳光花园", "九栋", "业主", "你好", "谢谢", "麻烦", "周先生"):
        assert word not in terms
    assert not any(t[0] in "一二三四五六七八九零0123456789" for t in terms)
    assert "海棠" not in reason_terms("海棠苑的车位被占了", estates=["海棠苑"])


# ------------------------------------------------------------------------------ discovery
def test_topics_separate_the_matters(week):
    docs, truth, topics = week
    assert 7 <= len(topics) <= 12
    assert purity(topics, truth) >= 0.8
    covered = sum(t.size for t in topics) / len(docs)
    assert covered >= 0.9
    found = {majority(t, truth) for t in topics}
    assert found == set(MATTERS)          # every matter has a topic of its own
    assert sum(t.share for t in topics) == pytest.approx(covered)


def test_labels_name_the_matter(week):
    _, truth, topics = week
    main: dict[str, Topic] = {}
    for t in topics:               # largest first: the first topic of a matter is its main one
        main.setdefault(majority(t, truth), t)
    for matter, t in main.items():
        words = MATTERS[matter][0]
        assert any(w in t.label for w in words), (t.label, matter)
    # a wording without the matter's word (楼上又在蹦跳) may make a smaller topic of its own
    assert len(topics) - len(main) <= 2
    for t in topics:
        assert 2 <= len(t.label.split("·")) <= 3
        assert len(t.terms) == 5 and t.key == "|".join(sorted(w for w, _ in t.terms))
        assert 1 <= len(t.examples) <= 3 and t.examples[0][0] == t.call_ids[0]
        assert t.size == len(t.call_ids)


def test_deterministic():
    docs, _ = make_docs({"leak": 15, "fee": 15, "noise": 15, "lift": 15}, seed=7)
    a, b = discover(docs), discover(list(docs))
    assert [t.to_dict() for t in a] == [t.to_dict() for t in b]
    assert a.components == b.components and a.n_docs == b.n_docs


def test_off_topic_calls_go_to_the_remainder():
    docs, truth = make_docs({**{m: 25 for m in MATTERS}, "off": 8}, seed=3)
    topics = discover(docs)
    assert topics.remainder is not None and topics.remainder.label == REMAINDER_LABEL
    rem = set(topics.remainder.call_ids)
    off = {c for c, m in truth.items() if m == "off"}
    assert len(off & rem) >= 6
    assert len(rem - off) <= 0.1 * len(docs)
    assert sum(t.size for t in topics) + topics.remainder.size == len(docs) == topics.n_docs
    assert not any(c in rem for t in topics for c in t.call_ids)


def test_small_and_empty_inputs():
    assert discover([]) == [] and discover([]).remainder is None
    few = [ReasonDoc("a", date(2026, 11, 2), None, "电梯坏了"),
           ReasonDoc("b", date(2026, 11, 2), None, "你好")]
    t = discover(few)
    assert len(t) == 0 and t.remainder.size == 2
    with pytest.raises(ValueError):
        discover(few, n_topics=0)


def test_fixed_number_of_topics():
    docs, truth = make_docs({"leak": 30, "lift": 30, "invoice": 30}, seed=5)
    topics = discover(docs, n_topics=3)
    assert len(topics) == 3 and topics.components == 3
    assert {majority(t, truth) for t in topics} == {"leak", "lift", "invoice"}


def test_by_estate():
    big, _ = make_docs({"leak": 20, "noise": 20}, seed=11, estates=["翠湖苑"], prefix="a")
    small, _ = make_docs({"fee": 5}, seed=12, estates=["碧水湾"], prefix="b")
    out = discover_by_estate(big + small, min_docs=20)
    assert set(out) == {"翠湖苑", "碧水湾"}
    assert len(out["翠湖苑"]) >= 2 and all(t.estate == "翠湖苑" for t in out["翠湖苑"])
    assert len(out["碧水湾"]) == 0 and out["碧水湾"].remainder.size == 5
    assert not any("翠湖" in w for t in out["翠湖苑"] for w, _ in t.terms)


# ------------------------------------------------------------------------------ weeks
def test_week_on_week_new_growing_and_disappeared():
    last, _ = make_docs({"leak": 40, "fee": 40, "noise": 15, "cleaning": 30}, seed=21)
    this, truth = make_docs({"leak": 40, "fee": 40, "noise": 45, "lift": 30}, seed=22,
                            day=date(2026, 11, 9))
    prev, cur = discover(last), discover(this)
    changes = compare(cur, prev)
    assert len(changes) == len(cur)
    by_matter: dict[str, Counter] = {}
    for ch in changes:
        by_matter.setdefault(majority(ch.topic, truth), Counter())[ch.status] += ch.topic.size
    assert set(by_matter["lift"]) == {"new"}
    # noise tripled: most of its calls are in topics marked growing (a wording of its own
    # may come out as a topic of its own, linked or not)
    assert by_matter["noise"]["growing"] >= 0.6 * sum(by_matter["noise"].values())
    assert set(by_matter["leak"]) == {"steady"} and set(by_matter["fee"]) == {"steady"}
    growing = next(ch for ch in changes if ch.status == "growing")
    assert growing.previous is not None and growing.previous_size < growing.size
    assert growing.expected_size == pytest.approx(
        sum(p.share for p in growing.previous_topics) * len(this))
    gone = {w for t in changes.disappeared for w, _ in t.terms}
    assert gone & {"垃圾", "保洁", "打扫", "卫生", "清理"}
    assert all(ch.status_zh for ch in changes)


def test_small_absolute_change_is_steady():
    vec = {"电梯": 0.9, "坏了": 0.4}

    def topic(size: int, n: int) -> Topic:
        return Topic("坏了|电梯", list(vec.items()), "电梯·坏了", size,
                     [f"x{i}" for i in range(size)], [], size / n, dict(vec))

    assert compare([topic(2, 100)], [topic(1, 100)])[0].status == "steady"
    assert compare([topic(12, 100)], [topic(4, 100)])[0].status == "growing"
    # same count, but last week had twice the calls: the share doubled
    ch = compare([topic(12, 100)], [topic(12, 200)])[0]
    assert ch.status == "growing" and ch.expected_size == pytest.approx(6)
    assert compare([topic(3, 100)], [topic(12, 100)])[0].status == "shrinking"
    assert compare([topic(3, 100)], [topic(12, 100)], threshold=1.01)[0].status == "new"


# ------------------------------------------------------------------------------ names
def _topic_of(topics: Topics, truth: dict[str, str], matter: str) -> Topic:
    return max((t for t in topics if majority(t, truth) == matter), key=lambda t: t.size)


def test_a_name_survives_to_the_next_period():
    # this week leaks are said in the first half of the wordings, next week in the other
    docs1, truth1 = make_docs({"leak": 40, "fee": 30, "noise": 30, "parking": 20}, seed=31,
                              parts={"leak": slice(0, 4)})
    t1 = discover(docs1)
    leak = _topic_of(t1, truth1, "leak")
    named = [NamedTopic.from_topic(leak, "楼上漏水")]
    docs2, truth2 = make_docs({"leak": 15, "fee": 45, "noise": 10, "lift": 30, "parking": 20},
                              seed=32, day=date(2026, 11, 9), prefix="d",
                              parts={"leak": slice(4, None)})
    t2 = apply_names(discover(docs2), named)
    assert isinstance(t2, Topics)
    carrying = [t for t in t2 if t.name == "楼上漏水"]
    assert len(carrying) == 1 and majority(carrying[0], truth2) == "leak"
    assert carrying[0].title == "楼上漏水"
    assert all(t.name is None for t in t2 if t is not carrying[0])
    # the names are plain data (stored elsewhere)
    assert NamedTopic.from_dict(named[0].to_dict()) == named[0]


def test_a_merge_joins_two_topics():
    docs, truth = make_docs({"fee": 40, "invoice": 40, "lift": 40}, seed=41)
    topics = discover(docs)
    fee, inv = _topic_of(topics, truth, "fee"), _topic_of(topics, truth, "invoice")
    named = merge(fee, [inv], name="物业费与发票")
    assert named[1].merged_into == "物业费与发票"
    merged = apply_names(topics, named)
    assert len(merged) == len(topics) - 1
    joint = [t for t in merged if t.name == "物业费与发票"]
    assert len(joint) == 1
    j = joint[0]
    assert j.size == fee.size + inv.size
    assert set(j.call_ids) == set(fee.call_ids) | set(inv.call_ids)
    assert set(j.examples) >= set(fee.examples) | set(inv.examples)
    assert j.share == pytest.approx(fee.share + inv.share)
    assert set(j.merged_keys) == {fee.key, inv.key}
    # next period, new calls: both matters still counted as one
    docs2, truth2 = make_docs({"fee": 20, "invoice": 30, "lift": 20, "noise": 30}, seed=42,
                              prefix="n")
    later = apply_names(discover(docs2), named)
    joint2 = [t for t in later if t.name == "物业费与发票"]
    assert len(joint2) == 1
    assert Counter(truth2[c] for c in joint2[0].call_ids).keys() >= {"fee", "invoice"}
    # and the named topic matches its own period's topic in compare
    assert compare(later, merged)[[t.name for t in later].index("物业费与发票")].status \
        != "new"


def test_names_merged_in_a_circle_do_not_hang():
    vec = {"电梯": 0.9, "坏了": 0.4}
    t = Topic("坏了|电梯", list(vec.items()), "电梯·坏了", 3, ["a", "b", "c"], [], 0.3, dict(vec))
    named = [NamedTopic("甲", dict(vec), merged_into="乙"), NamedTopic("乙", {"x": 1.0}, "甲")]
    assert [x.name for x in apply_names([t], named)] in (["甲"], ["乙"])
    assert apply_names([t], [NamedTopic("无关", {"噪音": 1.0})])[0].name is None


def test_records_round_trip_and_weeks(week):
    _, _, topics = week
    t = topics[0]
    assert Topic.from_dict(t.to_dict()) == t
    docs = [ReasonDoc("a", date(2026, 11, 15), None, "x"), ReasonDoc("b", date(2026, 11, 16),
                                                                      None, "y")]
    assert {w: [d.call_id for d in ds] for w, ds in by_week(docs).items()} == \
        {"2026-W46": ["a"], "2026-W47": ["b"]}


def test_similarity():
    assert similarity({"a": 1.0}, {"a": 2.0}) == pytest.approx(1.0)
    assert similarity({"a": 1.0}, {"b": 1.0}) == 0.0
    assert similarity({}, {"a": 1.0}) == 0.0


def test_speed_on_a_big_week():
    docs, truth = make_docs({m: 300 for m in MATTERS}, seed=51)
    t0 = time.perf_counter()
    topics = discover(docs)
    assert time.perf_counter() - t0 < 10
    assert purity(topics, truth) >= 0.8
