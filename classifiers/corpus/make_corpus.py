#!/usr/bin/env python3
"""Generate the labelled training corpus of hotline calls as text (``corpus.jsonl``).

The corpus is written, not collected: a grammar of customer turns for property-management
calls (scenarios x call types x complaint types x speaker registers), expanded with a fixed
seed, then degraded like real recogniser output for a share of the examples (homophone
substitutions found with pypinyin, lost punctuation, numerals written as digits, fillers).
Most examples also get the agent's turns (``agent_turns``) from a grammar of what agents do
per call type and scenario, with its own generator per example; "agent-decided" families,
where the competing labels share the customer's templates, are appended at the end.
See ``README.md`` beside this file for the format and the reasoning. The scripted evaluation
calls (``shared/data/calls``) were NOT used as a source.

Usage:
  python classifiers/corpus/make_corpus.py            # rewrites classifiers/corpus/corpus.jsonl
  python classifiers/corpus/make_corpus.py --check    # exits 1 if the file is not reproducible
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus.jsonl"
SEED = 20261102

# Sizes per label (targets of the issue: >= 300 per complaint type, >= 150 per call type).
COUNTS = {
    ("complaint", "resolve"): 340, ("complaint", "vent"): 340, ("complaint", "expectation"): 330,
    ("repair", None): 400, ("inquiry", None): 230, ("suggestion", None): 200, ("other", None): 200,
}

# ----------------------------------------------------------------------------- building blocks
ESTATES = ["阳光花园", "翠湖苑", "金色家园", "滨江一号", "锦绣华庭", "东湖湾", "和谐家园", "紫荆城",
           "香樟园", "碧水蓝天", "天悦府", "春晓苑", "幸福里", "丽景湾", "龙湖郦城", "世纪新城"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
CN_DIG = "零一二三四五六七八九"


def cn_num(n: int) -> str:
    """A small integer as spoken Chinese (1-99)."""
    if n < 10:
        return CN_DIG[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIG[tens]) + "十" + ("" if ones == 0 else CN_DIG[ones])


def digits_cn(s: str) -> str:
    return "".join(CN_DIG[int(c)] if c.isdigit() else c for c in s)


# Scenarios: what the call is about. "thing" is the object, faults are what goes wrong.
SCEN = {
    "elevator": dict(thing=["电梯", "单元电梯", "货梯", "那个电梯"],
                     fault=["又坏了", "卡在半道不动了", "门关不上", "停在一楼不走", "运行的时候咣咣响",
                            "按钮按了没反应", "把人关在里面了", "一直显示故障"],
                     fix="电梯维保"),
    "leak": dict(thing=["卫生间天花板", "厨房水管", "阳台顶上", "楼上", "暖气片接口", "墙角"],
                 fault=["一直在漏水", "往下滴水", "渗水渗得墙都发霉了", "漏得满地都是水", "水管爆了",
                        "天花板鼓起来了"], fix="维修"),
    "drain": dict(thing=["下水道", "马桶", "地漏", "厨房水槽", "洗手池"],
                  fault=["堵住了", "返水", "下不去水", "往上冒臭水", "一股臭味"], fix="疏通"),
    "noise": dict(thing=["楼上", "隔壁装修", "楼下的广场舞", "半夜的施工", "楼上那家"],
                  fault=["吵得睡不着", "天天半夜咚咚响", "一大早就开始砸墙", "音响开得老大",
                         "电钻响了一整天"], fix="处理"),
    "garbage": dict(thing=["垃圾", "垃圾桶", "楼道里的垃圾", "垃圾站"],
                    fault=["好几天没人清", "堆得满满的", "臭得不行", "招苍蝇", "流了一地脏水"], fix="清运"),
    "parking": dict(thing=["我的车位", "地库车位", "消防通道", "小区门口"],
                    fault=["被别人占了", "又被人停了车", "堵得出不去", "天天有外来车乱停"], fix="协调"),
    "guard": dict(thing=["门口那个保安", "北门保安", "值班的保安", "巡逻的保安"],
                  fault=["态度特别差", "对业主爱答不理", "上班时间睡觉", "随便放外人进来", "还骂人"],
                  fix="处理"),
    "green": dict(thing=["小区的绿化", "中心花园的草坪", "楼下的树", "花坛"],
                  fault=["好久没修剪了", "草长得老高", "树都枯死了", "没人浇水", "杂草丛生"], fix="养护"),
    "cleaning": dict(thing=["楼道卫生", "电梯里的卫生", "楼梯扶手", "大堂地面"],
                     fault=["好几天没人打扫", "脏得不行", "全是灰", "有一股味道", "烟头到处都是"],
                     fix="保洁"),
    "fee": dict(thing=["物业费", "这个月的账单", "公摊电费", "停车费", "水费分摊"],
                fault=["多收了", "翻了一倍", "算得不对", "莫名其妙涨了", "收了两次"], fix="核实"),
    "water": dict(thing=["自来水", "热水", "水压", "家里的水"],
                  fault=["突然停了", "发黄", "有股怪味", "水压特别小", "时有时无"], fix="检修"),
    "light": dict(thing=["楼道灯", "地库的灯", "路灯", "单元门口的灯"],
                  fault=["坏了", "一直不亮", "一闪一闪的", "晚上黑乎乎的"], fix="维修"),
    "door": dict(thing=["单元门", "门禁", "小区大门", "门禁卡", "防盗门"],
                 fault=["坏了关不上", "刷卡没反应", "锁坏了", "一直开着谁都能进", "打不开"], fix="维修"),
    "dog": dict(thing=["邻居家的狗", "小区里的狗", "楼下那只大狗"],
                fault=["天天叫", "到处拉屎没人管", "不拴绳到处跑", "差点咬到我家孩子"], fix="管理"),
    "heating": dict(thing=["暖气", "地暖", "家里的暖气片"],
                    fault=["一点都不热", "温度上不去", "半热不热的", "漏水"], fix="检修"),
    "wall": dict(thing=["外墙", "窗户边上", "落地窗", "卧室墙面"],
                 fault=["下雨就渗水", "墙皮掉了一大块", "裂了条缝", "渗水把墙纸泡坏了"], fix="维修"),
    "pest": dict(thing=["地下室", "垃圾房", "楼道里"],
                 fault=["老鼠到处跑", "蟑螂特别多", "蚊子成堆", "有白蚁"], fix="消杀"),
    "clutter": dict(thing=["楼道", "消防通道", "楼梯间"],
                    fault=["堆满了杂物", "停满了电动车", "有人在那充电", "被人堆了旧家具"], fix="清理"),
    "ac": dict(thing=["楼上的空调外机", "空调外机"], fault=["一直往我家阳台滴水", "噪音特别大", "滴水滴个不停"],
               fix="协调"),
    "throw": dict(thing=["楼上"], fault=["往下扔东西", "高空抛物", "往下泼水", "往下扔烟头"], fix="处理"),
}
SCEN_KEYS = list(SCEN)
REPAIRABLE = ["elevator", "leak", "drain", "water", "light", "door", "heating", "wall", "ac"]


def place(r: random.Random) -> str:
    b = r.randint(1, 28)
    f = r.randint(1, 26)
    room = f"{f}0{r.randint(1, 4)}"
    style = r.random()
    if style < 0.4:
        return f"{cn_num(b)}栋{digits_cn(room)}"
    if style < 0.7:
        return f"{b}号楼{r.randint(1, 4)}单元{room}"
    return f"{cn_num(b)}号楼{cn_num(r.randint(1, 4))}单元{digits_cn(room)}"


def date_phrase(r: random.Random) -> str:
    return r.choice(["上周三", "上个礼拜五", "前天晚上", "这个月三号", "十月十二号", "昨天下午三点多",
                     "上个月二十号", "大前天", "周一早上", "国庆节前", "八号那天", "上周末",
                     "昨天晚上十一点", "今天早上七点", "五月份", "月初"])


def amount_phrase(r: random.Random) -> str:
    return r.choice(["两千四", "三百八十块", "一百二十六块", "六百多", "一千二", "八十五块",
                     "四千多块钱", "二百三", "两万块", "一千五百块"])


def times_phrase(r: random.Random) -> str:
    return r.choice(["第三次", "第二回", "第四次了", "三次了", "好几次了", "两回了", "第五次"])


def name_answer(r: random.Random) -> str:
    s = r.choice(SURNAMES)
    return r.choice([f"姓{s}，{place(r)}。", f"我姓{s}。", f"{s}，{place(r)}的。", f"免贵姓{s}。",
                     f"我是{place(r)}的，姓{s}。", f"对，{place(r)}。"])


def phone_answer(r: random.Random) -> str:
    n = "1" + str(r.randint(3, 9)) + "".join(str(r.randint(0, 9)) for _ in range(9))
    sp = digits_cn(n).replace("一", r.choice("一幺"))
    return r.choice([f"电话{sp}。", f"就打这个号，{sp}。", "就这个号码。", "对，就是这个。", f"{sp}，对。"])


def fill(r: random.Random, s: str, sc: dict) -> str:
    rep = {
        "{thing}": r.choice(sc["thing"]), "{fault}": r.choice(sc["fault"]),
        "{fault2}": r.choice(sc["fault"]), "{place}": place(r), "{date}": date_phrase(r),
        "{date2}": date_phrase(r), "{amount}": amount_phrase(r), "{times}": times_phrase(r),
        "{estate}": r.choice(ESTATES), "{other}": r.choice(ESTATES), "{fix}": sc["fix"],
        "{years}": r.choice(["五年", "快十年", "七八年", "三年多", "十几年", "两年"]),
        "{conseq}": r.choice(CONSEQ),
        "{days}": r.choice(["三天", "一个礼拜", "半个月", "两天", "四五天", "十来天"]),
    }
    for k, v in rep.items():
        while k in s:
            s = s.replace(k, v, 1)
            if k in ("{thing}", "{fault}", "{place}", "{date}"):
                pass
    return s


# ----------------------------------------------------------------------------- complaint: vent
VENT_OPEN = [
    "你们这个{thing}到底还管不管了？{fault}！",
    "喂？物业是吧？我跟你说，{thing}{fault}！{fault}！",
    "你们物业是干什么吃的！{thing}{fault}，你们知不知道！",
    "我受够了！真的受够了！{thing}又{fault}！",
    "气死我了！{thing}{fault}，你们到底有没有人管？",
    "什么破物业啊！{thing}{fault}，天天这样，天天这样！",
    "我就问你们一句，{thing}{fault}，管不管？管不管！",
    "你们还要不要脸了？{thing}{fault}，我打了多少次电话了！",
    "烦死了烦死了！{thing}{fault}，搞什么鬼啊！",
    "我要投诉！{thing}{fault}！你们这帮人就知道收钱！",
    "喂！我找你们领导！{thing}{fault}，你们太过分了！",
    "又是{thing}！又是{thing}！{fault}，有完没完啊！",
    "妈的，{thing}又{fault}，这日子还过不过了！",
    "你们这是什么物业？垃圾物业！{thing}{fault}！",
]
VENT_MID = [
    "每个月物业费一分不少收，事情一件不办！",
    "天天这样，天天这样，谁受得了啊！",
    "我跟你讲，你们就是不负责任！就是不负责任！",
    "打电话就说记下了记下了，记了有什么用！",
    "说抱歉有什么用！每次都说抱歉！",
    "你们自己看看，这像话吗？像话吗！",
    "我不管，反正你们今天必须给我弄好！",
    "还有没有人管了？啊？还有没有人管了！",
    "一天到晚就知道糊弄，糊弄谁呢！",
    "我都快被逼疯了，你知道吗！",
    "你别跟我说这些没用的！",
    "老是这样，老是这样，烦不烦啊！",
    "我家老人孩子都在家，你们就这么对待业主？",
    "你们就是欺负老实人！",
    "我真是气得不行了！",
    "什么规定不规定的，我不听！",
    "你们领导呢？叫你们领导来跟我说！",
    "早就说了早就说了，根本没人理！",
    "我交钱是让你们干活的，不是让你们当大爷的！",
    "我今天就要个说法！",
]
VENT_END = [
    "我要打12345投诉你们！",
    "再不弄我就不交物业费了！",
    "我要曝光到网上去，让大家都看看！",
    "你们自己看着办吧！",
    "我告诉你，今天不解决我就天天打！",
    "你们等着吧，我找媒体去！",
    "算了算了，跟你说也没用！",
    "赶紧的！听见没有！",
    "别废话了，赶紧派人！",
    "我去住建局告你们！",
]

# ----------------------------------------------------------------------------- complaint: resolve
RES_OPEN = [
    "你好，我要投诉一下，{thing}{fault}，这已经是{times}了。",
    "你好，我是{place}的业主，我反映个问题：{date}开始{thing}就{fault}，到现在还没解决。",
    "喂你好，我想投诉你们的维修，{date}报的修，说当天来人，结果到今天都没人来。",
    "你好，我家是{place}，{thing}{fault}，{date}我就报过一次，{date2}又报了一次。",
    "你好，我反映一下账单的问题，我家九十八平，以前每个月{thing}三十几块，这个月变成了{amount}。",
    "你好，我想投诉一下，{date}你们的师傅来修{thing}，修完不到{days}又{fault}了。",
    "你好，我要正式投诉，{thing}{fault}，给我家造成了损失，墙纸、地板都泡坏了，大概{amount}。",
    "你好，我说一下情况。{thing}{fault}，前后找了你们{times}，每次都说马上处理。",
    "你好，我要投诉{thing}，{date}晚上{fault}，我有录像，时间地点都很清楚。",
    "你好，我是{place}的，说实话我现在挺生气的，但我还是想好好说：{thing}{fault}，{days}了没人管。",
    "你好，我要反映停车的事，我买的是产权车位，{date}开始就{fault}，我已经拍了照片。",
    "你好，我交了{amount}的物业费，{thing}{fault}，{days}都没人处理，这个不合理。",
]
RES_MID = [
    "我再强调一下，问题不是今天才有的，是从{date}就开始了。",
    "我的要求很简单，第一，派人来看；第二，给我一个处理时间。",
    "重点是，这个已经是{times}了，你们每次修完都管不了几天。",
    "我要的是一个明确的答复，什么时候能修好。",
    "按照合同，这个是你们物业的责任范围，对吧？",
    "时间我都记着呢，{date}一次，{date2}一次，都有通话记录。",
    "损失我算过了，大概{amount}，照片和发票我都留着。",
    "我不是来吵架的，我就想把这个事情解决了。",
    "关键是维修要有个结果，不能每次都是临时糊一下。",
    "我再说一遍，是{place}，{thing}，{fault}。",
    "你们上次答应{date}之前给我回复，到现在也没人联系我。",
    "我希望你们查一下是哪个环节出了问题，给我一个书面的说法。",
    "这个事情我已经跟管家说过了，也拍了视频发给他。",
    "我要求你们今天之内给我回个电话，说清楚处理方案。",
    "我理解你们也有难处，但这个事必须有人负责。",
    "如果是施工方的问题，你们去协调，但我这边的损失要有人赔。",
]
RES_END = [
    "请你们给我一个具体的处理时间。",
    "麻烦你记下来，今天下班前给我回个电话。",
    "我等你们的答复，如果再拖，我就只能找业委会了。",
    "你把我说的这几点都记清楚，到时候我要核对的。",
    "好，那我等你们回电，希望这次能真的解决。",
    "那就按你说的，明天上午我等师傅上门。",
    "你们尽快给我一个方案，赔偿的事也要说清楚。",
]

# ----------------------------------------------------------------------------- complaint: expectation
EXP_OPEN = [
    "你好，我想反映一下{thing}的事。我在这儿住了{years}了，以前不是这样的。",
    "你好，我是{place}的业主，也不是什么大事，就是觉得{thing}现在{fault}，跟以前比差了不少。",
    "你好，我说个情况啊，我家就在{place}，我平时在家带孩子，{thing}{fault}，有点不方便。",
    "你好，打扰一下，我想说说{thing}。以前老物业在的时候，每个礼拜都有人弄，现在好像没人管了。",
    "你好，我是老业主了，住了{years}，对咱们小区一直挺满意的，就是最近{thing}{fault}。",
    "你好，我这边想反映个事儿。我看旁边{other}，人家{thing}弄得特别好，咱们这边就{fault}。",
    "你好，我年纪大了，平时腿脚不太方便，{thing}{fault}，对我们这样的老人影响挺大的。",
    "你好，我家孩子还小，{thing}{fault}，我们当家长的就有点担心。",
    "你好，我就是想跟你们说一下，原来{thing}一直挺好的，这半年{fault}。",
    "你好，我是{place}的，我们家平时都很配合物业工作，物业费也都按时交，就是{thing}{fault}。",
]
EXP_MID = [
    "我也不是说要怎么样，就是希望能跟以前差不多。",
    "我看别的小区都是定期弄的，人家{other}每周都有人来。",
    "以前的物业在的时候，这些事情根本不用我们操心。",
    "我们家老人每天都要下楼转转，所以我比较在意这个。",
    "我这边的情况是这样的，我上班早，晚上回来也晚，所以平时也没空找你们。",
    "隔壁小区物业费跟我们差不多，服务比我们好多了。",
    "要是能跟以前一样定期安排一下就好了。",
    "我自己也不懂这些，就是觉得可以做得更好一点。",
    "我们家住了{years}了，一直挺喜欢这个小区的，所以才打电话说一说。",
    "原来的保洁阿姨每天都来，现在换了人，好像两三天才来一次。",
    "我不是来投诉谁的，就是希望你们重视一下。",
    "其实大家都有这个感觉，群里也有人在说。",
    "我们交物业费也没少交，总希望小区越来越好嘛。",
    "我朋友住{other}，他们那边物业每个月还组织活动呢。",
    "我平时也挺体谅你们的，知道你们也忙。",
]
EXP_END = [
    "希望你们能改进一下，谢谢啊。",
    "你们看看能不能安排一下，不着急，就是希望有个改善。",
    "好的，那麻烦你们了，辛苦了。",
    "那我就等着看看效果，谢谢你们。",
    "我就是提一下，你们能重视就行。",
    "那就拜托了，希望下次能好一点。",
]

# ----------------------------------------------------------------------------- repair
CONSEQ = ["晚饭都没法做了。", "大家都下不去楼。", "我差点摔一跤。", "洗澡都洗不了。", "地上全是水。",
          "孩子晚上都不敢出门。", "一晚上没睡好。", "放了好几分钟还是这样。", "我老婆一个人都不敢下来。",
          "衣服都没法洗。", "屋里一股味儿。", "老人上下楼不方便。"]
REP_OPEN = [
    "你好，我家{thing}{fault}，{conseq}",
    "喂，你好，我是{place}的，{thing}{fault}，{conseq}",
    "你好，我们这边{thing}{fault}，现在{fault2}。",
    "你好，{thing}{fault}了，{conseq}我是{place}。",
    "喂你好，是物业吧？{thing}{fault}，{conseq}",
    "你好，我这儿{thing}{fault}，你们看看吧。",
    "你好，我要报修，{thing}{fault}，麻烦派个师傅来看一下。",
    "喂你好，我家{thing}{fault}，能不能找人来修一下？",
    "你好，我是{place}的，{thing}{fault}，你们什么时候能来人？",
    "你好，报个修，{place}，{thing}{fault}。",
    "你好，麻烦你啊，{thing}{fault}，我自己弄不了，想请个师傅。",
    "喂，物业吗？{thing}{fault}了，帮我安排个人修修。",
    "你好，我之前报过修，{thing}{fault}，师傅说今天来，想问问大概几点到？",
    "你好，{thing}{fault}，你们能不能赶紧派人来？挺急的。",
    "你好，我们单元的{thing}{fault}，大家进出都不方便，麻烦来修一下。",
    "你好，想报个维修，{thing}{fault}，下午家里有人。",
    "你好，那个{thing}{fault}，上次报的修还没人来，再催一下。",
]
REP_MID = ["可以可以，越快越好。", "我一直在家。", "就厨房，卫生间没事。", "都这样，哪儿都一样。",
           "没有人被困，就是门一直开开关关的。", "行，那你们快点。", "就在电梯口那边，你们来了就看到了。",
           "下午都行，我在家等着。", "对，就是那个位置。", "应该是管子的问题吧，我也不懂。","三楼到六楼都是黑的，我家老人差点踩空。", "明天上午一定要修好啊，太不方便了。",
           "上次修过一回，这次又不行了，再来看看吧。", "是二单元，你们过来就看到了。", "水一直滴，我拿盆接着呢。",
    "从{date}开始的，一开始还好，现在越来越严重了。",
    "家里有人，你们随时可以来。",
    "我下午三点以后在家，师傅来之前给我打个电话。",
    "这个是要收费的吗？大概多少钱？",
    "能不能今天就来？晚上还要用呢。",
    "我拍了照片，需要的话可以发给你们。",
    "是公共部位的，应该是你们负责吧。",
    "麻烦快一点，水都流到楼下去了。",
    "我家里就我一个老人，师傅来了敲门大声点。",
    "最好上午来，下午我要去接孩子。",
]
REP_END = [
    "好的，那我等师傅电话。",
    "行，谢谢啊。",
    "那麻烦你们尽快安排。",
    "好，那就这样，再见。",
    "好的好的，辛苦了。",
]

# ----------------------------------------------------------------------------- inquiry
INQ_TOPICS = [
    ("物业费", ["物业费现在可以在手机上交吗？", "物业费一年交多少钱？是按面积算的吗？",
              "我想问一下物业费能不能按季度交？", "物业费交到几月份了，能帮我查一下吗？",
              "物业费的发票怎么开，能开电子的吗？", "滞纳金是怎么算的？"]),
    ("停水", ["今天怎么突然停水了？什么时候能来水？", "明天是不是要停电？停到几点？",
            "听说这周要停水检修，是哪几栋？", "为什么我家没水了，是整个小区都停了吗？"]),
    ("装修", ["我家要装修，需要办什么手续？", "装修押金是多少，什么时候退？",
            "装修的时候几点到几点可以施工？", "周末可以装修吗？", "装修垃圾应该放在哪里？"]),
    ("门禁卡", ["门禁卡丢了怎么补办？要带什么证件？", "补办门禁卡要多少钱？",
             "我家新来的保姆能不能办一张门禁卡？", "车辆出入证怎么办理？"]),
    ("车位", ["小区还有月租车位吗？一个月多少钱？", "临时停车怎么收费？", "访客的车能不能进小区？",
            "车位能不能买，还是只能租？"]),
    ("宠物", ["小区里养狗有什么规定吗？", "大型犬可以养吗？要登记吗？", "狗的疫苗证要交给物业吗？"]),
    ("快递", ["快递柜在哪儿？", "物业能不能帮忙代收快递？"]),
    ("办事", ["你们物业办公室几点上班？", "周末有人值班吗？", "业主大会什么时候开？",
            "维修基金怎么查余额？", "房屋出租需要到物业登记吗？", "搬家需要提前跟物业说吗？",
            "家里要安装空调外机，有什么要求吗？", "小区游泳池几点开放？"]),
]
INQ_OPEN = ["你好，我想咨询一下，", "你好，问一下啊，", "喂你好，我想了解一下，", "你好，打扰一下，",
            "你好，我是{place}的业主，想问个事，", "你好，我是新搬来的，", "你好，我想问问，",
            "喂，物业是吧，我咨询个事，"]
INQ_MID = ["我这个情况能不能通融一下？", "能不能把滞纳金免了？我那段时间住院了。", "那是不是要排队？要排多久？",
           "那我先登记一下吧。", "怎么突然就这样了，是整个小区都这样吗？", "那临时的怎么收费？","我不太清楚流程，麻烦你跟我说一下。", "需要我本人去吗，还是家里人去也行？",
           "那要带什么材料？身份证还是房产证？", "在哪里办？物业办公室在几号楼？",
           "那大概要多长时间？", "这个可以在网上办吗？", "要提前预约吗？", "费用怎么交？",
           "我记一下啊，你再说一遍。", "那周末能办吗？我平时上班。"]
INQ_END = ["好的，明白了，谢谢。", "行，我知道了，谢谢你啊。", "好的好的，那我明天过去。",
           "清楚了，麻烦你了。", "好，谢谢，再见。"]

# ----------------------------------------------------------------------------- suggestion
SUG_TOPICS = ["增设快递柜", "装几个电动车充电桩", "在小区里多放几把长椅", "给儿童游乐区铺上软垫",
              "增加几个分类垃圾桶", "在地库装几个监控", "停水停电提前在群里通知", "每个月公布一下物业费的收支",
              "在门口装个雨棚", "规范一下遛狗，设个宠物便便箱", "增加一个老年人活动室", "把健身器材更新一下",
              "在小区里设个共享书架", "单元门口加装扶手", "夜间巡逻多走几趟", "开个业主意见箱",
              "建个业主微信群方便通知", "在路口加个减速带", "给电梯里装个空调", "周末组织点社区活动"]
SUG_OPEN = ["你好，我有个建议想跟你们提一下，能不能{topic}？",
            "你好，我想提个小建议，咱们小区是不是可以{topic}？",
            "你好，不是投诉啊，就是一个建议，希望物业考虑{topic}。",
            "你好，我是{place}的业主，想给物业提个意见，最好能{topic}。",
            "喂你好，我们几个邻居商量了一下，想建议你们{topic}。",
            "你好，我觉得咱们小区挺好的，就是有个想法，要是能{topic}就更好了。",
            "你好，我提个建议哈，{topic}，大家肯定都欢迎。"]
SUG_MID = ["上个月我就丢了一个快递，好几百块的东西。", "我看隔壁小区都装了，我们能不能也弄一个？",
           "那大概什么时候能有个信儿？", "现在晚上这块特别乱，有了这个会好很多。","现在大家都是这么做的，挺方便的。", "费用的话，如果需要业主分摊，我们也愿意出一点。",
           "我看别的小区有，用起来挺方便的。", "这样大家都省事，也安全一些。",
           "我家老人孩子都用得上。", "这个也不急，你们可以先统计一下大家的意见。",
           "可以先在一两个单元试试看。", "我觉得花不了多少钱，但是效果会很好。",
           "我就是提个想法，具体你们看着办。"]
SUG_END = ["就这个建议，谢谢你们。", "你们考虑考虑，辛苦了。", "好的，麻烦你们反馈一下。",
           "希望能采纳，谢谢。", "好，就这些，再见。"]

# ----------------------------------------------------------------------------- other
OTHER_LINES = [
    ["你好，我家燃气卡充了钱，表上没显示，这个是不是你们管？", "那我应该打哪个电话？"],
    ["你好，我家宽带断网了，一上午都上不了网。", "哦，是要找运营商是吧，那号码是多少？"],
    ["你好，我的快递显示签收了，但是我没收到，是不是丢了？", "那是找快递公司还是找你们？"],
    ["你好，我家停电了，好像是欠费了，电费在哪儿交？", "供电局的电话是多少？"],
    ["你好，是不是王师傅家？", "啊，打错了，不好意思。"],
    ["你好，我家有线电视没信号了。", "那是广电管的吗？"],
    ["喂？我想订个外卖，是饭店吗？", "哦打错了打错了。"],
    ["你好，我想问问我们这片的学区是怎么划的？", "那应该找教育局吧。"],
    ["你好，我家手机信号特别差，你们能不能处理？", "哦，要打移动的客服是吧。"],
    ["你好，我就是打个电话感谢一下，上次你们的师傅修得特别好，人也很热情。", "对，就是想表扬一下他。"],
    ["你好，我上周在小区门口捡到一个钱包，交给你们了，想问问失主找到了没有。"],
    ["你好，我想找一下你们这边的保洁阿姨，我家想请个钟点工，你们能介绍吗？"],
    ["你好，我是送水的，找不到七栋在哪，你能告诉我怎么走吗？"],
    ["你好，我家天然气有味道，好像漏气了。", "哦，要先打燃气公司的抢修电话是吧？"],
    ["你好，我们这边自来水公司的账单怎么查？", "那是要去自来水公司营业厅是吧？"],
    ["你好，我家的热水器坏了，是厂家保修的，你们能修吗？", "哦，要找厂家售后，那好吧。"],
    ["你好，请问房子过户要去哪里办？", "不动产登记中心是吧，好的。"],
    ["你好，我想投诉一下隔壁小区的广场舞，你们管得了吗？", "那我找他们那边的物业吧。"],
    ["你好，我是做家政推广的，想在你们小区做个活动，跟谁联系？"],
    ["你好，我的电动车在外面马路上被偷了，你们能帮忙吗？", "哦，要报警是吧。"],
    ["你好，我家门口的公交站牌坏了，你们管吗？", "那找交通局？"],
    ["喂？喂？听得见吗？", "哦，没事了，我按错了。"],
    ["你好，我孩子的户口迁移需要开什么证明？", "那我去派出所问问。"],
    ["你好，我想问问社区医院几点上班？", "哦你们不知道啊，那我打社区的电话。"],
]
OTHER_PREFIX = ["", "你好，不好意思打扰一下，", "喂你好，", "你好，我是{place}的，"]
OTHER_MID = ["我也不知道该找谁，就先打你们这儿了。", "那你有他们的电话吗？", "好，我记一下号码。",
             "那就不麻烦你们了。", "这个你们真管不了啊？", "行，我知道了。"]

# ----------------------------------------------------------------------------- registers & noise
COLLOQ = [("什么", "啥"), ("怎么", "咋"), ("不知道", "不晓得"), ("这个", "这"), ("没有", "没"),
          ("一下", "一哈"), ("干什么", "干啥"), ("很", "老"), ("非常", "贼"), ("我们", "咱们"),
          ("是不是", "是勿是"), ("吗？", "伐？"), ("一点", "一丢丢"), ("知道", "晓得"),
          ("没有", "莫得"), ("了。", "咯。"), ("特别", "老"), ("厉害", "凶"), ("怎么办", "咋整"),
          ("我", "俺"), ("孩子", "娃儿"), ("今天", "今儿个"), ("明天", "明儿"), ("昨天", "昨儿")]
FILLERS = ["嗯", "那个", "就是", "呃", "这个", "然后", "啊", "对吧", "你知道吧"]
POLITE_PREFIX = ["小姑娘，", "小伙子，", "同志你好，", "师傅，", "你好你好，", "美女，", ""]


def dialectise(r: random.Random, text: str, strength: float) -> str:
    pairs = r.sample(COLLOQ, k=max(2, int(len(COLLOQ) * strength)))
    for a, b in pairs:
        if r.random() < 0.8:
            text = text.replace(a, b)
    return text


_HOMO: dict[str, list[str]] = {}
_HOMO_AGENT: dict[str, list[str]] = {}  # built from customer and agent text (agent noise only)


def build_homophones(texts: list[str], into: dict[str, list[str]] | None = None) -> None:
    """Group the corpus's own characters by toneless pinyin: ASR confuses sound-alikes."""
    from pypinyin import Style, lazy_pinyin

    into = _HOMO if into is None else into
    chars = sorted({c for t in texts for c in t if "\u4e00" <= c <= "\u9fff"})
    groups: dict[str, list[str]] = {}
    for c in chars:
        groups.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    for c in chars:
        py = lazy_pinyin(c, style=Style.NORMAL)[0]
        alts = [x for x in groups[py] if x != c]
        if alts:
            into[c] = alts


def asr_noise(r: random.Random, text: str, rate: float, homo: dict[str, list[str]] | None = None) -> str:
    homo = _HOMO if homo is None else homo
    out = []
    for c in text:
        p = r.random()
        if c in homo and p < rate:
            out.append(r.choice(homo[c]))
        elif "\u4e00" <= c <= "\u9fff" and p < rate * 1.2 and r.random() < 0.15:
            continue  # a dropped character
        else:
            out.append(c)
    text = "".join(out)
    if r.random() < 0.5:  # the recogniser often writes no punctuation, or only spaces/commas
        text = re.sub(r"[，。！？、；：]", r.choice(["", " ", "，"]), text)
    if r.random() < 0.3:  # Whisper sometimes writes numerals as digits
        for i, d in enumerate(CN_DIG[1:], 1):
            text = text.replace(d + "栋", f"{i}栋").replace(d + "号楼", f"{i}号楼")
    return text


def add_fillers(r: random.Random, text: str) -> str:
    parts = re.split(r"(?<=[，。！？])", text)
    return "".join((r.choice(FILLERS) + "，" if r.random() < 0.25 else "") + p for p in parts if p)


# ----------------------------------------------------------------------------- shared narrative
# Every kind of caller explains their situation, gives places and numbers, asks follow-up
# questions and answers the agent's questions: these must not by themselves mean "complaint".
CONTEXT = [
    "我是{place}的。", "我家老人前天还差点摔了一跤。", "我家孩子还小，天天在家。", "我上班早出晚归的。",
    "家里刚装修完没多久。", "我们单元住的老人比较多。", "我这两天在家休息。", "我家是{place}，九十多平。",
    "我平时不怎么在家。", "我刚搬过来不到一个月。", "我们家两口子都上班。", "我妈一个人在家住。",
    "从{date}开始就这样了。", "已经{days}了。", "三楼到六楼都是这样。", "楼上楼下好几家都一样。",
    "我没看到通知啊。", "我也是听邻居说的。", "上个月我就碰到一回。", "晚上回来黑乎乎的，挺不方便。",
]
FOLLOW = [
    "那大概什么时候能有个信儿？", "那要多久？", "好，我等你们电话。", "没了。", "再见。", "嗯。",
    "好的。", "对，就这个号。", "那行吧。", "那你们记一下。", "大概几点能来？", "行，那就这样。",
    "那还好。", "那我先等等看。", "哦，这样啊。", "那麻烦你了。", "知道了知道了。", "我是说的{place}。",
]
MILD = ["太麻烦了。", "真是的。", "挺着急的。", "一定要弄好啊。", "你们快点啊。", "这也太不方便了。"]


def sprinkle(r: random.Random, turns: list[str], sc: dict, call_type: str) -> list[str]:
    """Add shared context, follow-ups and (for repairs) mild impatience at random."""
    turns = list(turns)
    if r.random() < 0.55:
        ctx = "".join(fill(r, c, sc) for c in r.sample(CONTEXT, k=r.randint(1, 2)))
        turns[0] = turns[0] + ctx if r.random() < 0.7 else ctx + turns[0]
    for _ in range(r.choice([0, 0, 1, 2, 3])):
        turns.insert(r.randint(1, len(turns)), fill(r, r.choice(FOLLOW), sc))
    if call_type in ("repair", "inquiry") and r.random() < 0.3:
        turns.insert(r.randint(1, len(turns)), r.choice(MILD))
    return turns


# ----------------------------------------------------------------------------- agent side
# The agent's words. What the agent DOES decides much of a call's type: registers a repair
# and sends a worker (repair); explains, looks things up, answers (inquiry); apologises and
# promises an answer or a follow-up (complaint); thanks for an idea and passes it on
# (suggestion); points the caller elsewhere (other). Written for this product from how a
# property hotline works, not from recorded calls. The types deliberately overlap: agents of
# every type say 登记/记录/反馈, complaint agents often send a worker too, repair agents answer
# questions about fees and times, inquiry agents sometimes note things down or offer a visit.
AGENT_SHARE_NONE = 0.12     # text-only examples: no agent side at all (the model must cope)
AGENT_SHARE_MINIMAL = 0.13  # the agent only greets, acknowledges, asks for details and closes

A_GREET = [
    "您好，{estate}物业服务中心，请问有什么可以帮您？", "您好，物业客服中心，{num}号客服为您服务。",
    "您好，{estate}客服，请讲。", "喂，您好，物业这边。", "您好，这里是{estate}管理处，请问您有什么事情？",
    "你好，物业前台，您请说。", "您好，很高兴为您服务，请问您有什么需要？", "您好，{estate}服务热线。",
    "您好，物业服务中心，{surname}工为您服务，请问有什么可以帮到您？", "喂你好，{estate}物业。",
]
A_ACK = [
    "嗯。", "好的。", "嗯嗯，您说。", "是的。", "明白。", "好，您慢慢说。", "稍等，我记一下。", "嗯，我在听。",
    "您说的是{place}对吧？", "好的，我这边记下了。", "嗯，然后呢？", "对对。", "是这样啊。", "嗯，好。",
    "您稍等一下啊。", "哦，好的好的。", "嗯，清楚了。",
]
A_ASK = [
    "请问您是哪栋哪户？", "请问您贵姓？", "请问怎么称呼您？", "您的联系电话是来电的这个号码吗？",
    "方便留一个联系电话吗？", "请问是几单元的？", "您是业主本人吗？", "具体是哪个位置呢？",
    "请问是从什么时候开始的？", "我核对一下您的房号，是{place}吗？", "您能再说一下具体的情况吗？",
    "好的，您的姓名和房号方便告诉我吗？",
]
A_CLOSE = [
    "好的，请问还有其他可以帮您的吗？", "感谢您的来电，再见。", "好的，那先这样，再见。",
    "稍后可能会有满意度回访，麻烦您给个评价，谢谢，再见。", "不客气，祝您生活愉快，再见。",
    "好的，那就不打扰您了，再见。", "嗯，好的，再见。", "请问还有别的事吗？没有的话先挂了，再见。",
]

A_CREW = {"elevator": ["电梯维保的师傅", "维保单位"], "leak": ["水电师傅", "维修师傅"],
          "drain": ["疏通师傅", "管道工"], "water": ["工程部的师傅", "水电工"],
          "light": ["电工", "工程部的电工"], "door": ["弱电的师傅", "门禁维修的师傅"],
          "heating": ["暖通师傅", "供暖维修的师傅"], "wall": ["工程部的人", "维修师傅"],
          "ac": ["维修师傅", "管家"]}
A_CREW_ANY = ["维修师傅", "工程部的师傅", "值班师傅", "我们的师傅"]

A_REPAIR = [
    "好的，我这边马上给您登记报修，安排{crew}上门。", "已经给您生成维修工单了，{crew}大概{eta}到，上门前会先给您打电话。",
    "我现在就通知{crew}过去看一下。", "您看家里什么时候有人？我按那个时间给您约师傅。",
    "工单已经派给{crew}了，单号稍后短信发给您。", "我先给您报个修，{crew}{eta}过去。",
    "好，我这就派人过去，您留意一下电话。", "我已经联系值班的{crew}了，他忙完手上的活就过去。",
    "这个我们给您安排一下，{eta}让师傅上门检查。", "您放心，维修这边我来跟进，修好之后会回访您。",
    "报修已经受理了，维修人员姓{surname}，电话稍后发给您。", "师傅到了以后先查原因，需要换零件的话会先跟您确认。",
    "我给您加急，让师傅优先过去。", "明白，我这边派单，{crew}{eta}上门。", "行，我让{crew}带上工具过去。",
    "您的报修我登记好了，{crew}接单以后会联系您。", "我们先派人到现场看看，再定怎么修。",
]
A_REPAIR_ANSWER = [  # a repair agent also answers questions: fees, times, who pays
    "户内的维修按收费标准收材料费，人工不收，师傅上门会先报价。", "公共部位的维修不收费，这个您放心。",
    "具体费用要等师傅看了才知道，一般换个零件几十块钱。", "师傅上午下午都能来，您定个时间就行。",
    "如果还在保修期内，由开发商负责，我们先帮您看看是什么问题。", "今天来不及的话最晚明天上午，您看可以吗？",
    "这个属于公共设施，是我们物业负责的。", "需要换的配件如果我们没有，要等一两天才能到。",
]
A_REPAIR_SCEN = {
    "elevator": ["我马上通知电梯维保单位过来检修。", "维保的师傅半小时内到，如果有人被困，请先按轿厢里的紧急呼叫按钮。",
                 "这部电梯先停用，我们在一楼贴个告示，维保人员到了马上修。"],
    "leak": ["您先把家里的进水总阀关上，我让水电工马上过去。", "楼上那户我们也会派人去敲门查一下。",
             "漏水的位置师傅去了会先排查。"],
    "drain": ["我安排疏通师傅过去，这期间先别往下水里倒水。", "如果是主管道堵了，我们会叫管道疏通车来。"],
    "water": ["我让工程部去泵房查一下水压。", "先派人去看看是不是您家入户阀门的问题。"],
    "light": ["楼道灯我让电工今天就去换。", "我通知工程部检修一下线路，天黑之前弄好。"],
    "door": ["门禁这块我让弱电的师傅过去看看。", "单元门的闭门器我们安排人去换一个。"],
    "heating": ["我让暖通师傅上门查看，可能需要放一下气。", "您先看看暖气片的阀门开没开，不行的话师傅上门。"],
    "wall": ["渗水要先确认位置，我安排工程人员上门拍照查看。", "外墙的问题我们先派人看，属于保修范围的会联系开发商维修。"],
    "ac": ["我让管家去楼上那户沟通，同时派师傅看一下外机的排水管。", "我们派人去看看冷凝水管是不是脱落了。"],
}
A_REPAIR_SORRY = ["不好意思让您久等了，我再催一下师傅。", "抱歉，上次的工单我查一下，马上给您催。",
                  "给您带来不便了，我们尽快处理。"]
A_REPAIR_CLOSE = ["师傅到了会先给您打电话，请保持电话畅通。", "修好以后会有回访，再见。",
                  "有什么问题随时打过来，再见。"]

A_INQ = [
    "这个我帮您查一下，您稍等。", "您可以关注我们的微信公众号，里面有办事指南。", "这个在小程序上也能办，不用跑一趟。",
    "需要您带上身份证到物业前台办理。", "不需要本人来，家里人带上业主身份证的复印件也可以。",
    "前台在{bldg}号楼一楼，工作日都有人。", "是的，可以的。", "这个不行，按规定是不允许的。", "一般当天就能办好。",
    "不用预约，直接过来就行。", "流程是这样的：先填申请表，再交材料，审核通过就可以了。", "这个是不收费的。",
    "具体规定我们在公告栏里贴了，您有空可以看一下。", "我查到了，您说的这个已经办好了。",
    "周末也有人值班，不过只能办一些简单的业务。", "您说的这个情况，按规定是这样处理的。",
    "这个要看具体情况，您方便的话来前台当面问一下更清楚。", "我给您发一个办理须知，您按上面准备材料。",
]
A_INQ_TOPIC = {
    "物业费": ["物业费可以在我们的微信公众号里缴纳，也可以到前台刷卡。", "物业费是按建筑面积收的，每平方米每月{price}。",
            "我帮您查了一下，您家物业费已经交到{month}了。", "可以按季度交，也可以按年交。",
            "发票可以开电子的，缴费的时候填上抬头就行。", "滞纳金是按天算的，具体金额我帮您查一下。"],
    "停水": ["今天是二次供水水箱清洗，预计下午五点左右恢复供水。", "停水通知已经在单元门口和业主群里发过了。",
           "明天上午九点到十二点停电检修，涉及三号楼到八号楼。", "是市政管网在抢修，不是我们小区单独停的，恢复时间要等自来水公司通知。"],
    "装修": ["装修要先到物业前台办理装修登记，带上身份证、房产证复印件和装修图纸。", "装修押金是两千元，验收合格以后全额退还。",
           "施工时间是工作日上午八点到十二点、下午两点到六点，周末不能做有噪音的施工。", "装修垃圾要装袋放到指定的临时堆放点，不能放楼道。"],
    "门禁卡": ["补办门禁卡需要带身份证到物业前台办理，工本费二十元。", "保姆可以办，需要业主本人带着她的身份证过来登记。",
            "车辆出入证要带行驶证和车位合同来办。"],
    "车位": ["月租车位目前还有几个，在地库负二层，每月{rent}。", "临时停车前半小时免费，之后每小时五元。",
           "访客的车在门岗登记一下就可以进。", "产权车位已经卖完了，现在只能租。"],
    "宠物": ["养犬要先到派出所办养犬登记，物业这边也备个案。", "大型犬按照规定是不能养的。",
           "遛狗要拴绳，粪便要自己清理，这是小区的规定。"],
    "快递": ["快递柜在南门岗亭旁边和三号楼楼下各有一组。", "物业暂时不提供代收，不过门岗可以临时帮您放一下。"],
    "办事": ["物业办公室上班时间是早上八点半到下午五点半，周末有值班人员。", "维修基金的余额可以在住建局的网站上查。",
           "房屋出租需要到物业登记一下租户的信息。", "搬家要提前一天跟物业说，我们给您开放行条。",
           "空调外机要装在预留的机位上，不能随便打孔。", "游泳池夏季开放，下午两点到晚上九点。"],
}
A_INQ_NOTE = [  # an inquiry agent also notes things down, promises a call back or offers a visit
    "那我先帮您登记一下，回头让管家联系您。", "这个我记录一下，问清楚以后给您回电话。",
    "不好意思，这个我不太确定，我问一下主管再回复您。", "您的情况我登记一下，有消息了通知您。",
    "需要的话我可以让管家上门跟您说明。", "滞纳金减免要向财务申请，我帮您提交一下，结果会通知您。",
]
A_INQ_CLOSE = ["还有什么不清楚的可以随时打过来。", "您看还有其他要咨询的吗？", "好的，那您方便的时候过来办就行，再见。"]

A_COMP = [
    "非常抱歉给您带来这么多不便。", "真的很抱歉，您先消消气，慢慢说。", "您反映的情况我已经详细记录下来了，马上反馈给我们主管。",
    "我们核实以后，{deadline}给您一个答复。", "这个事情我们一定严肃处理，给您一个交代。", "我理解您的心情，换了谁都会着急的。",
    "我马上上报项目经理，{deadline}给您回电话。", "之前处理得不及时，我代表物业向您道歉。",
    "您的投诉我已经登记了，投诉单号稍后发给您。", "这个问题我们会一直跟进，处理结果第一时间告诉您。",
    "后续由我们客服主管专门跟您联系。", "我们会加强管理，尽量不让这种情况再发生。", "相关人员我们会批评教育。",
    "您说的这些我都如实记录，会原原本本反映上去。", "给您添麻烦了，实在不好意思。", "请您再给我们一点时间，我们尽快回复您。",
    "您的意见我们非常重视，会督促相关部门整改。", "这个确实是我们做得不到位。",
]
A_COMP_TYPE = {
    "vent": ["您先别着急，您说的我都在听。", "非常理解您的心情，您的不满我们都记下了。", "是是是，这确实是我们的问题。",
             "您消消气，我一定把您的意见反映上去。", "您说得对，换谁都受不了。"],
    "resolve": ["您说的时间和经过我都记下了，会一条一条核实。", "处理方案我们会在{deadline}之前答复您。",
                "损失的部分，主管会跟您当面沟通赔偿的事。", "您的两点要求我都记录了：一是尽快处理，二是给您书面答复。",
                "您说的照片和视频可以发给管家，我们作为核实的依据。"],
    "expectation": ["谢谢您一直以来对我们工作的支持和理解。", "您说得对，我们确实需要改进。",
                    "您的意见我们会反馈上去，争取恢复到以前的服务标准。", "感谢您这么耐心地跟我们说，我们一定重视。"],
}
A_COMP_SCEN = {
    "guard": ["保安的问题我们会反馈给秩序部主管，核实之后严肃处理。"],
    "cleaning": ["保洁这块我们会督促整改，增加清扫的频次。"],
    "garbage": ["我们马上联系清运公司，今天之内把垃圾清掉。"],
    "fee": ["费用的问题我让财务核实一下，多收的部分会退还给您。"],
    "noise": ["我们会去跟那户沟通，提醒他们遵守施工时间。"],
    "parking": ["占用车位的车我们会联系车主挪走，以后加强巡查。"],
    "green": ["绿化养护我们会督促绿化公司尽快处理。"],
    "dog": ["我们会找到犬主，提醒他们文明养犬。"],
    "pest": ["我们会安排一次全面消杀。"],
    "clutter": ["楼道的杂物我们会张贴通知，限期清理。"],
    "throw": ["高空抛物的事我们会调取监控排查。"],
    "elevator": ["电梯的事我们会跟维保单位严肃交涉，要求彻底检修。"],
}
A_COMP_REPAIRISH = ["维修一直没到位，这是我们的责任，我会向工程部主管反映。", "返修的问题我们会追究维修质量，给您一个说法。"]
A_COMP_DISPATCH = [  # a complaint agent often sends someone too
    "我这边同时安排{crew}今天再过去看一下。", "我先派人去现场看看情况。", "我让{crew}先过去处理，处理完再给您回复。",
    "维修的事我重新给您派单，这次让主管盯着。",
]
A_COMP_CLOSE = ["处理结果我们会及时回复您，再见。", "再次向您表示歉意，再见。", "您的事情我们一定跟进，请保持电话畅通。"]

A_SUG = [
    "感谢您的建议。", "您的这个建议很好，我记下来，会反馈给项目经理研究。",
    "这个涉及公共收益的使用，可能要业委会讨论，我们会把您的建议提交上去。", "谢谢您对小区的关心，我们会认真考虑。",
    "您的建议我们会汇总一下，有结果在业主群里通知大家。", "我们先做个调研，听听其他业主的意见。",
    "这个想法挺好的，之前也有业主提过类似的。", "如果要用维修基金，需要业主表决，我们会跟进这件事。",
    "好的，我登记一下您的建议，报给管理处。", "您提的这个我们会评估一下可行性和费用。", "谢谢您，这样的意见对我们很有帮助。",
    "您说的这个我们也在考虑，具体方案出来会公示。",
]
A_SUG_CLOSE = ["再次感谢您的建议，再见。", "谢谢您的支持，再见。"]

A_OTHER_BY_KEY = [  # (a word of the caller's request, what the agent says)
    ("燃气卡", ["燃气卡充值的问题要找燃气公司，客服电话我发给您。"]),
    ("宽带", ["宽带是运营商负责的，您拨打运营商的客服电话报障就可以。"]),
    ("快递显示", ["快递丢失建议您直接联系快递公司，物业这边没有代收。"]),
    ("电费", ["电费是供电公司收的，可以在手机上的网上国网里交，交完一般很快就来电。"]),
    ("王师傅", ["您好，这里是物业服务中心，您可能打错了。", "没关系。"]),
    ("有线电视", ["有线电视归广电网络公司管，您打他们的客服报修。"]),
    ("外卖", ["您好，这里是物业，不是饭店，您打错了。"]),
    ("学区", ["学区划分是教育局定的，您可以问一下区教育局。"]),
    ("信号", ["手机信号要找运营商，物业这边处理不了。"]),
    ("表扬", ["谢谢您的表扬，我们一定转达给师傅。", "您的肯定是对我们最大的鼓励。"]),
    ("钱包", ["我帮您问一下门岗，失主来认领的话会登记的。"]),
    ("钟点工", ["我们这边不提供钟点工介绍，您可以找家政公司。"]),
    ("送水", ["七栋从北门进去往右走，第二栋就是。"]),
    ("天然气", ["燃气有味道请您马上开窗通风，不要开关电器，拨打燃气公司的抢修电话。"]),
    ("自来水公司", ["自来水的账单在自来水公司的公众号上可以查。"]),
    ("热水器", ["厂家保修的热水器要找厂家售后，物业不负责家电维修。"]),
    ("过户", ["过户要去不动产登记中心办理。"]),
    ("广场舞", ["隔壁小区的事我们管不了，您可以联系他们的物业。"]),
    ("家政推广", ["小区里做活动需要到物业办公室提交申请，我们审核一下。"]),
    ("电动车", ["马路上发生的事情建议您报警处理。"]),
    ("公交站牌", ["公交站牌归公交公司管，您可以打市民热线反映。"]),
    ("听得见", ["喂？您好？听得到吗？", "好的，没事就好。"]),
    ("户口", ["户口迁移要找派出所。"]),
    ("社区医院", ["社区医院的时间我们这边不太清楚，您问一下社区。"]),
]
A_OTHER = ["这个不属于物业的服务范围。", "不好意思，这个我们管不了。", "电话号码我帮您查一下。", "不客气。",
           "这个您得找相关部门，我们没法处理。", "好的，有需要再打过来。"]
A_OTHER_CLOSE = ["不客气，再见。", "好的，没事了那我先挂了。"]

A_CASUAL = [("您", "你"), ("好的", "好嘞"), ("好的", "行"), ("马上", "这就"), ("请问", "那"), ("稍等", "等一下"),
            ("非常", "特别"), ("不好意思", "不好意思啊")]
A_FILLERS = ["嗯，", "那个，", "呃，", "就是，", "好，"]

A_ETA = ["半小时内", "一个小时左右", "今天下午", "明天上午", "二十分钟左右", "下午两点前", "马上"]
A_DEADLINE = ["明天中午之前", "今天下班前", "三个工作日内", "周五之前", "二十四小时之内"]


def agent_fill(r: random.Random, s: str, crew: list[str]) -> str:
    rep = {"{estate}": lambda: r.choice(ESTATES), "{num}": lambda: str(r.randint(1, 60)),
           "{surname}": lambda: r.choice(SURNAMES), "{place}": lambda: place(r),
           "{crew}": lambda: r.choice(crew), "{eta}": lambda: r.choice(A_ETA),
           "{deadline}": lambda: r.choice(A_DEADLINE), "{bldg}": lambda: cn_num(r.randint(1, 12)),
           "{price}": lambda: r.choice(["一块八", "两块五", "一块六毛五", "两块二"]),
           "{rent}": lambda: r.choice(["三百", "二百八", "四百五", "三百五"]),
           "{month}": lambda: r.choice(["今年六月", "年底", "下个月", "上个月底"])}
    for k, f in rep.items():
        while k in s:
            s = s.replace(k, f(), 1)
    return s


def agent_core(r: random.Random, call_type: str, ctype: str | None, scenario: str,
               customer: list[str]) -> tuple[list[str], list[str]]:
    """(what the agent does in this call, type-specific closings): 2-4 sentences."""
    if call_type == "repair":
        core = r.sample(A_REPAIR, r.randint(1, 2))
        if scenario in A_REPAIR_SCEN and r.random() < 0.6:
            core.append(r.choice(A_REPAIR_SCEN[scenario]))
        if r.random() < 0.35 or any("钱" in t or "收费" in t for t in customer):
            core.append(r.choice(A_REPAIR_ANSWER))
        if r.random() < 0.2:
            core.insert(0, r.choice(A_REPAIR_SORRY))
        return core, A_REPAIR_CLOSE
    if call_type == "inquiry":
        core = r.sample(A_INQ_TOPIC.get(scenario, A_INQ), r.randint(1, 2))
        if r.random() < 0.6:
            core += r.sample(A_INQ, 1)
        if r.random() < 0.25:
            core.append(r.choice(A_INQ_NOTE))
        return core, A_INQ_CLOSE
    if call_type == "complaint":
        core = r.sample(A_COMP, r.randint(1, 3))
        if ctype in A_COMP_TYPE and r.random() < 0.6:
            core.insert(r.randint(0, len(core)), r.choice(A_COMP_TYPE[ctype]))
        if scenario in A_COMP_SCEN and r.random() < 0.5:
            core.append(r.choice(A_COMP_SCEN[scenario]))
        elif scenario in REPAIRABLE and r.random() < 0.4:
            core.append(r.choice(A_COMP_REPAIRISH))
        if r.random() < (0.4 if scenario in REPAIRABLE else 0.15):
            core.append(r.choice(A_COMP_DISPATCH))
        return core, A_COMP_CLOSE
    if call_type == "suggestion":
        core = r.sample(A_SUG, r.randint(1, 3))
        if r.random() < 0.15:
            core.append(r.choice(["这个问题我们会反馈给主管。", "我们核实一下再回复您。"]))
        return core, A_SUG_CLOSE
    text = "".join(customer)
    core = next((list(a) for k, a in A_OTHER_BY_KEY if k in text), [])
    if not core or r.random() < 0.5:
        core.append(r.choice(A_OTHER))
    return core, A_OTHER_CLOSE


def agent_register(r: random.Random, text: str, casual: bool) -> str:
    if casual:
        for a, b in A_CASUAL:
            if a in text and r.random() < 0.5:
                text = text.replace(a, b)
        if r.random() < 0.3:
            text = r.choice(A_FILLERS) + text
    return text


def make_agent_turns(r: random.Random, call_type: str, ctype: str | None, scenario: str,
                     customer: list[str], noisy: bool, family: str | None = None) -> list[str]:
    """The agent's turns of one corpus example (empty for the text-only share).

    ``customer`` are the customer's turns before registers and noise (they tell which
    out-of-scope request an "other" call made, and whether a repair caller asked the price).
    ``family``: an agent-decided call (always a full agent side, :func:`family_core`).
    """
    p = r.random()
    if p < AGENT_SHARE_NONE and not family:
        return []
    crew = A_CREW.get(scenario, A_CREW_ANY)
    n = len(customer)
    if family:
        core, closes = family_core(r, family, call_type, scenario)
    elif p < AGENT_SHARE_NONE + AGENT_SHARE_MINIMAL:
        core, closes = [], A_CLOSE
    else:
        core, closes = agent_core(r, call_type, ctype, scenario, customer)
    # one reply after each customer turn: acknowledgements and questions for details around
    # the core sentences, which come in order, spread over the replies
    replies: list[list[str]] = [[] for _ in range(max(1, n))]
    if r.random() < 0.6:
        replies[0].append(r.choice(A_ASK))
    for i, s in enumerate(core):
        replies[min(len(replies) - 1, i * len(replies) // max(1, len(core)) + (1 if n > 2 else 0))].append(s)
    for rep in replies:
        if not rep or r.random() < 0.3:
            rep.insert(0, r.choice(A_ACK))
    if r.random() < 0.8:
        replies[-1].append(r.choice(closes) if core and r.random() < 0.5 else r.choice(A_CLOSE))
    turns = ([r.choice(A_GREET)] if r.random() < 0.9 else []) + ["".join(x) for x in replies]
    casual = r.random() < 0.3
    turns = [agent_register(r, agent_fill(r, t, crew), casual) for t in turns]
    if noisy:
        rate = r.uniform(0.02, 0.10)
        turns = [asr_noise(r, t, rate, _HOMO_AGENT) for t in turns]
    return [t for t in turns if t.strip()]


def all_agent_text() -> list[str]:
    pools = [A_GREET, A_ACK, A_ASK, A_CLOSE, A_REPAIR, A_REPAIR_ANSWER, A_REPAIR_SORRY, A_REPAIR_CLOSE, A_INQ,
             A_INQ_NOTE, A_INQ_CLOSE, A_COMP, A_COMP_REPAIRISH, A_COMP_DISPATCH, A_COMP_CLOSE, A_SUG, A_SUG_CLOSE,
             A_OTHER, A_OTHER_CLOSE]
    pools += list(A_REPAIR_SCEN.values()) + list(A_INQ_TOPIC.values()) + list(A_COMP_TYPE.values())
    pools += list(A_COMP_SCEN.values()) + [a for _, a in A_OTHER_BY_KEY]
    pools += list(A_EXPLAIN_SCEN.values()) + [A_EXPLAIN_ANY, A_EXPLAIN_IF, A_AGAIN_REPAIR]
    return [t for p in pools for t in p]


# ----------------------------------------------------------------------------- agent-decided calls
# In the main corpus the customer's words alone already tell the type (cross-validated
# ~0.98), so a model has no reason to listen to the agent. On a real line many callers say
# something that fits two types: a fault told as a question (repair or inquiry?), a fault
# that came back (repair or complaint?), or hardly anything the recogniser caught. Then it is
# the agent who decides: sends a worker, explains, or apologises and promises an answer.
# These families use the SAME customer templates for the competing labels; only the agent
# differs. They are appended after the main corpus (own generator, own ids).
FAMILY_SEED = SEED + 17
FAMILY_COUNTS = [
    ("question", "repair", None, 100), ("question", "inquiry", None, 100),
    ("again", "repair", None, 80), ("again", "complaint", "resolve", 60),
    ("neutral", "repair", None, 25), ("neutral", "inquiry", None, 30),
    ("neutral", "suggestion", None, 30), ("neutral", "other", None, 30),
    ("neutral", "complaint", "resolve", 30),
]
# The complaints among them are complaints by what the agent does, not by the caller's
# attitude: their complaint type is nominal and marked ``for_complaint_type: false`` (the
# complaint-type models learn only from callers whose words were written for their type).
FAM_QUESTION = [
    "你好，请问{thing}{fault}是怎么回事？", "你好，我想问一下，{thing}怎么{fault}了？",
    "喂，物业吗？{thing}{fault}，这个归谁管啊？", "你好，问一下啊，{thing}{fault}，要怎么处理？",
    "你好，{thing}{fault}，是整栋楼都这样吗？", "你好，我家{thing}{fault}，你们知道是什么情况吗？",
    "请问一下，{thing}{fault}这个事找谁？", "你好，{thing}{fault}了，我该怎么办？",
    "你好，打听一下，{thing}{fault}，是不是在检修啊？", "你好，我是{place}的，{thing}{fault}，想问问什么原因。",
]
FAM_QUESTION_MID = ["那怎么办呢？", "要多久？", "哦，这样啊。", "需要我做什么吗？", "那我等着。", "是就我家这样吗？",
                    "那行，我知道了。", "我是{place}的。", "大概什么时候能好？", "好的，谢谢。"]
FAM_AGAIN = [
    "你好，{thing}又{fault}了，上次修过没多久。", "你好，{thing}{fault}，这都第二回了。",
    "喂，{thing}{fault}，之前报过一次，还是不行。", "你好，{thing}怎么又{fault}了？",
    "你好，我家{thing}{fault}，{date}刚弄过，现在又这样了。", "你好，{thing}老是{fault}，隔几天就来一次。",
]
FAM_AGAIN_MID = ["这次能不能弄彻底一点？", "上次来的师傅说没问题了。", "我是{place}的。", "那你们看着办吧。",
                 "好吧。", "你们记一下。", "能快点就快点吧。", "我在家。"]
FAM_NEUTRAL = ["喂，你好。", "你好，我是{place}的，我说个事。", "喂？你好，物业吗？", "你好，麻烦问一下。",
               "你好你好。", "嗯，你好，我这边有点事。"]
FAM_NEUTRAL_MID = ["嗯。", "对。", "嗯，对对。", "是的。", "好。", "哦。", "那行。", "{place}。", "对，就是这个。"]
FAM_NEUTRAL_END = ["好的，谢谢。", "行，那就这样。", "好，再见。", "嗯，好的。"]

A_EXPLAIN_SCEN = {  # an inquiry: the agent explains the cause and what to do, sends nobody
    "elevator": ["今天电梯在做年检，下午三点以后恢复使用。", "电梯在做例行保养，一个小时左右就好，您先走另一部。"],
    "water": ["今天是计划停水，清洗水箱，通知前天就贴在单元门口了，下午五点恢复。",
              "是市政管网在维修，不是咱们小区的问题，恢复时间要等自来水公司通知。",
              "刚恢复供水的时候水会有点黄，放几分钟就好了。"],
    "light": ["楼道灯是声控的，晚上十二点以后统一关闭，这是为了节能。", "路灯是定时开的，冬天晚上六点才亮。"],
    "heating": ["今年的供暖要十一月十五号才开始，现在还没到时间。",
                "刚开始供暖管道里有空气，您可以把暖气片上的放气阀拧开放一下气，过两天温度就上来了。"],
    "door": ["门禁卡有有效期，您带身份证到前台激活一下就能用了。", "门禁系统在升级，今天刷卡会慢一点，升级完就好了。"],
    "drain": ["户内的下水道是业主自己负责疏通的，您可以找有资质的疏通公司，电话我可以发给您。",
              "您可以先用疏通剂试试，一般能解决。"],
    "leak": ["这种情况一般是楼上的防水层有问题，需要跟楼上业主协商，费用由责任方承担。",
             "户内的水管是业主自有部分，维修要自己找人，您先把总阀关上。"],
    "wall": ["外墙渗水属于开发商的保修范围，您可以直接联系开发商售后，电话我发给您。",
             "房子还在保修期内的话，要找开发商报修。"],
    "ac": ["空调外机滴水是邻里之间的事，建议您先跟楼上沟通一下。", "按小区规定外机要接冷凝水管，您可以提醒一下楼上。"],
}
A_EXPLAIN_ANY = ["这个情况我们知道，是统一安排的，不是就您一家。", "我查了一下，今天没有报修记录，应该是正常现象。",
                 "这个属于业主自己负责的部分，您可以自己找人处理。", "您可以看一下业主群里的通知，昨天已经发过了。"]
A_EXPLAIN_IF = ["如果明天还不行，您再打电话过来，我们再派人看。", "要是过了这个时间还没好，您再联系我们。"]
A_AGAIN_REPAIR = ["好的，我再给您派个单，让师傅过去看看。", "我给您重新登记一下维修，这次让{crew}仔细查一下原因。",
                  "返修的话是不收费的，我让上次那位师傅再过去。", "行，我这边加急派单，{crew}{eta}到。"]


def compose_family(r: random.Random, family: str, call_type: str) -> tuple[str, list[str]]:
    """The customer's turns of an agent-decided call (the same templates for both labels)."""
    key = r.choice(REPAIRABLE)
    sc = SCEN[key]
    if family == "question":
        turns = [fill(r, r.choice(FAM_QUESTION), sc)] + [fill(r, m, sc) for m in pick_mid(r, FAM_QUESTION_MID, 1, 3)]
    elif family == "again":
        turns = [fill(r, r.choice(FAM_AGAIN), sc)] + [fill(r, m, sc) for m in pick_mid(r, FAM_AGAIN_MID, 1, 3)]
    else:
        key = {"repair": key, "complaint": key, "inquiry": r.choice([t for t, _ in INQ_TOPICS]),
               "suggestion": r.choice(SUG_TOPICS), "other": "other"}[call_type]
        turns = [fill(r, r.choice(FAM_NEUTRAL), sc)] + [fill(r, m, sc) for m in pick_mid(r, FAM_NEUTRAL_MID, 1, 3)]
        turns.append(r.choice(FAM_NEUTRAL_END))
    return key, turns


def family_core(r: random.Random, family: str, call_type: str, scenario: str) -> tuple[list[str], list[str]]:
    """What the agent does in an agent-decided call: this decides its label."""
    if call_type == "inquiry" and family == "question":
        core = [r.choice(A_EXPLAIN_SCEN.get(scenario, A_EXPLAIN_ANY))]
        if r.random() < 0.4:
            core.append(r.choice(A_EXPLAIN_ANY + A_INQ))
        if r.random() < 0.2:
            core.append(r.choice(A_EXPLAIN_IF))
        return core, A_INQ_CLOSE
    if call_type == "repair" and family == "again":
        core = [r.choice(A_AGAIN_REPAIR)] + r.sample(A_REPAIR, r.randint(0, 1))
        if r.random() < 0.3:
            core.insert(0, r.choice(A_REPAIR_SORRY))
        return core, A_REPAIR_CLOSE
    if call_type == "complaint":  # a fault that came back (or a few words), taken as a complaint
        core = r.sample(A_COMP, r.randint(1, 2))
        if family == "again" or r.random() < 0.5:
            core.append(r.choice(A_COMP_REPAIRISH))
        if r.random() < 0.4:
            core.append(r.choice(A_COMP_DISPATCH))
        return core, A_COMP_CLOSE
    if call_type == "other":
        return [r.choice(A_OTHER)] + [r.choice([a for _, a in A_OTHER_BY_KEY])[0]], A_OTHER_CLOSE
    return agent_core(r, call_type, None, scenario, [])


# ----------------------------------------------------------------------------- composition
def pick_mid(r: random.Random, pool: list[str], lo: int, hi: int) -> list[str]:
    return r.sample(pool, k=r.randint(lo, hi))


def compose(r: random.Random, call_type: str, ctype: str | None) -> tuple[str, list[str]]:
    scenario, turns = _compose(r, call_type, ctype)
    return scenario, sprinkle(r, turns, SCEN["light"], call_type)


def _compose(r: random.Random, call_type: str, ctype: str | None) -> tuple[str, list[str]]:
    if call_type == "complaint":
        key = r.choice(SCEN_KEYS)
        sc = SCEN[key]
        if ctype == "vent":
            first = fill(r, r.choice(VENT_OPEN), sc)
            mids = [fill(r, m, sc) for m in pick_mid(r, VENT_MID, 1, 4)]
            if r.random() < 0.5:  # reasons simple and repeated: the same complaint again
                mids.append(fill(r, r.choice(["{thing}{fault}！{thing}{fault}啊！", "{fault}！{fault}！",
                                              "我说了多少遍了，{fault}！"]), sc))
            turns = [first + "".join(mids[:2])]
            if len(mids) > 2:
                turns.append("".join(mids[2:]))
            turns.append(r.choice(VENT_END) if r.random() < 0.8 else r.choice(["行吧，你们赶紧的！", "哼，快点！"]))
            if r.random() < 0.3:
                turns.insert(-1, r.choice(["你说什么？", "别跟我扯这些！", "又是等！又是等！", "我不听！"]))
        elif ctype == "resolve":
            first = fill(r, r.choice(RES_OPEN), sc)
            mids = [fill(r, m, sc) for m in pick_mid(r, RES_MID, 1, 4)]
            turns = [first + (mids[0] if r.random() < 0.5 else "")] + mids[1:] + [fill(r, r.choice(RES_END), sc)]
            if r.random() < 0.5:
                turns.insert(len(turns) - 1, name_answer(r))
        else:
            first = fill(r, r.choice(EXP_OPEN), sc)
            mids = [fill(r, m, sc) for m in pick_mid(r, EXP_MID, 1, 4)]
            if r.random() < 0.35:  # expectation callers often propose what they hope for
                mids.append(r.choice(["我建议你们也定个固定的时间，贴个公告出来。", "要不你们也学学人家，定期安排一下。",
                                      "我觉得可以每个月检查一次，大家也放心。"]))
            turns = [first] + ["".join(mids[:2])] + (["".join(mids[2:])] if len(mids) > 2 else [])
            turns.append(r.choice(EXP_END))
            if r.random() < 0.4:
                turns.insert(len(turns) - 1, name_answer(r))
        return key, turns
    if call_type == "repair":
        key = r.choice(REPAIRABLE)
        sc = SCEN[key]
        turns = [fill(r, r.choice(REP_OPEN), sc)]
        turns += [fill(r, m, sc) for m in pick_mid(r, REP_MID, 0, 2)]
        if r.random() < 0.7:
            turns.append(name_answer(r))
        if r.random() < 0.4:
            turns.append(phone_answer(r))
        turns.append(r.choice(REP_END))
        return key, turns
    if call_type == "inquiry":
        topic, qs = r.choice(INQ_TOPICS)
        q = r.sample(qs, k=min(len(qs), r.randint(1, 2)))
        turns = [fill(r, r.choice(INQ_OPEN), SCEN["fee"]) + q[0]]
        turns += q[1:] + pick_mid(r, INQ_MID, 0, 2)
        if r.random() < 0.3:
            turns.append(name_answer(r))
        turns.append(r.choice(INQ_END))
        return topic, turns
    if call_type == "suggestion":
        topic = r.choice(SUG_TOPICS)
        turns = [fill(r, r.choice(SUG_OPEN).replace("{topic}", topic), SCEN["green"])]
        turns += pick_mid(r, SUG_MID, 1, 2)
        if r.random() < 0.3:
            turns.append(name_answer(r))
        turns.append(r.choice(SUG_END))
        return topic, turns
    lines = r.choice(OTHER_LINES)
    first = fill(r, r.choice(OTHER_PREFIX), SCEN["fee"]) + lines[0]
    turns = [first] + lines[1:] + pick_mid(r, OTHER_MID, 0, 1)
    return "other", turns


def make_example(r: random.Random, idx: int, call_type: str, ctype: str | None) -> dict:
    """One example. The customer's words come from ``r``; the agent's from their own generator
    seeded by the example id, so adding or changing agent templates leaves the customer's
    words (and the rendered voice calls made from them) unchanged."""
    scenario, turns = compose(r, call_type, ctype)
    return _finish(r, idx, call_type, ctype, scenario, turns)


def make_family_example(r: random.Random, idx: int, family: str, call_type: str, ctype: str | None) -> dict:
    """One agent-decided example (see ``FAMILY_COUNTS``): registers and noise as usual."""
    scenario, turns = compose_family(r, family, call_type)
    return _finish(r, idx, call_type, ctype, scenario, turns, family)


def _finish(r: random.Random, idx: int, call_type: str, ctype: str | None, scenario: str,
            turns: list[str], family: str | None = None) -> dict:
    plain = list(turns)
    register = r.choices(["standard", "colloquial", "dialect", "elderly"], [0.45, 0.25, 0.2, 0.1])[0]
    if register == "colloquial":
        turns = [add_fillers(r, dialectise(r, t, 0.15)) for t in turns]
    elif register == "dialect":
        turns = [dialectise(r, t, 0.45) for t in turns]
    elif register == "elderly":
        turns[0] = r.choice(POLITE_PREFIX) + turns[0]
        turns = [add_fillers(r, t) for t in turns]
    noisy = r.random() < 0.35
    if noisy:
        rate = r.uniform(0.03, 0.12)
        turns = [asr_noise(r, t, rate) for t in turns]
    ra = random.Random(f"{SEED}:agent:k{idx:04d}")
    agent = make_agent_turns(ra, call_type, ctype, scenario, plain, noisy, family)
    out = {"id": f"k{idx:04d}", "call_type": call_type, "complaint_type": ctype,
           "scenario": scenario, "register": register, "asr_noise": noisy,
           "turns": [t for t in turns if t.strip()], "agent_turns": agent}
    if family:
        out["agent_decides"] = family
        if call_type == "complaint":
            out["for_complaint_type"] = False
    return out


def all_template_text() -> list[str]:
    pools = [VENT_OPEN, VENT_MID, VENT_END, RES_OPEN, RES_MID, RES_END, EXP_OPEN, EXP_MID, EXP_END,
             REP_OPEN, REP_MID, REP_END, INQ_OPEN, INQ_MID, INQ_END, SUG_OPEN, SUG_MID, SUG_END,
             SUG_TOPICS, OTHER_MID] + [q for _, q in INQ_TOPICS] + OTHER_LINES
    out = [t for p in pools for t in p]
    for sc in SCEN.values():
        out += sc["thing"] + sc["fault"]
    return out


def generate() -> list[dict]:
    build_homophones(all_template_text())
    build_homophones(all_template_text() + all_agent_text(), _HOMO_AGENT)
    r = random.Random(SEED)
    examples, idx = [], 0
    for (call_type, ctype), n in COUNTS.items():
        seen: set[str] = set()
        made = 0
        while made < n:
            ex = make_example(r, idx, call_type, ctype)
            key = "|".join(ex["turns"])
            if key in seen:
                continue
            seen.add(key)
            examples.append(ex)
            idx += 1
            made += 1
    r = random.Random(FAMILY_SEED)
    for family, call_type, ctype, n in FAMILY_COUNTS:
        seen = set()
        while len(seen) < n:
            ex = make_family_example(r, idx, family, call_type, ctype)
            key = "|".join(ex["turns"] + ex["agent_turns"])
            if key not in seen:
                seen.add(key)
                examples.append(ex)
                idx += 1
    return examples


def dump(examples: list[dict]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="verify corpus.jsonl is reproducible")
    args = ap.parse_args(argv)
    text = dump(generate())
    if args.check:
        same = OUT.exists() and OUT.read_text("utf-8") == text
        print("reproducible" if same else "corpus.jsonl differs from a fresh generation")
        return 0 if same else 1
    OUT.write_text(text, "utf-8")
    print(f"{OUT}: {text.count(chr(10))} examples, sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
