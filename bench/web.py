"""Web UI response times at scale: the call list (with and without filters) and the call page.

Loads ``--calls`` (default 100 000) synthetic analysed calls into a fresh SQLite database
(migrated by Alembic, then bulk-inserted: 50 agents, twelve months, every call with its 28
findings — about 2.8 million finding rows — and review states, appeals on some fails),
gives 200 of them a transcript and adds one 10-minute call (≈ 240 utterances with word
times), then times the HTML pages in-process (the ASGI app through ``httpx``; no network)
signed in as a supervisor. Prints median and p95 per page in milliseconds and the targets
(list page < 300 ms, call page < 1 s).

Example::

    .venv/bin/python bench/web.py                 # 100 000 calls
    .venv/bin/python bench/web.py --calls 20000 --repeat 10
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RED = {"PO03", "PO04", "PO05", "PO06"}
CALL_TYPES = ["inquiry"] * 4 + ["repair"] * 3 + ["complaint"] * 2 + ["suggestion", "other"]
COMPLAINT_TYPES = ["resolve", "vent", "expectation"]
FAIL_P = 0.06  # share of (call, rule) pairs that fail; red lines 10x rarer


def _ts(dt: datetime) -> str:
    """The way SQLAlchemy stores a UTC datetime in SQLite."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _utterances(duration: float, rng: random.Random) -> list[dict]:
    out, t, i = [], 0.5, 0
    lines = ["您好，阳光物业服务中心，请问有什么可以帮您？", "我家卫生间漏水了，楼上一直往下滴。",
             "非常抱歉给您添麻烦了，请问您是哪个小区几栋几单元？", "三号楼二单元一零二，已经漏了两天了。",
             "好的，我帮您登记一下，今天下午安排维修师傅上门查看。", "嗯，好的，那麻烦你们快一点。"]
    while t < duration - 3:
        speaker = "agent" if i % 2 == 0 else "customer"
        text = lines[i % len(lines)]
        text = text[: rng.randint(6, len(text))]
        length = min(len(text) / 4.5 + rng.uniform(0, 0.8), duration - t - 0.5)
        words, wt = [], t
        for j in range(0, len(text), 2):
            words.append({"start": round(wt, 2), "end": round(wt + 0.45, 2),
                          "text": text[j:j + 2]})
            wt += length / max(1, len(text) / 2)
        out.append({"speaker": speaker, "start": round(t, 2), "end": round(t + length, 2),
                    "text": text, "words": words, "confidence": 0.9,
                    "level_dbfs": -20.0 - rng.random() * 5})
        t += length + rng.uniform(0.2, 0.8)
        i += 1
    return out


def build(db_path: Path, n_calls: int, seed: int = 7) -> dict:
    """Create and fill the database; returns ids to time."""
    from api.security import hash_password
    from models import upgrade
    from qa.rules import CATALOGUE

    url = f"sqlite:///{db_path}"
    upgrade(url)
    rng = random.Random(seed)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    now = datetime.now(timezone.utc)
    agents = [f"A{2000 + i}" for i in range(50)]
    con.executemany("INSERT INTO agents (id, name, team, active, created_at) VALUES (?,?,?,1,?)",
                    [(a, f"客服{a[-2:]}", f"{1 + i % 5}班", _ts(now))
                     for i, a in enumerate(agents)])
    con.execute("INSERT INTO users (username, password_hash, role, active, created_at) "
                "VALUES ('bench', ?, 'supervisor', 1, ?)", (hash_password("bench-pass-1"),
                                                            _ts(now)))
    start = now - timedelta(days=365)
    calls, findings = [], []
    transcript_ids = set(rng.sample(range(n_calls), min(200, n_calls)))
    sample_ids = []
    for i in range(n_calls):
        cid = f"c-{i:016x}"
        started = start + timedelta(seconds=rng.uniform(0, 365 * 86400))
        ctype = rng.choice(CALL_TYPES)
        ptype = rng.choice(COMPLAINT_TYPES) if ctype == "complaint" else None
        duration = rng.uniform(40, 400)
        score, red = 100.0, False
        pending = False
        for code in CATALOGUE:
            p = FAIL_P / 10 if code in RED else FAIL_P
            r = rng.random()
            if r < p:
                status = "fail"
                ded = 20 if code in RED else 5
                score -= ded
                red = red or code in RED
                review = rng.choice(["pending", "pending", "upheld", "overturned"])
                pending = pending or review == "pending"
                ev = json.dumps([{"speaker": "agent", "start": 10.0, "end": 12.0,
                                  "text": "等一下"}], ensure_ascii=False)
                findings.append((cid, code, status, round(rng.uniform(0.55, 0.99), 2), ded,
                                 0, int(code in RED), f"{code} 不合格", ev, review))
            else:
                status = "n/a" if r > 0.8 else "pass"
                findings.append((cid, code, status, 0.9, 0, 0, int(code in RED), None, "[]",
                                 "pending"))
        report = None
        if i in transcript_ids:
            sample_ids.append(cid)
            report = json.dumps({"call_id": cid, "score": score, "transcript": {
                "call_id": cid, "duration": duration, "metadata": {},
                "utterances": _utterances(duration, rng)}}, ensure_ascii=False)
        calls.append((cid, f"{i:064x}", f"/rec/{cid}.mp3", f"{cid}.mp3", f"/store/{cid}.mp3",
                      1000, "transcript", json.dumps({"agent_id": agents[i % 50]}),
                      agents[rng.randrange(50)], f"139{rng.randrange(10**8):08d}",
                      _ts(started), duration, "done", max(0.0, score), int(red), ctype, 0.9,
                      ptype, 0.8 if ptype else None, int(pending), None, None,
                      "open" if ctype == "complaint" else None, _ts(started + timedelta(hours=1)),
                      report, _ts(now), _ts(now), _ts(now), int(pending)))
        if len(findings) > 200_000:
            _flush(con, calls, findings)
    _flush(con, calls, findings)

    # the 10-minute call, with a full report
    long_id = "c-ten-minutes"
    utts = _utterances(600.0, rng)
    rules = [{"code": c, "status": "fail" if c in ("PO01", "SV03", "PO03") else "pass",
              "confidence": 0.9, "deduction": 5 if c in ("PO01", "SV03") else
              (20 if c == "PO03" else 0), "evidence": [
                  {"speaker": "agent", "start": utts[k]["start"], "end": utts[k]["end"],
                   "text": utts[k]["text"][:6]}] if c in ("PO01", "SV03", "PO03") else []}
             for k, c in enumerate(CATALOGUE)]
    report = {"call_id": long_id, "score": 70.0, "red_line": True, "rules": rules,
              "transcript": {"call_id": long_id, "duration": 600.0, "metadata": {},
                             "utterances": utts}}
    calls.append((long_id, "e" * 64, "/rec/long.mp3", "long.mp3", "/store/long.mp3", 1000,
                  "transcript", "{}", agents[0], None, _ts(now - timedelta(days=2)), 600.0,
                  "done", 70.0, 1, "complaint", 0.9, "vent", 0.8, 1, None, None, "open",
                  _ts(now - timedelta(days=1)), json.dumps(report, ensure_ascii=False),
                  _ts(now), _ts(now), _ts(now), 1))
    for r in rules:
        findings.append((long_id, r["code"], r["status"], 0.9, r["deduction"], 0,
                         int(r["code"] in RED), f"{r['code']} 不合格" if r["status"] == "fail"
                         else None, json.dumps(r["evidence"], ensure_ascii=False), "pending"))
    con.executemany("INSERT INTO utterances (call_id, idx, speaker, start, \"end\", text, "
                    "confidence, level_dbfs, words) VALUES (?,?,?,?,?,?,?,?,?)",
                    [(long_id, k, u["speaker"], u["start"], u["end"], u["text"], 0.9,
                      u["level_dbfs"], json.dumps(u["words"], ensure_ascii=False))
                     for k, u in enumerate(utts)])
    _flush(con, calls, findings)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return {"sample": sample_ids, "long": long_id, "agents": agents,
            "long_utterances": len(utts)}


def _flush(con, calls: list, findings: list) -> None:
    if calls:
        con.executemany(
            "INSERT INTO calls (id, content_sha256, source_path, filename, store_path, size_bytes,"
            " media_type, metadata, agent_id, caller_number, started_at, duration, status, score,"
            " red_line, call_type, call_type_confidence, complaint_type, complaint_confidence,"
            " needs_review, scenario, estate, follow_up_status, result_available_at, report,"
            " created_at, updated_at, processed_at, review_pending) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", calls)
    if findings:
        con.executemany(
            "INSERT INTO findings (call_id, code, status, confidence, deduction, needs_review,"
            " red_line, message, evidence, review_state) VALUES (?,?,?,?,?,?,?,?,?,?)",
            findings)
    con.commit()
    calls.clear()
    findings.clear()


def timed(client, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm (template compile, SQLite page cache)
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}: {r.text[:300]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    ap.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: time the database already in DIR (after `db upgrade`)")
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.settings import Settings

    tmp = Path(args.keep or tempfile.mkdtemp(prefix="hqa-bench-web-"))
    tmp.mkdir(parents=True, exist_ok=True)
    db = tmp / "bench.db"
    t0 = time.perf_counter()
    if args.reuse and db.exists():
        from models import upgrade
        upgrade(f"sqlite:///{db}")  # new migrations (indexes) apply to the kept database
        con = sqlite3.connect(db)
        ids = {"sample": [r[0] for r in con.execute(
                   "SELECT id FROM calls WHERE report IS NOT NULL AND id != 'c-ten-minutes'")],
               "long": "c-ten-minutes",
               "agents": [r[0] for r in con.execute("SELECT id FROM agents ORDER BY id")],
               "long_utterances": con.execute("SELECT count(*) FROM utterances WHERE "
                                              "call_id = 'c-ten-minutes'").fetchone()[0]}
        con.close()
    else:
        if db.exists():
            db.unlink()
        ids = build(db, args.calls)
    load_s = time.perf_counter() - t0
    con = sqlite3.connect(db)
    n_calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    n_findings = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    con.close()
    print(f"database: {n_calls} calls, {n_findings} findings, loaded in {load_s:.1f} s "
          f"({db.stat().st_size / 1e6:.0f} MB)")

    settings = Settings(home=tmp, database_url=f"sqlite:///{db}", secret_key="b" * 32)
    app = create_app(settings)
    rng = random.Random(1)
    agent = ids["agents"][3]
    today = datetime.now(timezone.utc).date()
    pages = {
        "list, no filter, page 1": "/calls",
        "list, page 50": "/calls?page=50",
        "list, page 1000 (deep)": "/calls?page=1000",
        "list, agent": f"/calls?agent_id={agent}",
        "list, date range (1 month)": f"/calls?date_from={today - timedelta(days=60)}"
                                      f"&date_to={today - timedelta(days=30)}",
        "list, score 0-70": "/calls?score_min=0&score_max=70",
        "list, rule failed PO01": "/calls?rule_failed=PO01",
        "list, red-line rule PO05": "/calls?rule_failed=PO05",
        "list, complaint / vent": "/calls?call_type=complaint&complaint_type=vent",
        "list, review pending": "/calls?review_state=pending",
        "list, agent+rule+pending": f"/calls?agent_id={agent}&rule_failed=SV03"
                                    "&review_state=pending",
    }
    with TestClient(app) as client:
        r = client.post("/login", data={"username": "bench", "password": "bench-pass-1"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        results = {name: timed(client, url, args.repeat) for name, url in pages.items()}
        sample = rng.sample(ids["sample"], min(args.repeat, len(ids["sample"])))
        call_times = []
        for cid in sample:
            call_times += timed(client, f"/calls/{cid}", 1)
        results["call page (1-7 min calls)"] = call_times
        results[f"call page, 10-minute call ({ids['long_utterances']} utterances)"] = timed(
            client, f"/calls/{ids['long']}", args.repeat)
    app.state.engine.dispose()

    print(f"\n{'page':<52} {'median ms':>10} {'p95 ms':>8}  target")
    for name, xs in results.items():
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
        target = 1000 if name.startswith("call page") else 300
        ok = "ok" if p95 < target else "MISSED"
        print(f"{name:<52} {statistics.median(xs):>10.1f} {p95:>8.1f}  < {target} {ok}")
    if not args.keep:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
