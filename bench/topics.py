#!/usr/bin/env python3
"""Benchmark of call-reason discovery (qa/topics.py); prints its figures.

Three sources, none of them the wording the tests generate:

1. The 40 scripted calls' true transcripts (``../shared/data/calls/pub-*.truth.json``): the
   caller's reason of each (:func:`qa.topics.caller_reason`), the topics found over all of
   them (label, size, examples) and in two halves by ISO week (the earlier weeks against the
   later), with the time taken. Forty calls about some thirty matters: the point is to read
   the labels and the remainder, not a score.
2. A second writer's synthetic reasons (this file; other sentence forms, other matters than
   the tests' generator, a long tail and up to 32 off-topic reasons, each said once): purity
   (share of the reasons in a topic whose matter is its topic's majority), coverage (share of
   the on-topic reasons in a topic), matters with a topic of their own, and the time of
   ``discover()`` at 5 000 reasons (the jieba dictionary loaded beforehand; cold: no reason
   tokenised yet).
3. The classifier's training corpus (``classifiers/corpus/corpus.jsonl``: complaint, repair
   and inquiry calls, labelled with a scenario of ~28 kinds, with simulated recognition
   errors): purity and coverage against the scenario.

Usage::

    .venv/bin/python bench/topics.py [--docs 5000] [--repeat 3] [-v]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED_CALLS = REPO.parent / "shared" / "data" / "calls"
CORPUS = REPO / "classifiers" / "corpus" / "corpus.jsonl"

from qa.topics import (ReasonDoc, Topics, caller_reason, compare, discover,  # noqa: E402
                       discover_by_estate)

# --------------------------------------------------------------------------- second writer
# matter -> sentences (slots {w} where, {t} when, {n} a number); weights give a long tail.
WRITER_B: dict[str, tuple[float, list[str]]] = {
    "渗漏": (14, ["{t}下雨，{w}的墙又往里渗水了", "顶上在滴水，{w}地板都湿透了", "楼上漏水漏到我家{w}来了",
                "{w}的管子在漏，水一直往外冒", "我家{w}天花板渗漏，一块一块的水印",
                "{w}那里又漏了，上回说修好了的", "漏水的事情你们到底什么时候来处理", "{w}返潮渗水，墙皮全掉了"]),
    "缴费": (12, ["物业费现在可以线上交了吗", "{n}年的物业费我想一次交清", "物业费标准是每平米多少",
                "我物业费交了但系统还显示欠费", "物业费的缴费方式有哪些", "能不能用微信缴物业费",
                "物业费催缴单上的金额对不上", "我想问物业费有没有滞纳金"]),
    "噪音": (10, ["{t}楼上吵得要命，根本没法睡", "装修噪音从早上七点就开始了", "隔壁装修电钻噪音一整天",
                "楼下有人半夜唱歌，太吵了", "广场舞噪音太大，能不能管一下", "{t}外面施工的噪音吵死了",
                "楼上小孩天天在跑，吵得头疼"]),
    "停车": (9, ["我的固定车位{t}又被别人停了", "地下车库的车位被占，车停不进去", "外面的车随便进小区停车",
                "停车场收费太贵了，一小时{n}块", "月租车位还能不能办", "消防通道停满了车，没人管停车",
                "车位被人占了好几天"]),
    "电梯": (8, ["{n}号楼的电梯坏了，爬楼太累", "电梯困人了，里面有老人", "电梯一直响警报",
                "电梯运行的时候晃得很厉害", "电梯{t}又停了", "电梯门开开关关的关不上",
                "电梯故障这个月第{n}次了"]),
    "保洁": (7, ["楼道{t}没有人打扫，脏得不行", "保洁把垃圾堆在电梯口", "垃圾{t}没清运，臭死了",
                "楼梯间卫生太差，到处是灰", "保洁员只打扫一楼", "垃圾桶周围全是垃圾没人清理"]),
    "发票": (5, ["交完物业费想开发票", "物业费的电子发票在哪里下载", "发票抬头要改成公司的",
                "我要开一张停车费的发票", "能开增值税专用发票吗", "发票一直没有寄给我"]),
    "门禁": (4, ["门禁卡刷不开单元门", "我的门禁卡丢了要补办", "单元门禁坏了，谁都能进",
                "人脸识别门禁一直识别不了", "门禁卡消磁了，进不去门"]),
    "停水": (4, ["{t}突然停水了，也没通知", "家里没水了，是不是停水", "停水什么时候恢复",
                "水压太小，水龙头出水很细", "自来水发黄，有股味道"]),
    "宠物": (3, ["邻居家的狗天天叫", "有人遛狗不拴绳，把小孩吓到了", "草坪上全是狗屎没人管",
                "楼上养的猫半夜叫"]),
    "绿化": (2, ["小区的草坪好久没修剪了", "楼下的树枝挡住了我家窗户", "绿化带里的树枯死了好几棵"]),
    "路灯": (2, ["小区路灯坏了，晚上黑漆漆的", "楼道灯一直不亮", "地库的灯坏了一大片"]),
}
WHERE = ["卧室", "客厅", "厨房", "卫生间", "阳台", "次卧", "书房"]
WHEN = ["昨晚", "今早", "这两天", "周末", "刚刚", "上礼拜", "连着三天"]
OPEN_B = ["", "", "", "喂，", "你好你好，", "您好，我是{e}的业主，", "我住{e}{n}栋，", "哎，请问是物业吗？"]
TAIL_B = ["", "", "", "。", "，赶紧处理吧。", "，谢谢啊。", "，这个事情怎么解决？", "，你们管不管？",
          "，我都打了好几次电话了。"]
ESTATES_B = ["阳光花园", "翠湖苑", "金地华府", "世纪城", "东湖湾", "和谐家园"]
# Off-topic reasons, each said once (no two share a content word).
OFF_TOPIC_B = [
    "附近哪家银行周末营业", "孩子转学需要开什么证明", "社区医院能不能打流感疫苗", "地铁站末班车几点",
    "想找个钢琴老师给孩子上课", "邮局寄包裹到国外贵不贵", "驾校报名现在多少钱", "公园门票老年人免费吗",
    "图书馆借书证怎么办", "电影院新上映什么片子", "加油站的会员卡能退吗", "药店有没有卖血压计",
    "花店能送货上门吗", "理发店推荐一家", "博物馆预约要身份证吗", "火车票改签怎么操作",
    "我家猫粮哪个牌子好", "手机屏幕摔碎了去哪修", "护照过期了怎么换", "个人所得税怎么申报",
    "高考志愿怎么填比较好", "楼下新开的健身房靠谱吗", "想学游泳有什么培训班", "医保卡丢了去哪挂失",
    "结婚登记要带什么材料", "出国旅游签证怎么办", "家里老人想上老年大学", "彩票中奖怎么兑奖",
    "二手自行车在哪卖", "外卖平台退款不到账", "信用卡年费能免吗", "养老保险断缴了怎么补",
]


def writer_b(n: int, seed: int = 0, day: date = date(2026, 11, 2)
             ) -> tuple[list[ReasonDoc], dict[str, str]]:
    """``n`` reasons of the second writer and their matters; 2 % are off-topic, each said
    once (at most ``len(OFF_TOPIC_B)`` of them)."""
    rng = random.Random(seed)
    matters = list(WRITER_B)
    weights = [WRITER_B[m][0] for m in matters]
    docs, truth = [], {}
    off = rng.sample(OFF_TOPIC_B, len(OFF_TOPIC_B))
    for i in range(n):
        cid = f"b{i:05d}"
        estate = rng.choice(ESTATES_B)
        if off and rng.random() < 0.02:
            text, m = off.pop(), "off"
        else:
            m = rng.choices(matters, weights)[0]
            text = rng.choice(WRITER_B[m][1]).format(w=rng.choice(WHERE), t=rng.choice(WHEN),
                                                     n=rng.randint(2, 30))
            text = rng.choice(OPEN_B).format(e=estate, n=rng.randint(1, 30)) + text + \
                rng.choice(TAIL_B)
        docs.append(ReasonDoc(cid, day + timedelta(days=i % 7), estate, text))
        truth[cid] = m
    return docs, truth


def scores(topics: Topics, truth: dict[str, str], ignore: str = "off") -> dict[str, float]:
    assigned = sum(t.size for t in topics)
    majority = [Counter(truth[c] for c in t.call_ids).most_common(1)[0] for t in topics]
    on = [c for c, m in truth.items() if m != ignore]
    off = [c for c, m in truth.items() if m == ignore]
    rem = set(topics.remainder.call_ids) if topics.remainder else set()
    return {"topics": len(topics),
            "purity": sum(n for _, n in majority) / max(1, assigned),
            "coverage": sum(1 for c in on if c not in rem) / max(1, len(on)),
            "off_in_remainder": sum(1 for c in off if c in rem) / len(off) if off else float("nan"),
            "matters": len({m for m, _ in majority}),
            "n_matters": len({m for m in truth.values() if m != ignore})}


def show(topics: Topics, n_examples: int = 2, width: int = 60) -> None:
    for t in topics:
        print(f"  {t.size:4d}  {t.share * 100:5.1f}%  {t.title:22s}  "
              f"[{', '.join(f'{w}:{v:.2f}' for w, v in t.terms)}]")
        for cid, text in t.examples[:n_examples]:
            print(f"          {cid}: {text[:width]}")
    if topics.remainder:
        r = topics.remainder
        print(f"  {r.size:4d}  {r.share * 100:5.1f}%  其他（未归入话题）")
        for cid, text in r.examples[:n_examples]:
            print(f"          {cid}: {text[:width]}")


# --------------------------------------------------------------------------- sources
def shared_calls(verbose: bool) -> None:
    from qa.reports import ReportConfig, extract_estate

    files = sorted(SHARED_CALLS.glob("pub-*.truth.json"))
    if not files:
        print(f"\n[1] shared calls: none under {SHARED_CALLS} (skipped)")
        return
    config = ReportConfig.load()
    t0 = time.perf_counter()
    docs, titles = [], {}
    for f in files:
        d = json.loads(f.read_text(encoding="utf-8"))
        day = datetime.fromisoformat(d["metadata"]["started_at"]).date()
        docs.append(ReasonDoc(d["call_id"], day, extract_estate(d, config),
                              caller_reason(d["utterances"])))
        titles[d["call_id"]] = d.get("title", "")
    t_reason = time.perf_counter() - t0
    t0 = time.perf_counter()
    topics = discover(docs)
    t_disc = time.perf_counter() - t0
    print(f"\n[1] shared calls: {len(docs)} true transcripts; reasons {t_reason * 1000:.0f} ms, "
          f"discover {t_disc * 1000:.0f} ms; {len(topics)} topics, "
          f"{topics.remainder.size if topics.remainder else 0} in 其他")
    show(topics)
    for t in topics:
        print(f"  {t.title}: " + "; ".join(f"{c} {titles[c][:18]}" for c in t.call_ids))
    if verbose:
        for d in docs:
            print(f"    {d.call_id} [{d.estate}] {d.text}")
    weeks = sorted({d.day.isocalendar()[1] for d in docs})
    mid = weeks[len(weeks) // 2]
    early = [d for d in docs if d.day.isocalendar()[1] < mid]
    late = [d for d in docs if d.day.isocalendar()[1] >= mid]
    prev, cur = discover(early), discover(late)
    print(f"  weeks {weeks[0]}-{mid - 1} ({len(early)} calls, {len(prev)} topics) → weeks "
          f"{mid}-{weeks[-1]} ({len(late)} calls, {len(cur)} topics):")
    changes = compare(cur, prev)
    for ch in changes:
        before = f"{ch.previous_size} → " if ch.previous_size is not None else ""
        print(f"    {ch.topic.title:22s} {ch.status_zh}  {before}{ch.size}")
    for t in changes.disappeared:
        print(f"    {t.title:22s} 本期未出现  {t.size} → 0")
    by_estate = discover_by_estate(docs, min_docs=10)
    print("  per estate (min 10 calls): " + ", ".join(
        f"{e or '未知'} {v.n_docs} calls/{len(v)} topics" for e, v in by_estate.items()))


def synthetic(n: int, repeat: int) -> None:
    docs, truth = writer_b(n, seed=7)
    times = []
    topics = None
    for r in range(repeat):
        if r == 0:
            from classifiers.features import _TOKEN_CACHE
            _TOKEN_CACHE.clear()
        t0 = time.perf_counter()
        topics = discover(docs)
        times.append(time.perf_counter() - t0)
    s = scores(topics, truth)
    print(f"\n[2] second writer, {n} reasons, {s['n_matters']} matters + off-topic: "
          f"discover {times[0]:.2f} s cold, {statistics.median(times[1:] or times):.2f} s warm "
          f"(median of {max(1, repeat - 1)}); {topics.components} NMF components → "
          f"{s['topics']} topics")
    print(f"  purity {s['purity']:.3f}, coverage {s['coverage']:.3f}, matters with a topic "
          f"{s['matters']}/{s['n_matters']}, off-topic in 其他 {s['off_in_remainder']:.2f}")
    show(topics, n_examples=1)
    for size in (200, 1000):
        d2, t2 = writer_b(size, seed=size)
        s2 = scores(discover(d2), t2)
        print(f"  at {size} reasons: purity {s2['purity']:.3f}, coverage {s2['coverage']:.3f}, "
              f"{s2['topics']} topics, matters {s2['matters']}/{s2['n_matters']}")
    a, ta = writer_b(600, seed=11)
    b, tb = writer_b(600, seed=12, day=date(2026, 11, 9))
    ch = compare(discover(b), discover(a))
    st = Counter(c.status for c in ch)
    print(f"  week on week, same mix: {dict(st)} (expected: steady), "
          f"{len(ch.disappeared)} disappeared")


def corpus() -> None:
    if not CORPUS.exists():
        print(f"\n[3] corpus: {CORPUS} missing (skipped)")
        return
    docs, truth = [], {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["call_type"] not in ("complaint", "repair", "inquiry"):
            continue
        utts = [{"speaker": "customer", "start": float(i), "text": t}
                for i, t in enumerate(r["turns"])]
        docs.append(ReasonDoc(r["id"], date(2026, 11, 2), None, caller_reason(utts)))
        truth[r["id"]] = r["scenario"]
    t0 = time.perf_counter()
    topics = discover(docs)
    dt = time.perf_counter() - t0
    s = scores(topics, truth)
    print(f"\n[3] classifier corpus, {len(docs)} calls, {s['n_matters']} scenarios: discover "
          f"{dt:.2f} s; {s['topics']} topics, purity {s['purity']:.3f}, coverage "
          f"{s['coverage']:.3f} (at most 12 topics for {s['n_matters']} scenarios)")
    for t in topics:
        top = Counter(truth[c] for c in t.call_ids).most_common(2)
        print(f"  {t.size:4d}  {t.title:22s} " + ", ".join(f"{m} {k}" for m, k in top))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=5000, help="synthetic reasons to time")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of discover()")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print every reason")
    args = ap.parse_args()
    import logging

    import jieba

    t0 = time.perf_counter()
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    print(f"jieba dictionary and scikit-learn loaded in {time.perf_counter() - t0:.2f} s "
          f"(once per process; not counted below)")
    shared_calls(args.verbose)
    synthetic(args.docs, args.repeat)
    corpus()


if __name__ == "__main__":
    main()
