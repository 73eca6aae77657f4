"""Personal data in transcripts: find it, mask it (PII 脱敏).

Kinds (``PiiSpan.kind``) and their masks — every mask keeps the text's length (one ``*`` for
one character), so offsets, search highlights and word times stay valid:

``phone``      mobile (11 digits, 1[3-9]…) and landline numbers (0 + area code + number, or an
               8-digit local number; a 7-digit one after 电话/号码): ``138****5678``,
               ``幺三九，****，七七三五``.
``id_card``    18-character resident ID numbers whose check character is right (GB 11643).
``bank_card``  16–19-digit card numbers that pass the Luhn check.
               Number kinds keep the first 3 and the last 4 digits when the number has 11 or
               more, else the last 2; separators stay.
``plate``      plate numbers (粤B12345, new-energy 粤BD12345): province and letter stay
               (``粤B*****``).
``name``       names before 先生/女士/小姐 and after 姓/我叫 (王先生, 张建国先生, 我姓周): a
               full name keeps its surname (``张**先生``), a surname alone is starred
               (``*先生``).
``room``       an address down to the room: building + unit + room, building + room, unit +
               room (9栋2单元1002, 三号楼二单元五零二, 十七栋，呃，三零八), or a room alone
               (1002室, 八零二的): the numbers are starred but the last two digits of the
               room (``*栋*单元**02``, ``*号楼*单元*零二``). A building or a unit alone names many
               homes and is not masked.

Digits may be written or spoken (幺/一, 两/二, 洞/零/〇 …, :mod:`qa.numbers`), in groups with
separators (幺三九，幺六二四，七七三五), as the recogniser writes them.

Example::

    >>> from qa import pii
    >>> text = "我姓周，九栋二单元一零零二，电话幺三九，幺六二四，七七三五"
    >>> pii.mask(text)
    '我姓*，*栋*单元**零二，电话幺三九，****，七七三五'
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Iterable

from qa.numbers import DIGIT_CLASS, DIGITS, NUMERAL_CLASS, cn_to_int, digits_of

__all__ = ["KINDS", "PiiSpan", "WordSpan", "detect", "mask", "mask_value", "utterance_spans",
           "mask_transcript", "mask_number", "valid_id_number", "luhn_ok",
           "PiiLogFilter", "install_log_filter", "install_log_masking", "set_log_masking"]

KINDS = ("phone", "id_card", "bank_card", "plate", "name", "room")
MASK = "*"
#: The ``AppSetting`` holding the masking policy (:mod:`api.services.privacy`).
POLICY_SETTING = "masking_policy"


@dataclass(frozen=True)
class PiiSpan:
    """A piece of personal data in a text: kind, ``text[start:end]``, normalised value
    (digits only for numbers, ``9栋2单元1002`` for an address, the name's characters)."""

    kind: str
    start: int
    end: int
    text: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordSpan:
    """A span of an utterance in time (seconds from the start of the recording), for beeping
    the audio: ``speaker`` is the utterance's (its channel in a stereo recording)."""

    kind: str
    speaker: str
    start: float
    end: float
    text: str


# --------------------------------------------------------------------------- characters

_NUM = NUMERAL_CLASS
_D = DIGIT_CLASS
_D1 = "".join(c for c, v in DIGITS.items() if v != "0")  # a digit but zero
_DIGIT_CHARS = set(DIGITS)
_ONE_MISHEARD = set("要腰夭")  # the recogniser's 幺 before a digit (要三八…, 一三九，腰二八八)
_SEP = set("，,、 -－—·.")          # between groups of one number (not 。)
_HESITATION = r"(?:[，,、\s…！!]|呃|嗯|啊|那个|就是){0,6}"
_CJK = re.compile(r"[\u4e00-\u9fff]")

SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁"
    "蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容",
                     "长孙", "令狐", "夏侯", "端木", "宇文", "司徒", "独孤", "西门", "南宫")
# characters that end the word before a name (…的张先生, 是李女士, 给王先生)
_BEFORE_NAME = set("的是给跟和与找叫请问位对由让被把向帮")
_TITLES = ("先生", "女士", "小姐")
# 姓 not followed by a surname: 贵姓, 什么 …; 百姓/同姓 are no introductions
_NOT_INTRO = set("百同")
# what follows a surname as a form of address: 李阿姨, 刘总, 何经理, (小)刘师傅
_ADDRESS_TERMS = ("阿姨", "大爷", "大妈", "大姐", "大哥", "叔叔", "阿叔", "奶奶", "爷爷", "师傅",
                  "经理", "总", "老师", "主任", "主管", "管家", "姐", "哥", "队长", "书记",
                  "医生", "律师", "老板")
# after these the surname needs no word boundary before it (我婆婆张阿姨, 保洁白师傅): no
# common word ends in a surname character before them, as 工程 does before 主管
_KIN_TERMS = frozenset(("阿姨", "大爷", "大妈", "奶奶", "爷爷", "叔叔", "阿叔", "师傅"))
_SUR = "".join(sorted(SURNAMES))
_COMPOUND = "|".join(COMPOUND_SURNAMES)
# 老赵家, 小周说: a surname after 老/小 and before what ends a name
_OLD_YOUNG = re.compile(
    rf"[老小]((?:{_COMPOUND})|[{_SUR}])(?=[家他她的说，。、！？,.!?也都又在呢吧让跟和那这啊呀昨今明前]|$)")
_NOT_OLD_YOUNG = ("老师", "小时", "小于", "小米", "小康")
# a full name after a word that introduces one: 她叫周雨婷，/ 户名胡晓燕 / 业主郑丽华的 /
# 我老公周明名下 / 客服专员林晓静，
_GIVEN_STOP = set("来去的了吗呢吧啊是在把给到说看修人傅们末上下午天二三四五六七八九十几个都也"
                  "就还又要会能可想让家楼号栋电话")
_FULL_NAME = re.compile(
    r"(?:叫|名叫|户名|户主是?|业主是?|租户是?|名字是|名字写|写的是|署名|专员|客服|话务员|接线员|"
    r"老公|老婆|爱人|丈夫|妻子|爸爸|妈妈|我爸|我妈|儿子|女儿|婆婆|公公|岳父|岳母)"
    rf"((?:{_COMPOUND})[\u4e00-\u9fff]{{1,2}}?|[{_SUR}][\u4e00-\u9fff]{{1,2}}?)"
    r"(?=[，。！？,.!?\s、]|的|$|名下|电话|他|她|很|为)")

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(  # spoken, the characters may come one by one: 京A 8X 9 Z 7, 粤B，七七六八零
    rf"([{_PROVINCES}])[\s·•]?([A-HJ-NP-Za-hj-np-z])[\s·•，,]?"
    rf"((?:[A-HJ-NP-Za-hj-np-z{_D}]\s?){{4,5}}[A-HJ-NP-Za-hj-np-z{_D}])"
    rf"(?![A-Za-z{_D}])")

# an address down to the room (the recogniser writes 栋 as 动/冬/东/豆/斗 after a number,
# 单元 as 单言/单也/单人)
# (B座, 8座, C栋: a letter may name the building; 一门 is a unit; a floor may come before the
# room: B座十楼1003)
_B = rf"([{_NUM}]+|[A-Za-z])(栋|号楼|幢|座|动|冬|东|豆|斗)"
_U = rf"([{_NUM}]+)(?:单元|单[言也人园]|门)"
_F = rf"(?:[{_NUM}]+[楼层]{_HESITATION})?"
_R = rf"([{_D}]{{3,4}})(?:室|房|号房|号)?"
_ADDRESS = re.compile(
    rf"(?:{_B}{_HESITATION}(?:{_U}{_HESITATION})?|{_U}{_HESITATION}){_F}{_R}"
    rf"(?![{_NUM}楼层点月日年块元分秒天个号])")
# the written short form building-unit-room: 5-2-301, 19-1-1502
_DASHED = re.compile(r"(?<![\d-])(\d{1,2})-(\d{1,2})-(\d{3,4})(?![\d-])")
# a room alone: 1002室, 八零二的, 是一零二吗 (no address word before it)
_LONE_ROOM = re.compile(
    rf"(?<![{_NUM}])"
    rf"([{_D1}][{_D}]{{2,3}})"
    r"(?=室|房|号房|的(?:业主|住户|张|王|李|赵|刘|陈|先生|女士|那|这|家)|的[\u4e00-\u9fff]先生"
    r"|的[\u4e00-\u9fff]女士|吗|[，。？！,?!]|$)")
_NOT_ROOM_BEFORE = ("工号", "尾号", "号码", "电话", "热线", "打", "拨", "第", "负", "编号", "码",
                    "户号", "单号", "车位", "号", "位", "尾数", "分机", "是")
_ROOM_CUE_BEFORE = ("住", "住在", "房号", "门牌", "是", "对，", "楼上", "楼下", "隔壁", "对面", "对门")
# numbers of things, not people: 报修单号幺三八…, 订单号, 验证码
_NOT_PHONE_CUE = re.compile(r"(单号|订单号?|编号|工单号?|验证码|取件码|快递单号?|运单号?)[是为:：\s]*$")
# a phone number the recogniser garbled (139，162孙，7735 / 要三星9520，3846 / 183日。零二八五…):
# after a word that announces a number, a stretch of mostly digits with a slip or two
_FUZZY_CUE = re.compile(r"电话|号码|手机|座机|联系方式|回电|打给|拨打")
_FUZZY_SEP = _SEP | set("。．")
_PHONE_CUE = re.compile(r"(电话|号码|手机|座机|打|拨|联系)[^，。]{0,6}$")


def _is_digit(c: str) -> bool:
    return c in _DIGIT_CHARS


def valid_id_number(s: str) -> bool:
    """Whether ``s`` (18 characters, digits and a final X) is a resident ID number with the
    right check character (GB 11643-1999, ISO 7064 MOD 11-2)."""
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] in "Xx"):
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(s, weights)) % 11]
    if s[17].upper() != check:
        return False
    month, day = int(s[10:12]), int(s[12:14])
    return s[0] in "123456789" and 1 <= month <= 12 and 1 <= day <= 31


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (bank card numbers)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# --------------------------------------------------------------------------- detection

def _addresses(text: str) -> list[PiiSpan]:
    out = []
    for m in _ADDRESS.finditer(text):
        b, u1, u2, room = m.group(1), m.group(3), m.group(4), m.group(5)
        unit = u1 or u2
        parts = []
        if b:
            v = b.upper() if b.isascii() and b.isalpha() else cn_to_int(b)
            if v is None:
                continue
            parts.append(f"{v}栋")
        if unit:
            v = cn_to_int(unit)
            if v is None:
                continue
            parts.append(f"{v}单元")
        parts.append(digits_of(room))
        out.append(PiiSpan("room", m.start(), m.end(), m.group(0), "".join(parts)))
    for m in _DASHED.finditer(text):
        if not any(s.start < m.end() and m.start() < s.end for s in out):
            b, u, r = m.groups()
            out.append(PiiSpan("room", m.start(), m.end(), m.group(0),
                                f"{int(b)}栋{int(u)}单元{r}"))
    return out


def _lone_rooms(text: str, taken: list[tuple[int, int]]) -> list[PiiSpan]:
    out = []
    for m in _LONE_ROOM.finditer(text):
        a, b = m.start(1), m.end(1)
        if any(x < b and a < y for x, y in taken):
            continue
        before = text[max(0, a - 4):a]
        after = text[b:b + 2]
        marked = after[:1] in ("室", "房") or after.startswith("号房")
        if not marked:
            bare = before[:-1] if before.endswith("是") else before  # 验证码是四八二七
            if any(bare.endswith(w) for w in _NOT_ROOM_BEFORE if w != "是"):
                continue
            # an unmarked number is a room only where people name a home: 八零二的张先生,
            # 是一零二吗, 对，一零二
            if not (after.startswith("的") or any(before.endswith(w) for w in _ROOM_CUE_BEFORE)):
                continue
        elif any(before.endswith(w) for w in ("工号", "尾号", "编号")):
            continue
        out.append(PiiSpan("room", a, b + (1 if marked and after[:1] in "室房" else 0),
                           text[a:b + (1 if marked and after[:1] in "室房" else 0)],
                           digits_of(m.group(1))))
    return out


def _digit_runs(text: str, blocked: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Runs of digits (one separator allowed between groups; X/叉 may end an ID number; 要/腰
    before a digit is a misheard 幺), outside ``blocked``: ``(start, end, digits)``."""
    block = set()
    for a, b in blocked:
        block.update(range(a, b))
    runs, i, n = [], 0, len(text)

    def is_d(k: int) -> bool:
        return _is_digit(text[k]) or (text[k] in _ONE_MISHEARD and k + 1 < n
                                      and _is_digit(text[k + 1]))
    while i < n:
        if i in block or not is_d(i):
            i += 1
            continue
        j, digits, last = i, [], i
        while j < n and j not in block:
            c = text[j]
            if is_d(j):
                digits.append(DIGITS.get(c, "1"))
                last = j
                j += 1
            elif c in _SEP and digits and j + 1 < n and is_d(j + 1) \
                    and j + 1 not in block and not (c == "." and len(digits) < 7):
                j += 1
            elif c in "Xx叉" and len(digits) == 17:
                digits.append("X")
                last = j
                j += 1
                break
            else:
                break
        runs.append((i, last + 1, "".join(digits)))
        i = last + 1
    return runs


def _service_number(d: str) -> bool:
    """400/800 numbers belong to companies, not to people."""
    return len(d) == 10 and d[:3] in ("400", "800")


def _fuzzy_phones(text: str, taken: list[tuple[int, int]]) -> list[PiiSpan]:
    """Phone numbers as the recogniser may garble them, after a cue word (:data:`_FUZZY_CUE`):
    from the first digit within 14 characters, through digits, separators and at most two
    other characters in a row, to the last digit; a phone when it holds 8 to 14 digits, at
    least 70 % of its characters but separators. Masking errs on the safe side here."""
    def free(k: int) -> bool:
        return not any(x <= k < y for x, y in taken)

    def digit(k: int) -> bool:
        return _is_digit(text[k]) or text[k] in _ONE_MISHEARD
    out: list[PiiSpan] = []
    n = len(text)
    for m in _FUZZY_CUE.finditer(text):
        a = next((k for k in range(m.end(), min(n, m.end() + 14)) if digit(k)), None)
        if a is None or not free(a) or any(s.start <= a < s.end for s in out):
            continue
        j, last, digits, run = a, a, [], 0
        while j < n and free(j) and j - a < 30:
            c = text[j]
            if digit(j):
                digits.append(DIGITS.get(c, "1"))
                last, run = j, 0
            elif c in _FUZZY_SEP:
                pass
            elif _CJK.match(c) and run < 2:
                run += 1
            else:
                break
            j += 1
        body = sum(1 for c in text[a:last + 1] if c not in _FUZZY_SEP)
        if 8 <= len(digits) <= 14 and len(digits) >= 0.7 * body \
                and not _service_number("".join(digits)):
            out.append(PiiSpan("phone", a, last + 1, text[a:last + 1], "".join(digits)))
    return out


def _number_kind(text: str, start: int, d: str) -> str | None:
    n = len(d)
    if n == 18 and valid_id_number(d):
        return "id_card"
    if "X" in d:
        return None
    if 16 <= n <= 19 and luhn_ok(d) and d[0] in "3456789":
        return "bank_card"
    if _NOT_PHONE_CUE.search(text[max(0, start - 8):start]) or _service_number(d):
        return None
    if d[0] == "1" and d[1:2] in set("3456789") and 10 <= n <= 12:
        return "phone"       # 10 or 12: a digit lost or added by the recogniser
    if d[0] == "0" and d[1:2] != "0" and 10 <= n <= 12:
        return "phone"       # area code + number
    if n == 8 and d[0] in "2345678":
        return "phone"       # a local landline number
    if n == 7 and d[0] in "2345678" and _PHONE_CUE.search(text[max(0, start - 12):start]):
        return "phone"
    return None


def _names(text: str) -> list[PiiSpan]:
    out = []
    for title in _TITLES:
        i = text.find(title)
        while i >= 0:
            span = None
            for k in (3, 2):  # a full name: surname first, after a word boundary
                a = i - k
                if a < 0:
                    continue
                cand = text[a:i]
                if cand[0] in SURNAMES and all(_CJK.match(c) for c in cand) and \
                        (a == 0 or not _CJK.match(text[a - 1]) or text[a - 1] in _BEFORE_NAME) \
                        and not any(c in "的是先女小" for c in cand[1:]):
                    span = (a, i)
                    break
            if span is None and i >= 1 and text[i - 1] in SURNAMES:
                span = (i - 1, i)
            if span:
                out.append(PiiSpan("name", span[0], span[1], text[span[0]:span[1]],
                                   text[span[0]:span[1]]))
            i = text.find(title, i + len(title))
    for m in re.finditer(r"(?:姓|我叫|名字叫|名字是)([\u4e00-\u9fff]{1,3})", text):
        intro = m.group(0)
        if intro.startswith("姓") and m.start() > 0 and text[m.start() - 1] in _NOT_INTRO:
            continue
        name = m.group(1)
        misheard = intro == "姓" and text[max(0, m.start() - 1):m.start()] == "我" \
            and name[0] not in "的是什么啥这那一"  # 我姓言: whatever was heard is the surname
        if name[0] not in SURNAMES and name[:2] not in COMPOUND_SURNAMES and not misheard:
            continue
        if intro.startswith("姓"):  # 姓林，十二栋… : the surname only (姓诸葛: two)
            name = name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]
        else:                         # 我叫张建国: up to three characters, not 的/是 …
            name = re.match(r"[^的是，。在住呢啊吧]{1,3}", name).group(0)
        a = m.start(1)
        out.append(PiiSpan("name", a, a + len(name), name, name))
    for m in _FULL_NAME.finditer(text):
        name = m.group(1)
        given = name[2:] if name[:2] in COMPOUND_SURNAMES else name[1:]
        if given and not any(c in _GIVEN_STOP for c in given):
            out.append(PiiSpan("name", m.start(1), m.end(1), name, name))
    for term in _ADDRESS_TERMS:
        i = text.find(term)
        while i >= 0:
            for k in (2, 1):
                a = i - k
                cand = text[a:i] if a >= 0 else ""
                if cand in COMPOUND_SURNAMES if k == 2 else cand in SURNAMES:
                    prev = text[a - 1] if a else ""
                    if prev != cand[0] and (  # 谢谢阿姨: a doubled character is no surname
                            term in _KIN_TERMS or not _CJK.match(prev) or prev in _BEFORE_NAME
                            or prev in "老小们"):
                        out.append(PiiSpan("name", a, i, cand, cand))
                    break
            i = text.find(term, i + len(term))
    for m in _OLD_YOUNG.finditer(text):
        if text[m.start():m.start() + 2] not in _NOT_OLD_YOUNG:
            out.append(PiiSpan("name", m.start(1), m.end(1), m.group(1), m.group(1)))
    return out


def _plates(text: str) -> list[PiiSpan]:
    out = []
    for m in _PLATE.finditer(text):
        tail = m.group(3)
        if len(tail) == 6 and not (tail[0].upper() in "DF" or tail[-1].upper() in "DF"):
            continue  # an 8-character plate is a new-energy one (D/F first or last)
        if not any(_is_digit(c) for c in tail):
            continue  # 京A + five letters: words, not a plate
        value = m.group(1) + m.group(2).upper() + "".join(
            DIGITS.get(c, c.upper()) for c in tail)
        out.append(PiiSpan("plate", m.start(), m.end(), m.group(0), value))
    return out


@lru_cache(maxsize=20_000)
def _detect(text: str) -> tuple[PiiSpan, ...]:
    spans = _addresses(text)
    spans += _plates(text)
    taken = [(s.start, s.end) for s in spans]
    for a, b, d in _digit_runs(text, taken):
        kind = _number_kind(text, a, d)
        if kind:
            spans.append(PiiSpan(kind, a, b, text[a:b], d))
    taken = [(s.start, s.end) for s in spans]
    spans += _fuzzy_phones(text, taken)
    taken = [(s.start, s.end) for s in spans]
    spans += _lone_rooms(text, taken)
    taken = [(s.start, s.end) for s in spans]
    spans += [s for s in _names(text) if not any(x < s.end and s.start < y for x, y in taken)]
    spans.sort(key=lambda s: (s.start, -s.end))
    out: list[PiiSpan] = []
    for s in spans:  # overlapping finds: keep the first (longest at a start)
        if out and s.start < out[-1].end:
            continue
        out.append(s)
    return tuple(out)


def detect(text: str, kinds: Iterable[str] | None = None) -> list[PiiSpan]:
    """The personal data in ``text``, in order, not overlapping; only ``kinds`` when given.

    Example: ``detect("李女士，电话13812345678")`` → a ``name`` span ``李`` (0–1) and a
    ``phone`` span ``13812345678`` (5–16)."""
    found = _detect(text or "")
    if kinds is None:
        return list(found)
    wanted = set(kinds)
    return [s for s in found if s.kind in wanted]


# --------------------------------------------------------------------------- masking

def mask_value(kind: str, text: str) -> str:
    """The masked form of one span's text (same length; see the module docstring)."""
    chars = list(text)
    if kind in ("phone", "id_card", "bank_card"):
        pos = [i for i, c in enumerate(chars) if _is_digit(c) or c in "Xx叉"]
        keep = set(pos[:3] + pos[-4:]) if len(pos) >= 11 else set(pos[-2:])
        for i in pos:
            if i not in keep:
                chars[i] = MASK
    elif kind == "plate":
        for i in range(2, len(chars)):
            if chars[i] not in " ·•":
                chars[i] = MASK
    elif kind == "name":
        for i in range(1 if len(chars) > 1 else 0, len(chars)):
            chars[i] = MASK
    elif kind == "room":
        numeral = set(_NUM) | set("0123456789０１２３４５６７８９")
        m = re.search(rf"[{DIGIT_CLASS}]{{3,4}}(?=[室房号]*$)", text)
        room_digits = set(range(m.end() - 2, m.end())) if m else set()
        for i, c in enumerate(chars):
            if c in numeral and i not in room_digits:
                chars[i] = MASK
    else:
        chars = [MASK] * len(chars)
    return "".join(chars)


def mask(text: str, spans: Iterable[PiiSpan] | None = None,
         kinds: Iterable[str] | None = None) -> str:
    """``text`` with ``spans`` (default: :func:`detect`'s, of ``kinds``) masked; the length
    does not change."""
    if not text:
        return text or ""
    spans = detect(text, kinds) if spans is None else spans
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < pos:
            continue
        out.append(text[pos:s.start])
        out.append(mask_value(s.kind, text[s.start:s.end]))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- transcripts

def _char_times(utt: dict[str, Any]) -> list[tuple[float, float]]:
    """A (start, end) time for each character of the utterance's text: from its words where
    they line up with the text, else spread evenly over the utterance."""
    text = utt.get("text") or ""
    u0, u1 = float(utt.get("start") or 0), float(utt.get("end") or 0)
    n = len(text)
    even = [(u0 + (u1 - u0) * i / max(n, 1), u0 + (u1 - u0) * (i + 1) / max(n, 1))
            for i in range(n)]
    words = utt.get("words") or []
    if not words:
        return even
    times: list[tuple[float, float] | None] = [None] * n
    pos = 0
    for w in words:
        wt = (w.get("text") or w.get("word") or "").strip()
        if not wt:
            continue
        k = text.find(wt, pos)
        if k < 0:  # punctuation or spaces differ: place the word's characters one by one
            idx = []
            p = pos
            for c in wt:
                q = text.find(c, p)
                if q < 0 or q - p > 3:
                    break
                idx.append(q)
                p = q + 1
            if not idx:
                continue
        else:
            idx = list(range(k, k + len(wt)))
        ws, we = float(w.get("start", u0)), float(w.get("end", u1))
        step = (we - ws) / len(idx)
        for j, q in enumerate(idx):
            times[q] = (ws + step * j, ws + step * (j + 1))
        pos = idx[-1] + 1
    for i in range(n):  # characters between words (punctuation): their neighbours' time
        if times[i] is None:
            prev = next((times[j] for j in range(i - 1, -1, -1) if times[j]), None)
            nxt = next((times[j] for j in range(i + 1, n) if times[j]), None)
            if prev and nxt:
                times[i] = (prev[1], max(prev[1], nxt[0]))
            else:
                times[i] = even[i]
    return times  # type: ignore[return-value]


_PARTICLES = set("吗呢吧啊呀了的哦嗯哈么嘛")


def transcript_spans(utterances: list[dict[str, Any]], kinds: Iterable[str] | None = None
                     ) -> list[list[PiiSpan]]:
    """:func:`detect` of every utterance of a transcript, and the names the recogniser cut in
    two: an utterance that ends in the surname (…请问您贵姓。周) when the speaker's next one
    starts with 先生/女士/小姐 (the surname, whatever character it was heard as, is masked)."""
    kinds = None if kinds is None else tuple(kinds)
    out = [detect(u.get("text") or "", kinds) for u in utterances]
    if kinds is not None and "name" not in kinds:
        return out
    last: dict[Any, int] = {}
    for i, u in enumerate(utterances):
        j = last.get(u.get("speaker"))
        last[u.get("speaker")] = i
        if j is None or not (u.get("text") or "").lstrip().startswith(_TITLES):
            continue
        prev = (utterances[j].get("text") or "").rstrip()
        k = len(prev) - 1
        if k >= 0 and _CJK.match(prev[k]) and prev[k] not in _PARTICLES \
                and not any(s.start <= k < s.end for s in out[j]):
            out[j] = [*out[j], PiiSpan("name", k, k + 1, prev[k], prev[k])]
    return out


def utterance_spans(utt: dict[str, Any], kinds: Iterable[str] | None = None,
                    spans: list[PiiSpan] | None = None
                    ) -> tuple[list[PiiSpan], list[WordSpan]]:
    """The personal data of one transcript utterance (RULES.md: ``speaker``, ``start``,
    ``end``, ``text``, optional ``words`` with times): the text spans (``spans`` when given,
    from :func:`transcript_spans`) and their times, from the words' times when the utterance
    has them (seconds)."""
    text = utt.get("text") or ""
    if spans is None:
        spans = detect(text, kinds)
    if not spans:
        return [], []
    times = _char_times(utt)
    speaker = utt.get("speaker") or "unknown"
    timed = [WordSpan(s.kind, speaker, round(times[s.start][0], 3),
                      round(times[s.end - 1][1], 3), s.text) for s in spans]
    return spans, timed


def mask_transcript(doc: dict[str, Any] | None, kinds: Iterable[str] | None = None
                    ) -> dict[str, Any] | None:
    """A copy of a transcript document with the personal data of every utterance masked (its
    text and its words' texts) and ``metadata.caller_number`` masked."""
    if not doc:
        return doc
    kinds = None if kinds is None else tuple(kinds)
    out = dict(doc)
    meta = dict(doc.get("metadata") or {})
    if meta.get("caller_number"):
        meta["caller_number"] = mask_number(str(meta["caller_number"]))
    out["metadata"] = meta
    utts = []
    source = doc.get("utterances") or []
    for u, spans in zip(source, transcript_spans(source, kinds)):
        text = u.get("text") or ""
        if not spans:
            utts.append(u)
            continue
        v = dict(u)
        masked = mask(text, spans)
        v["text"] = masked
        if u.get("words"):
            words, pos = [], 0
            for w in u["words"]:
                w = dict(w)
                wt = w.get("text") or ""
                k = text.find(wt, pos) if wt else -1
                if k >= 0:
                    w["text"] = masked[k:k + len(wt)]
                    pos = k + len(wt)
                words.append(w)
            v["words"] = words
        utts.append(v)
    out["utterances"] = utts
    return out


def mask_number(value: str | None) -> str | None:
    """A stored phone number (metadata, cases, the call list) masked as a phone span."""
    if not value:
        return value
    return mask_value("phone", value)


# --------------------------------------------------------------------------- logs

_LOG_MASKING = {"on": True}


def set_log_masking(on: bool) -> None:
    """Switch :class:`PiiLogFilter` on or off (the masking policy's ``logs``)."""
    _LOG_MASKING["on"] = bool(on)


class PiiLogFilter(logging.Filter):
    """Masks personal data in log messages (the formatted message replaces ``msg``/``args``);
    a no-op while :func:`set_log_masking` is off. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _LOG_MASKING["on"]:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the logging module's to report
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> PiiLogFilter:
    """Add one :class:`PiiLogFilter` to ``logger`` (default: the root logger, then also
    Python's last-resort handler, which prints where no handler is configured) and to its
    handlers (records of child loggers pass the handlers' filters, not the logger's);
    idempotent."""
    root = logger is None or logger is logging.getLogger()
    logger = logger or logging.getLogger()
    last = [logging.lastResort] if root and logging.lastResort is not None else []
    for target in (logger, *logger.handlers, *last):
        for f in target.filters:
            if isinstance(f, PiiLogFilter):
                break
        else:
            target.addFilter(_FILTER)
    return _FILTER


_FILTER = PiiLogFilter()


def install_log_masking(db: Any = None, *loggers: str) -> bool:
    """Install :class:`PiiLogFilter` at a process's start (the root logger and its handlers,
    and the loggers named ``loggers``), on or off as the stored masking policy's ``logs`` says
    (``AppSetting`` :data:`POLICY_SETTING`; on by default, and when the database cannot be
    read). ``db``: an Engine or a database URL (None: the default, on). Read once: a change
    of the policy reaches this process when it calls :func:`set_log_masking` (the web
    process does on ``PUT /api/v1/privacy/policy``) or starts again. Returns whether on."""
    on = True
    if db is not None:
        from sqlalchemy import Engine
        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.orm import Session

        from models import AppSetting, make_engine
        engine = db if isinstance(db, Engine) else make_engine(db)
        try:
            with Session(engine) as s:
                row = s.get(AppSetting, POLICY_SETTING)
                on = bool(((row.value if row is not None else None) or {}).get("logs", True))
        except SQLAlchemyError:
            pass  # no database (yet): masked
        finally:
            if engine is not db:
                engine.dispose()
    set_log_masking(on)
    install_log_filter()
    for name in loggers:
        install_log_filter(logging.getLogger(name))
    return on

