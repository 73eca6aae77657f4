"""Transcript search at scale: index size and build time, query times, sound-alike recall.

Builds the web benchmark's data set (``bench/web.py`` ``build()``: ``--calls`` analysed calls,
default 100 000, 50 agents, twelve months, 28 findings each) in a fresh SQLite database
(migrated by Alembic), gives every call an estate and about 30 utterances (≈ 3 million),
copies it all into a fresh PostgreSQL database (``COPY``), then on each engine:

- times the call list (``api.services.calls.list_calls``) without and with the index;
- builds the index with ``qa.transcript_index.reindex`` and reports its time, its size
  (``models.search_index.size_bytes``; the SQLite file's growth beside it) and the size of
  the database without it;
- times the real search service (``api.services.search.search``, as a supervisor; one query
  as an agent, whose visibility filter applies) for typical queries — one word, a phrase, two
  words, speaker-restricted, with the call list's filters, sound-alike, an exclusion, page 2 —
  warmed up, then ``--repeat`` times: hits, p50, p95 (ms), target p95 ≤ 300 ms. The
  statements of a query that misses the target are shown with their plans.

The utterances are composed from the shared sentence pools: the true transcripts of the 40
shared calls (``pub-*.truth.json``; a synthetic call follows a true call of its call type,
mixing in lines of other calls and halves of sentences) and the context (caller) / agent
lines of the labelled utterance bank, plus a few stock lines of repair calls (卫生间漏水 /
维修师傅上门, which the pools lack). Estates, building and room numbers, phone numbers,
surnames and the call's place / fault / fee / facility words are substituted per call, so
that common words (您好) are in nearly every call and domain terms (漏水, 物业费, 经理) in a
few percent; the shares are printed.

Sound-alike recall (also alone: ``--recall-only``, seconds): the 40 shared calls' own stereo
recognition (``bench/findings.py`` ``asr_transcripts``; cached in ``--asr-cache``, else
transcribed — minutes) is stored through ``qa.results.store_report`` (which indexes it) in a
small SQLite database; for every domain term of ``transcribe/vocabulary.yaml`` (``terms``,
``estates``) and every true utterance that contains it, the recognised utterances of the same
speaker overlapping it (± 0.5 s) should be among the service's hits for the term: exact
(baseline) and sound-alike recall (target ≥ 0.90), and the precision of the hits (a hit whose
overlapping true utterances lack the term is a false one).

Example::

    .venv/bin/python bench/search.py                      # 100 000 calls, SQLite + PostgreSQL
    .venv/bin/python bench/search.py --calls 5000 --repeat 5 --skip-pg
    .venv/bin/python bench/search.py --recall-only
    .venv/bin/python bench/search.py --pg-url postgresql+psycopg://postgres@127.0.0.1/hqa_x --keep
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "data"
CALLS = SHARED / "calls"
BANK = SHARED / "utterances" / "utterances.jsonl"
VOCABULARY = REPO / "transcribe" / "vocabulary.yaml"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/hqa_bench_search"
TARGET_MS = 300.0
RECALL_TARGET = 0.90
SLACK = 0.5  # seconds: a recognised utterance "overlaps" a true one within this margin

# --------------------------------------------------------------------------- sentence pools

ESTATES = ["阳光花园", "翠湖苑", "金地华府", "碧水湾", "御景湾", "世纪城", "和谐家园", "东湖湾",
           "紫荆花园", "金色家园", "枫林绿洲", "紫荆苑", "湖苑"]
ESTATE_W = [20, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 1, 1]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
            "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# interchangeable words: each call draws one of a group (weights), a few mentions another
GROUPS = {
    "\ue010": (["卫生间", "厨房", "阳台", "客厅", "卧室", "书房"], [30, 25, 15, 12, 12, 6]),
    "\ue011": (["漏水", "渗水", "滴水", "返水", "堵塞", "停水", "停电", "跳闸"],
               [14, 16, 8, 8, 18, 14, 14, 8]),
    "\ue012": (["物业费", "停车费", "水电费", "管理费", "电费", "水费", "燃气费"],
               [20, 20, 15, 15, 10, 10, 10]),
    "\ue013": (["电梯", "门禁", "单元门", "水管", "下水道", "暖气", "楼道灯", "燃气表", "地漏",
                "水龙头"], [20, 12, 10, 12, 10, 8, 10, 6, 6, 6]),
}
M_ESTATE, M_BUILDING, M_ROOM, M_PHONE, M_SURNAME = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
_MARK = re.compile("[\ue000-\ue0ff]")
_CN = "零一二三四五六七八九"
_TEMPLATES = [  # (pattern, marker), applied in order to every pool sentence
    (re.compile("|".join(sorted(set(ESTATES), key=len, reverse=True))), M_ESTATE),
    (re.compile(f"[{_CN}幺]{{7,}}"), M_PHONE),
    (re.compile("(?<![零一二三四五六七八九十百])[一二三四五六七八九十]{1,3}(?=栋|号楼|幢)"),
     M_BUILDING),
    (re.compile(f"(?<![{_CN}幺])[{_CN}]{{3,4}}(?![{_CN}幺])"), M_ROOM),
    (re.compile(f"[{SURNAMES}](?=先生|女士|阿姨|大爷)|(?<=姓)(?<!贵姓)[{SURNAMES}]"), M_SURNAME),
    # (not 门禁卡 / 电梯卡 / 门禁口: the card, the gate)
    *((re.compile(f"(?:{'|'.join(sorted(words, key=len, reverse=True))})(?![卡口])"), mark)
      for mark, (words, _) in GROUPS.items()),
]
# Repair-call lines the shared pools lack (the phrase queries): {place}{fault}, visit.
STOCK_CUSTOMER = ["我家\ue010\ue011了，你们能不能派人来看一下？", "\ue010\ue011好几天了，一直没人管。",
                  "喂，我是\ue000\ue001栋的，\ue010\ue011了，挺严重的。"]
STOCK_AGENT = ["好的，我这边马上安排维修师傅上门查看。", "维修师傅上门之前会先给您打电话，您留意一下。",
               "我给您登记了，今天下午维修师傅上门处理，您看可以吗？"]
BACKCHANNEL = {"agent": ["嗯", "好的", "嗯嗯", "是的", "对", "好", "明白", "您说"],
               "customer": ["嗯", "好", "对", "是的", "好的", "行", "嗯嗯", "对对对", "那好吧"]}
# where a turn comes from: a backchannel, else the true call's next line (then its lines
# again), a line of another true call, a line of the bank; how often two sentences are
# spliced; the share of repair calls with the stock lines
P_BACKCHANNEL, P_TOPIC, P_OTHER, P_MIX, P_STOCK = 0.25, 0.85, 0.07, 0.5, 0.15
_CLAUSE = re.compile(r"[^，。？！；,?!;…]+[，。？！；,?!;…]*")


def _template(text: str) -> str:
    for pat, mark in _TEMPLATES:
        text = pat.sub(mark, text)
    return text


def _clauses(text: str) -> tuple[str, ...]:
    return tuple(_CLAUSE.findall(_template(text))) or (_template(text),)


@dataclass
class Pools:
    """Sentence templates (tuples of clauses) by use."""

    opening: list[tuple[str, ...]] = field(default_factory=list)  # an agent's first line
    closing: dict[str, list] = field(default_factory=lambda: {"agent": [], "customer": []})
    by_type: dict[str, list[dict[str, list]]] = field(default_factory=dict)  # call type -> calls
    any_: dict[str, list] = field(default_factory=lambda: {"agent": [], "customer": []})
    bank: dict[str, list] = field(default_factory=lambda: {"agent": [], "customer": []})


def load_pools() -> Pools:
    p = Pools()
    for path in sorted(CALLS.glob("pub-*.truth.json")):
        d = json.loads(path.read_text("utf-8"))
        utts = [u for u in d["utterances"] if u.get("text")]
        mid: dict[str, list] = {"agent": [], "customer": []}
        for k, u in enumerate(utts):
            spk = u["speaker"] if u["speaker"] in mid else "customer"
            c = _clauses(u["text"])
            if k == 0 and spk == "agent":
                p.opening.append(c)
            elif k >= len(utts) - 2:
                p.closing[spk].append(c)
            elif len(u["text"]) > 3:
                mid[spk].append(c)
                p.any_[spk].append(c)
        p.by_type.setdefault(d["labels"]["call_type"], []).append(mid)
    for line in BANK.read_text("utf-8").splitlines():
        r = json.loads(line)
        copies = 1 if r["label"] == "fail" else 3  # rude / wrong lines are the rarer ones
        if r.get("context"):
            p.bank["customer"] += [_clauses(r["context"])] * 3
        p.bank["agent"] += [_clauses(r["text"])] * copies
    return p


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


class Composer:
    """About 30 utterances of one synthetic call, in the wording of the pools."""

    def __init__(self, pools: Pools, rng: random.Random):
        self.p, self.rng = pools, rng
        self.types = {t: v for t, v in pools.by_type.items() if v}

    def _values(self) -> dict[str, str]:
        rng = self.rng
        v = {mark: rng.choices(words, weights)[0] for mark, (words, weights) in GROUPS.items()}
        v[M_ESTATE] = rng.choices(ESTATES, ESTATE_W)[0]
        v[M_BUILDING] = _cn_number(rng.randint(1, 32))
        v[M_ROOM] = "".join(_CN[int(ch)] for ch in f"{rng.randint(1, 33)}0{rng.randint(1, 4)}")
        v[M_PHONE] = "幺" + "".join(_CN[int(ch)] for ch in f"3{rng.randrange(10 ** 9):09d}")
        v[M_SURNAME] = SURNAMES[min(int(rng.expovariate(1 / 12)), len(SURNAMES) - 1)]
        return v

    def _fill(self, text: str, v: dict[str, str]) -> str:
        rng = self.rng

        def one(m: re.Match) -> str:
            mark = m.group()
            if mark in GROUPS and rng.random() < 0.15:  # now and then another word of the group
                words, weights = GROUPS[mark]
                return rng.choices(words, weights)[0]
            return v[mark]
        return _MARK.sub(one, text)

    def _turn(self, spk: str, topic: dict[str, list], said: dict[str, list]) -> tuple[str, ...]:
        rng = self.rng
        r = rng.random()
        if r < P_TOPIC and (topic[spk] or said[spk]):
            if topic[spk]:  # the true call's lines in order, each once, long ones in two
                a = topic[spk].pop(0)
                if len(a) > 2 and rng.random() < 0.5:
                    k = rng.randint(1, len(a) - 1)
                    a, rest = a[:k], a[k:]
                    topic[spk].insert(0, rest)
                said[spk].append(a)
                return a
            pool = said[spk]  # then back to what was said in this call (read-backs, repeats)
        elif r < P_TOPIC + P_OTHER:
            pool = self.p.any_[spk]
        else:
            pool = self.p.bank[spk]
        a = rng.choice(pool)
        if len(a) > 1 and rng.random() < P_MIX:  # the start of one sentence, the end of another
            b = rng.choice(pool)
            a = a[:rng.randint(1, len(a) - 1)] + b[rng.randint(0, len(b) - 1):]
        return a[:4]

    def call(self, call_type: str | None) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """``(substituted values, [(speaker, text), ...])``."""
        rng = self.rng
        v = self._values()
        calls = self.types.get(call_type or "") or self.types[rng.choice(list(self.types))]
        topic = {k: list(x) for k, x in rng.choice(calls).items()}
        said: dict[str, list] = {"agent": [], "customer": []}
        n = max(8, min(60, int(rng.gauss(30, 8))))
        out = [("agent", "".join(rng.choice(self.p.opening)))]
        spk = "customer"
        stock = call_type == "repair" and rng.random() < P_STOCK
        for k in range(1, n - 2):
            if stock and k in (1, 2):
                text = rng.choice(STOCK_CUSTOMER if spk == "customer" else STOCK_AGENT)
            elif rng.random() < P_BACKCHANNEL:
                text = rng.choice(BACKCHANNEL[spk])
            else:
                text = "".join(self._turn(spk, topic, said))
            out.append((spk, text))
            if rng.random() < 0.8:
                spk = "agent" if spk == "customer" else "customer"
        out.append(("customer", "".join(rng.choice(self.p.closing["customer"]))))
        out.append(("agent", "".join(rng.choice(self.p.closing["agent"]))))
        return v, [(s, self._fill(t, v)) for s, t in out]


SHARE_TERMS = ["您好", "漏水", "物业费", "经理", "没办法", "投诉", "维修师傅上门", "卫生间漏水",
               "师傅"]


def add_utterances(db: Path, seed: int = 11) -> dict:
    """Give every call of the web benchmark's database (but the 10-minute call, which has
    its own) an estate and its utterances. Returns counts and the shares of calls with the
    query terms."""
    rng = random.Random(seed)
    comp = Composer(load_pools(), rng)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    calls = con.execute("SELECT id, call_type FROM calls WHERE id <> 'c-ten-minutes' "
                        "ORDER BY rowid").fetchall()
    rows: list[tuple] = []
    estates: list[tuple[str, str]] = []
    in_calls = dict.fromkeys(SHARE_TERMS, 0)
    in_utts = dict.fromkeys(SHARE_TERMS, 0)
    n_utt = chars = 0
    sql = ("INSERT INTO utterances (call_id, idx, speaker, start, \"end\", text, confidence, "
           "level_dbfs, words) VALUES (?,?,?,?,?,?,?,?,NULL)")
    for cid, ctype in calls:
        v, turns = comp.call(ctype)
        estates.append((v[M_ESTATE], cid))
        t = rng.uniform(0.3, 6.0)
        seen = set()
        for k, (spk, text) in enumerate(turns):
            length = len(text) / 4.5 + rng.uniform(0.1, 0.8)
            rows.append((cid, k, spk, round(t, 2), round(t + length, 2), text,
                         round(rng.uniform(0.6, 0.95), 3), round(-18 - rng.random() * 8, 1)))
            t += length + rng.uniform(0.2, 1.2)
            chars += len(text)
            for w in SHARE_TERMS:
                if w in text:
                    in_utts[w] += 1
                    seen.add(w)
        for w in seen:
            in_calls[w] += 1
        n_utt += len(turns)
        if len(rows) >= 200_000:
            con.executemany(sql, rows)
            con.commit()
            rows.clear()
    con.executemany(sql, rows)
    con.executemany("UPDATE calls SET estate = ? WHERE id = ?", estates)
    con.execute("UPDATE calls SET estate = ? WHERE id = 'c-ten-minutes'", (ESTATES[0],))
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    n = max(1, len(calls))
    return {"calls": len(calls), "utterances": n_utt, "chars": chars / max(1, n_utt),
            "share_calls": {w: c / n for w, c in in_calls.items()},
            "share_utts": {w: c / max(1, n_utt) for w, c in in_utts.items()}}


def add_agent_user(db: Path, agent_id: str) -> None:
    con = sqlite3.connect(db)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    con.execute("INSERT INTO users (username, password_hash, role, agent_id, active, "
                "created_at) VALUES ('bench-agent', 'x', 'agent', ?, 1, ?)", (agent_id, now))
    con.commit()
    con.close()


def sqlite_file_bytes(db: Path) -> int:
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db.stat().st_size


# --------------------------------------------------------------------------- PostgreSQL load

_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _converter(pg_type: str):
    if pg_type == "boolean":
        return lambda x: "\\N" if x is None else ("t" if x else "f")
    if pg_type.startswith("timestamp"):
        return lambda x: "\\N" if x is None else f"{x}+00"
    return lambda x: "\\N" if x is None else (x.translate(_ESC) if isinstance(x, str) else str(x))


def pg_create(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def pg_drop(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def _psycopg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_to_pg(db: Path, url: str) -> dict[str, int]:
    """Every filled table of the SQLite database into PostgreSQL with ``COPY`` (ids kept,
    foreign-key triggers off while loading: the rows are consistent by construction), then
    the sequences moved past the ids and ``VACUUM ANALYZE``."""
    import psycopg

    from models import Base
    src = sqlite3.connect(db)
    counts: dict[str, int] = {}
    with psycopg.connect(_psycopg_dsn(url)) as pg:
        cur = pg.cursor()
        cur.execute("SET session_replication_role = replica")
        for table in Base.metadata.sorted_tables:
            name = table.name
            n = src.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if not n:
                continue
            types = dict(cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s AND table_schema = current_schema()", (name,)).fetchall())
            cols = [r[1] for r in src.execute(f'PRAGMA table_info("{name}")') if r[1] in types]
            conv = [_converter(types[c]) for c in cols]
            qcols = ", ".join(f'"{c}"' for c in cols)
            rows = src.execute(f'SELECT {qcols} FROM "{name}"')
            with cur.copy(f'COPY "{name}" ({qcols}) FROM STDIN') as cp:
                while batch := rows.fetchmany(20_000):
                    cp.write("".join("\t".join([f(x) for f, x in zip(conv, r)]) + "\n"
                                     for r in batch))
            counts[name] = n
            if "id" in cols and types["id"] == "integer":
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM \"{name}\"))")
        pg.commit()
    src.close()
    with psycopg.connect(_psycopg_dsn(url), autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")
    return counts


def pg_database_bytes(engine) -> int:
    from sqlalchemy import text
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_database_size(current_database())")).scalar())


def pg_settings(engine) -> str:
    from sqlalchemy import text
    names = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
             "random_page_cost", "jit")
    with engine.connect() as c:
        rows = c.execute(text("SELECT name, current_setting(name) FROM pg_settings "
                              "WHERE name = ANY(:n) ORDER BY name"), {"n": list(names)}).all()
        ver = c.execute(text("SHOW server_version")).scalar()
    return f"PostgreSQL {ver}: " + ", ".join(f"{n}={v}" for n, v in rows)


# --------------------------------------------------------------------------- timing

def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Statements:
    """The statements an engine runs (and their times) while :attr:`on`."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.on, self.log, self._t = False, [], 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):  # noqa: ARG002
        self._t = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):  # noqa: ARG002
        if self.on:
            self.log.append((statement, params, (time.perf_counter() - self._t) * 1000))


@dataclass
class Q:
    name: str
    q: str
    sound: bool = False
    speaker: str | None = None
    filters: dict = field(default_factory=dict)
    as_agent: bool = False
    target: bool = True


def queries(agent: str, estate: str, today) -> list[Q]:
    month = {"date_from": today - timedelta(days=60), "date_to": today - timedelta(days=30)}
    return [
        Q("word 漏水", "漏水"),
        Q("word 物业费", "物业费"),
        Q("word 经理", "经理"),
        Q("word 没办法", "没办法"),
        Q("phrase 维修师傅上门", "维修师傅上门"),
        Q("phrase 卫生间漏水", "卫生间漏水"),
        Q("two words 师傅 上门", "师傅 上门"),
        Q("speaker=customer 投诉", "投诉", speaker="customer"),
        Q(f"漏水 + estate {estate}", "漏水", filters={"estate": estate}),
        Q("物业费 + date range (1 month)", "物业费", filters=month),
        Q("投诉 + call_type complaint", "投诉", filters={"call_type": "complaint"}),
        Q(f"维修 + agent {agent}", "维修", filters={"agent_id": agent}),
        Q("sound 漏水", "漏水", sound=True),
        Q("sound 物业费", "物业费", sound=True),
        Q("exclusion 漏水 -师傅", "漏水 -师傅"),
        Q("物业费, page 2", "物业费", filters={"page": 2}),
        Q(f"agent user ({agent}): 漏水", "漏水", as_agent=True),
        Q("common word 您好 (no target)", "您好", target=False),
        Q("common word 您好, agent user (no target)", "您好", as_agent=True, target=False),
    ]


@dataclass
class Timed:
    hits: int = 0
    calls: int = 0
    ms: list[float] = field(default_factory=list)
    slowest: tuple | None = None  # (statement, params, ms) of one run
    parts: list[float] = field(default_factory=list)


class Engine:
    """One database as the benchmark uses it: engine, users, settings, statement log."""

    def __init__(self, url: str, home: Path):
        from sqlalchemy import select
        from sqlalchemy.orm import sessionmaker

        from models import User, make_engine
        from qa.settings import Settings
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.statements = Statements(self.engine)
        self.session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.settings = Settings(home=home, database_url=url, secret_key="b" * 32)
        with self.session() as s:
            self.sup = s.scalar(select(User).where(User.role == "supervisor"))
            self.agent = s.scalar(select(User).where(User.role == "agent"))

    def search(self, q: Q, page_size: int = 50) -> dict:
        from api.services.calls import CallFilters
        from api.services.search import SearchRequest, search
        f = CallFilters(**{"page_size": page_size, **q.filters})
        req = SearchRequest(q=q.q, sound=q.sound, speaker=q.speaker, filters=f)
        with self.session() as s:
            return search(s, self.agent if q.as_agent else self.sup, req, self.settings)

    def time_query(self, q: Q, repeat: int) -> Timed:
        out = Timed()
        for _ in range(2):  # warm: statement cache, pages
            body = self.search(q)
        out.hits, out.calls = body["total"], body["calls"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            self.search(q)
            out.ms.append((time.perf_counter() - t0) * 1000)
        self.statements.log, self.statements.on = [], True
        try:
            self.search(q)
        finally:
            self.statements.on = False
        if self.statements.log:
            out.slowest = max(self.statements.log, key=lambda r: r[2])
            out.parts = [r[2] for r in self.statements.log]
        return out

    def time_list(self, repeat: int, agent: str) -> dict[str, tuple[float, float]]:
        from api.services.calls import CallFilters, list_calls
        today = datetime.now(timezone.utc).date()
        cases = {"call list, page 1": CallFilters(),
                 "call list, agent + 1 month": CallFilters(
                     agent_id=agent, date_from=today - timedelta(days=60),
                     date_to=today - timedelta(days=30))}
        res = {}
        for name, f in cases.items():
            xs = []
            for k in range(repeat + 1):
                t0 = time.perf_counter()
                with self.session() as s:
                    list_calls(s, self.sup, f, self.settings)
                if k:
                    xs.append((time.perf_counter() - t0) * 1000)
            res[name] = (statistics.median(xs), pct(xs, 0.95))
        return res

    def explain(self, statement: str, params) -> str:
        with self.engine.connect() as c:
            if self.dialect == "sqlite":
                rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                return "\n".join(f"    {r[-1]}" for r in rows)
            rows = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
            return "\n".join(f"    {r[0]}" for r in rows)

    def index_size(self) -> int | None:
        from models import search_index
        with self.engine.connect() as c:
            return search_index.size_bytes(c)


def reindex(e: Engine) -> object:
    from qa import transcript_index

    def progress(done: int) -> None:
        if done % 500_000 < 5000:
            print(f"  [{e.dialect}] indexed {done:,} utterances", file=sys.stderr, flush=True)
    return transcript_index.reindex(e.engine, progress=progress)


def load() -> str:
    """The machine's load (others' work on a shared machine inflates the times)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min, {os.cpu_count()} CPUs)"


def mb(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 1e6:,.0f} MB"


def run_engine(e: Engine, qs: list[Q], args, agent: str, base_bytes: int, report: dict,
               file_bytes=None) -> dict[str, Timed]:
    print(f"\n## {e.dialect} ({load()})", flush=True)
    before = e.time_list(args.repeat, agent)
    t0 = time.perf_counter()
    r = reindex(e)
    wall = time.perf_counter() - t0
    size = r.size_bytes if r.size_bytes is not None else e.index_size()
    line = (f"index build (qa.transcript_index.reindex): {r.utterances:,} utterances in "
            f"{r.seconds:.0f} s ({r.utterances / max(r.seconds, 1e-9):,.0f}/s)")
    print(line)
    print(f"index size: {mb(size)} (size_bytes); database without the index: {mb(base_bytes)}")
    if file_bytes is not None:
        grown = file_bytes() - base_bytes
        print(f"database file growth: {mb(grown)} (after a WAL checkpoint)")
    if e.dialect == "postgresql":
        from sqlalchemy import text
        t1 = time.perf_counter()
        with e.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE utterance_search"))
        print(f"VACUUM ANALYZE utterance_search (what autovacuum does soon after; not part "
              f"of the build): {time.perf_counter() - t1:.0f} s")
    after = e.time_list(args.repeat, agent)
    print(f"{'call list (list_calls)':<34} {'before index p50/p95':>22} "
          f"{'after index p50/p95':>22}")
    for name in before:
        b, a = before[name], after[name]
        print(f"{name:<34} {b[0]:>10.1f} /{b[1]:>7.1f} ms {a[0]:>10.1f} /{a[1]:>7.1f} ms")
    print(f"queries ({load()}):")
    res = {}
    for q in qs:
        res[q.name] = tm = e.time_query(q, args.repeat)
        print(f"  {q.name:<44} {tm.hits:>8} hits  p50 {statistics.median(tm.ms):7.1f}  "
              f"p95 {pct(tm.ms, 0.95):7.1f} ms", flush=True)
    report[e.dialect] = {"build_s": r.seconds, "size": size, "base": base_bytes, "wall": wall}
    return res


def print_table(qs: list[Q], results: dict[str, dict[str, Timed]]) -> list[str]:
    engines = list(results)
    head = f"{'query':<44} {'hits':>8}"
    for name in engines:
        head += f" | {name + ' p50':>11} {'p95':>7} {'':4}"
    print("\n" + head)
    print("-" * len(head))
    missed = []
    for q in qs:
        hits = {results[n][q.name].hits for n in engines}
        row = f"{q.name:<44} {'/'.join(str(h) for h in sorted(hits)):>8}"
        for n in engines:
            tm = results[n][q.name]
            p95 = pct(tm.ms, 0.95)
            verdict = ("PASS" if p95 <= TARGET_MS else "FAIL") if q.target else "-"
            if verdict == "FAIL":
                missed.append((n, q))
            row += f" | {statistics.median(tm.ms):>11.1f} {p95:>7.1f} {verdict:4}"
        print(row + ("" if len(hits) == 1 else "  HITS DIFFER"))
    print(f"target: p95 <= {TARGET_MS:.0f} ms per typical query on each database "
          f"(ms, {len(next(iter(results.values())))} queries)")
    return missed


# --------------------------------------------------------------------------- recall

def recall(cache: Path, verbose: bool) -> dict:
    """Sound-alike and exact recall of the vocabulary's terms on our own recognition of the
    shared calls, against the true transcripts."""
    import yaml
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    import findings as bf
    from api.services.calls import CallFilters
    from api.services.search import SearchRequest, search
    from classifiers.records import Classification
    from models import Call, User, Utterance, make_engine, upgrade
    from qa.engine import analyze
    from qa.results import store_report
    from qa.search import highlight, parse_query
    from qa.settings import Settings

    truth = bf.load_calls()
    asr = bf.asr_transcripts(truth, cache)
    vocab = yaml.safe_load(VOCABULARY.read_text("utf-8"))
    terms = list(dict.fromkeys([*vocab.get("terms", []), *vocab.get("estates", [])]))
    tmp = Path(tempfile.mkdtemp(prefix="hqa-bench-search-recall-"))
    try:
        url = f"sqlite:///{tmp / 'recall.db'}"
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(home=tmp, database_url=url, secret_key="b" * 32)
        mk = sessionmaker(bind=engine, expire_on_commit=False)
        with mk.begin() as s:
            sup = User(username="bench", password_hash="x", role="supervisor")
            s.add(sup)
            for d in truth:
                cid = d["call_id"]
                call = Call(id=cid, content_sha256=cid.ljust(64, "0"), source_path=cid,
                            filename=f"{cid}.stereo.mp3", media_type="audio")
                s.add(call)
                s.flush()
                lab = d["labels"]
                rep = analyze(asr[cid], tagger=False, classification=Classification(
                    call_type=lab["call_type"], call_type_confidence=1.0,
                    complaint_type=lab.get("complaint_type"),
                    complaint_confidence=1.0 if lab.get("complaint_type") else None))
                store_report(s, call, rep, {}, settings=settings)
        with mk() as s:
            stored = {(r.call_id, r.idx): r for r in s.scalars(select(Utterance))}
        by_call: dict[str, list] = {}
        for r in stored.values():
            by_call.setdefault(r.call_id, []).append(r)

        def hits(term: str, sound: bool) -> set[tuple[str, int]]:
            out, page = set(), 1
            while True:
                with mk() as s:
                    body = search(s, sup, SearchRequest(q=f'"{term}"', sound=sound, filters=(
                        CallFilters(page=page, page_size=200))), settings)
                out |= {(h["call_id"], h["idx"]) for h in body["items"]}
                if page * 200 >= body["total"]:
                    return out
                page += 1

        def near(utts, spk, a, b):
            return [u for u in utts if u.speaker == spk and u.start < b + SLACK
                    and u.end > a - SLACK]

        rows, misses = [], []
        tot = {"n": 0, "exact": 0, "sound": 0, "no_asr": 0, "sh": 0, "sh_ok": 0, "eh": 0,
               "eh_ok": 0}
        absent = []
        for term in terms:
            q = parse_query(f'"{term}"')
            true_with = [(d["call_id"], u) for d in truth for u in d["utterances"]
                         if highlight(u.get("text") or "", q).found]
            exact, sound = hits(term, False), hits(term, True)
            if not true_with and not sound:
                absent.append(term)
                continue
            n = fe = fs = no = 0
            for cid, u in true_with:
                ov = {(cid, r.idx) for r in near(by_call.get(cid, []), u["speaker"],
                                                 u["start"], u["end"])}
                n += 1
                no += not ov
                fe += bool(ov & exact)
                ok = bool(ov & sound)
                fs += ok
                if not ok:
                    said = " / ".join(stored[k].text for k in sorted(ov)) or "(nothing)"
                    misses.append((term, cid, u["text"], said))

            def correct(keys):
                good = 0
                for cid, i in keys:
                    r = stored[(cid, i)]
                    tt = [t for t in next(d for d in truth if d["call_id"] == cid)["utterances"]
                          if t["speaker"] == r.speaker and t["start"] < r.end + SLACK
                          and t["end"] > r.start - SLACK]
                    good += any(highlight(t.get("text") or "", q).found  # noqa: B023 - now
                                for t in tt)
                return good
            sh_ok, eh_ok = correct(sound), correct(exact)
            rows.append((term, n, fe, fs, len(exact), eh_ok, len(sound), sh_ok, no))
            for k, x in zip(("n", "exact", "sound", "sh", "sh_ok", "eh", "eh_ok", "no_asr"),
                            (n, fe, fs, len(sound), sh_ok, len(exact), eh_ok, no)):
                tot[k] += x
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n_asr = sum(len(t.utterances) for t in asr.values())
    print(f"\n## sound-alike recall: {len(truth)} shared calls, our stereo recognition "
          f"({n_asr} utterances), {len(terms)} vocabulary terms + estates")
    print(f"{'term':<12} {'true':>5} {'exact':>6} {'sound':>6} | {'exact hits':>10} "
          f"{'ok':>4} | {'sound hits':>10} {'ok':>4}")
    for term, n, fe, fs, eh, eh_ok, sh, sh_ok, _ in sorted(rows, key=lambda r: -r[1]):
        print(f"{term:<12} {n:>5} {fe:>6} {fs:>6} | {eh:>10} {eh_ok:>4} | {sh:>10} {sh_ok:>4}")
    if absent:
        print(f"not in these calls (true text nor sound hits): {' '.join(absent)}")
    n = max(1, tot["n"])
    print(f"true utterances with a term: {tot['n']} (no recognised utterance overlaps "
          f"{tot['no_asr']})")
    print(f"exact recall (baseline):     {tot['exact'] / n:.3f}  ({tot['exact']}/{tot['n']})")
    ok = tot["sound"] / n >= RECALL_TARGET
    print(f"sound-alike recall:          {tot['sound'] / n:.3f}  ({tot['sound']}/{tot['n']})  "
          f"target >= {RECALL_TARGET:.2f} {'PASS' if ok else 'FAIL'}")
    print(f"precision of exact hits:     {tot['eh_ok'] / max(1, tot['eh']):.3f}  "
          f"({tot['eh_ok']}/{tot['eh']})")
    print(f"precision of sound hits:     {tot['sh_ok'] / max(1, tot['sh']):.3f}  "
          f"({tot['sh_ok']}/{tot['sh']}; a false hit's overlapping true utterances lack "
          "the term)")
    if misses:
        print(f"sound-alike misses ({len(misses)}{'' if verbose else ', first 15'}): "
              "term | call | true | recognised")
        for term, cid, said, heard in misses[:None if verbose else 15]:
            print(f"  {term} | {cid} | {said} | {heard}")
    return tot


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    ap.add_argument("--skip-pg", action="store_true", help="SQLite only")
    ap.add_argument("--pg-url", default=DEFAULT_PG,
                    help="PostgreSQL database to create (dropped first if it exists)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the PostgreSQL database and the SQLite folder")
    ap.add_argument("--recall-only", action="store_true", help="only the sound-alike recall")
    ap.add_argument("--asr-cache", type=Path, default=Path("/tmp/asr"),
                    help="stereo transcripts of the shared calls (made if missing: minutes)")
    ap.add_argument("--explain", action="store_true",
                    help="show the plan of every query's slowest statement, not only misses")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every recall miss")
    args = ap.parse_args()
    import logging
    logging.basicConfig(level=logging.WARNING)

    if args.recall_only:
        tot = recall(args.asr_cache, args.verbose)
        return 0 if tot["sound"] / max(1, tot["n"]) >= RECALL_TARGET else 1

    import web

    tmp = Path(tempfile.mkdtemp(prefix="hqa-bench-search-"))
    db = tmp / "bench.db"
    engines: list[Engine] = []
    pg_made = False
    try:
        t0 = time.perf_counter()
        ids = web.build(db, args.calls)
        t_build = time.perf_counter() - t0
        agent = ids["agents"][3]
        add_agent_user(db, agent)
        t0 = time.perf_counter()
        stats = add_utterances(db)
        t_utt = time.perf_counter() - t0
        base = sqlite_file_bytes(db)
        con = sqlite3.connect(db)
        n_calls, n_utt, n_find = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                  for t in ("calls", "utterances", "findings"))
        con.close()
        print(f"# transcript search at {n_calls:,} calls, {n_utt:,} utterances "
              f"({stats['utterances'] / max(1, stats['calls']):.1f} per call, "
              f"{stats['chars']:.1f} characters each), {n_find:,} findings")
        print(f"data: calls and findings (bench/web.py build) {t_build:.0f} s, utterances "
              f"{t_utt:.0f} s; SQLite {sqlite3.sqlite_version}, file {mb(base)}")
        print("share of calls (utterances) saying: " + ", ".join(
            f"{w} {100 * stats['share_calls'][w]:.1f} % ({100 * stats['share_utts'][w]:.2f} %)"
            for w in SHARE_TERMS))
        today = datetime.now(timezone.utc).date()
        con = sqlite3.connect(db)
        estate = con.execute("SELECT estate FROM calls GROUP BY estate ORDER BY count(*) DESC "
                             "LIMIT 1 OFFSET 2").fetchone()[0]
        con.close()
        qs = queries(agent, estate, today)
        results: dict[str, dict[str, Timed]] = {}
        report: dict = {}

        lite = Engine(f"sqlite:///{db}", tmp)
        engines.append(lite)
        results["SQLite"] = run_engine(lite, qs, args, agent, base, report,
                                       file_bytes=lambda: sqlite_file_bytes(db))

        if not args.skip_pg:
            from models import upgrade
            t0 = time.perf_counter()
            pg_create(args.pg_url)
            pg_made = True
            upgrade(args.pg_url)
            counts = copy_to_pg(db, args.pg_url)
            t_copy = time.perf_counter() - t0
            pg = Engine(args.pg_url, tmp)
            engines.append(pg)
            print(f"\n{pg_settings(pg.engine)}")
            print(f"PostgreSQL load (migrate, COPY {sum(counts.values()):,} rows of "
                  f"{len(counts)} tables, VACUUM ANALYZE): {t_copy:.0f} s")
            results["PostgreSQL"] = run_engine(pg, qs, args, agent,
                                               pg_database_bytes(pg.engine), report)

        print(f"\n## summary ({load()})")
        for name, key in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
            if key in report:
                r = report[key]
                print(f"{name:<11} index {mb(r['size'])} (database without it {mb(r['base'])}),"
                      f" built in {r['build_s']:.0f} s")
        missed = print_table(qs, results)
        by_name = {"SQLite": lite, **({"PostgreSQL": engines[1]} if len(engines) > 1 else {})}
        show = [(n, q) for n in results for q in qs] if args.explain else missed
        for n, q in show:
            tm = results[n][q.name]
            if tm.slowest is None:
                continue
            stmt, params, ms = tm.slowest
            print(f"\n{n}: {q.name} — slowest of its {len(tm.parts)} statements {ms:.0f} ms "
                  f"(all: {', '.join(f'{x:.0f}' for x in tm.parts)} ms)")
            print("  " + " ".join(stmt.split())[:1500])
            print(f"  params: {params}")
            print(by_name[n].explain(stmt, params))
        recall(args.asr_cache, args.verbose)
    finally:
        for e in engines:
            e.engine.dispose()
        if pg_made and not args.keep:
            pg_drop(args.pg_url)
        if args.keep:
            print(f"\nkept: {db}" + ("" if args.skip_pg else f" and {args.pg_url}"))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
