"""Reliability and throughput of ingestion + workers, with the real pipeline (ASR included).

Builds a recorder folder of N recordings re-encoded from the scripted calls (each copy
differently: format, bitrate, sample rate, gain — so every file's content differs), under
unicode and space-laden names in nested folders, with their sidecars; plus bad files (empty,
truncated, text named .wav, PNG named .mp3, random bytes), an exact duplicate, and a file still
being written while ingestion runs. Then:

1. embedded: ``hotline-qa ingest DIR`` (watching, SQLite) runs; one worker process is killed
   with SIGKILL mid-job; later the whole service (ingest + workers) is killed with SIGKILL
   mid-job; ``hotline-qa ingest DIR --once`` restarts it and finishes;
2. verification: every good recording processed exactly once, every bad one quarantined
   with a reason, the duplicate skipped, no orphan job, the database consistent;
3. throughput: calls per hour and the per-stage time split (embedded workers), then the same
   recordings through 2 Celery workers (Redis broker, PostgreSQL).

Two availability cases (issue 20) run besides (``--cases``):

* ``long``: very long recordings — a 3-hour silent mono WAV and a 30-minute silent stereo
  FLAC (generated in the working folder) — each through ``hotline-qa ingest --once`` with one
  worker process; prints the peak memory (``ru_maxrss`` of the service and its worker, from
  ``wait4``) and the peak per minute of audio; the 30-minute call must stay under 1.5 GB;
* ``bad-date``: a recording named as if made in year 1 (``00010101_000000_A1001_…``) dropped
  into the watched folder next to good ones: ingestion goes on (a good file dropped after it is
  processed too), the bad one is quarantined with its reason, ``/api/v1/health`` says the
  ingestion is running — and, once the service is stopped, that it stopped.

Usage::

    .venv/bin/python bench/reliability.py                 # 200 + 20 bad (takes hours on 2 cores)
    .venv/bin/python bench/reliability.py --small         # 3 + 5 bad, what the tests run
    .venv/bin/python bench/reliability.py --count 20 --bad 20 --celery-count 6
    .venv/bin/python bench/reliability.py --cases long,bad-date   # the availability cases (minutes)

Prints the counts, the checks and the figures; exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED_CALLS = REPO.parent / "shared" / "data" / "calls"
NAMES = ["来电 {i:03d}", "业主 投诉 {i}", "call {i} 录音", "维修 报修 #{i}", "咨询 电话 {i}",
         "噪音 问题 {i}", "物业 费 {i}"]
FOLDERS = ["", "2026年11月", "2026年11月/一 组", "夜班 night/第 2 组", "备份 old"]
FORMATS = [("mp3", "libmp3lame", [24_000, 32_000, 64_000, 96_000]),
           ("wav", "pcm_s16le", [None]), ("flac", "flac", [None]),
           ("m4a", "aac", [48_000, 64_000])]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def reencode(src: Path, dst: Path, rng: random.Random) -> None:
    """Write ``src`` as a new file: random container/codec, bitrate, sample rate and gain."""
    ext, codec, rates = FORMATS[rng.randrange(len(FORMATS))]
    dst = dst.with_suffix("." + ext)
    gain = 10 ** (rng.uniform(-6, 4) / 20)
    rate = rng.choice([8000, 16000]) if codec != "aac" else 16000
    with av.open(str(src)) as inp:
        st = inp.streams.audio[0]
        layout = "stereo" if st.channels >= 2 else "mono"
        chunks = []
        res = av.AudioResampler(format="flt", layout=layout, rate=rate)
        for frame in inp.decode(st):
            for f in res.resample(frame):
                chunks.append(f.to_ndarray().reshape(-1))
        for f in res.resample(None):
            chunks.append(f.to_ndarray().reshape(-1))
    pcm = np.clip(np.concatenate(chunks) * gain, -1, 1)
    nch = 2 if layout == "stereo" else 1
    s16 = (pcm * 32767).astype(np.int16).reshape(1, -1)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dst), "w") as out:
        ost = out.add_stream(codec, rate=rate, layout=layout)
        bitrate = rng.choice(rates)
        if bitrate:
            ost.bit_rate = bitrate
        enc_res = av.AudioResampler(format=ost.codec_context.format.name, layout=layout,
                                    rate=rate)
        step = 1024 * nch
        for i in range(0, s16.shape[1], step):
            frame = av.AudioFrame.from_ndarray(s16[:, i:i + step], format="s16", layout=layout)
            frame.sample_rate = rate
            for f in enc_res.resample(frame):
                for pkt in ost.encode(f):
                    out.mux(pkt)
        for pkt in ost.encode(None):
            out.mux(pkt)
    return dst


def build(inbox: Path, source: Path, count: int, bad: int, seed: int = 7) -> dict:
    """Create the folder; returns what is expected of every file."""
    rng = random.Random(seed)
    recordings = sorted(p for p in source.glob("*.mp3")) + sorted(source.glob("*.wav"))
    if not recordings:
        raise SystemExit(f"no recordings in {source}")
    good, bads = [], []
    for i in range(count):
        src = recordings[i % len(recordings)]
        folder = inbox / rng.choice(FOLDERS)
        name = rng.choice(NAMES).format(i=i) + f" ({src.name.split('.')[0]})"
        dst = reencode(src, folder / name, rng)
        meta = src.with_name(src.stem + ".meta.json")
        if meta.exists():
            shutil.copy(meta, dst.with_name(dst.stem + ".meta.json"))
        good.append(dst)
    sample = good[0].read_bytes()
    wav_sample = next((g for g in good if g.suffix == ".wav"), None)
    while wav_sample is None:
        cand = reencode(recordings[0], Path(tempfile.mkdtemp()) / "trunc", rng)
        wav_sample = cand if cand.suffix == ".wav" else None
    kinds = ["empty", "truncated", "text", "png", "random"]
    for j in range(bad):
        kind = kinds[j % len(kinds)]
        folder = inbox / rng.choice(FOLDERS) / "坏 文件"
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "empty":
            p = folder / f"空 录音 {j}.wav"
            p.write_bytes(b"")
        elif kind == "truncated":  # a WAV whose header promises more than is there
            p = folder / f"截断 {j}.wav"
            data = wav_sample.read_bytes()
            p.write_bytes(data[: len(data) * (3 + j % 4) // 10])
        elif kind == "text":
            p = folder / f"文本 {j}.wav"
            p.write_text(f"这不是录音 {j} " * 40, encoding="utf-8")
        elif kind == "png":
            p = folder / f"图片 {j}.mp3"
            p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(500 + j))
        else:
            p = folder / f"随机 {j}.mp3"
            p.write_bytes(os.urandom(4000 + 97 * j))
        bads.append(p)
    dup = inbox / "重复 copy" / ("副本 " + good[0].name)
    dup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(good[0], dup)
    growing_src = reencode(recordings[-1], Path(tempfile.mkdtemp()) / "growing", rng)
    return {"good": good, "bad": bads, "dup": dup, "growing_src": growing_src,
            "growing": inbox / "正在 写入" / ("写入中 " + growing_src.name), "sample": sample}


def write_slowly(src: Path, dst: Path, seconds: float) -> None:
    data = src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    n = 10
    with open(dst, "wb") as f:
        for i in range(n):
            f.write(data[i * len(data) // n:(i + 1) * len(data) // n])
            f.flush()
            time.sleep(seconds / n)


def db_rows(url: str, q: str) -> list:
    from sqlalchemy import text

    from models.db import make_engine
    eng = make_engine(url)
    with eng.connect() as c:
        rows = c.execute(text(q)).all()
    eng.dispose()
    return rows


def wait_for(pred, timeout: float, step: float = 0.5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def running_owner_pids(url: str) -> list[int]:
    rows = db_rows(url, "select lease_owner from jobs where state = 'running'")
    return [int(r[0].split(":")[1]) for r in rows if r[0]]


def verify(url: str, expect: dict, home: Path) -> list[str]:
    """The checks; returns the failures (empty: all good)."""
    problems = []
    calls = {r[0]: r for r in db_rows(url, "select content_sha256, id, status, store_path, "
                                           "source_path from calls")}
    goods = expect["good"] + [expect["growing"]]
    for p in goods:
        c = calls.get(sha(p))
        if c is None or c[2] != "done":
            problems.append(f"good file not processed: {p} ({c and c[2]})")
    done_attempts = db_rows(url, "select job_id, count(*) from job_attempts where outcome = "
                                 "'done' group by job_id having count(*) <> 1")
    if done_attempts:
        problems.append(f"jobs finished more than once: {done_attempts}")
    for p in expect["bad"]:
        h = sha(p)
        src = db_rows(url, f"select outcome, reason from source_files where path = '"
                           f"{str(p).replace(chr(39), chr(39) * 2)}'")
        c = calls.get(h)
        if c is not None:
            ok = c[2] == "quarantined" and Path(c[3] + ".reason.txt").exists()
        else:
            ok = bool(src) and src[0][0] == "quarantined"
        if not ok:
            problems.append(f"bad file not quarantined with a reason: {p}")
    reasons = list((home / "quarantine").glob("*.reason.txt"))
    if len(reasons) < len(expect["bad"]):
        problems.append(f"{len(reasons)} reason files for {len(expect['bad'])} bad files")
    dup = db_rows(url, "select outcome from source_files where path = '"
                       f"{str(expect['dup']).replace(chr(39), chr(39) * 2)}'")
    if not dup or dup[0][0] != "duplicate":
        problems.append(f"duplicate not recorded as duplicate: {dup}")
    orphans = db_rows(url, "select id, state from jobs where state in ('queued', 'running')")
    if orphans:
        problems.append(f"unfinished jobs: {orphans}")
    no_job = db_rows(url, "select c.id from calls c left join jobs j on j.call_id = c.id "
                          "where j.id is null")
    if no_job:
        problems.append(f"calls without a job: {no_job}")
    mismatch = db_rows(url, "select c.id from calls c join jobs j on j.call_id = c.id "
                            "where c.status <> j.state")
    if mismatch:
        problems.append(f"call status differs from job state: {mismatch}")
    scores = db_rows(url, "select c.id, count(s.id) from calls c left join scores s on "
                          "s.call_id = c.id and s.current where c.status = 'done' "
                          "group by c.id having count(s.id) <> 1")
    if scores:
        problems.append(f"done calls without exactly one current score: {scores}")
    nf = db_rows(url, "select c.id, count(f.id) from calls c left join findings f on "
                      "f.call_id = c.id where c.status = 'done' group by c.id")
    if any(n == 0 for _, n in nf):
        problems.append("done calls without findings")
    stored = {str(p) for p in (home / "store").rglob("*") if p.is_file()}
    referenced = {r[0] for r in db_rows(url, "select store_path from calls "
                                             "where status = 'done'")}
    if stored != referenced:
        problems.append(f"store not tidy: {len(stored - referenced)} unreferenced, "
                        f"{len(referenced - stored)} missing")
    return problems


def stage_split(url: str) -> dict[str, float]:
    rows = db_rows(url, "select timings from calls where status = 'done'")
    tot: dict[str, float] = {}
    for (t,) in rows:
        t = json.loads(t) if isinstance(t, str) else (t or {})
        for k in ("decode", "asr", "transcribe", "rules", "store", "analyze"):
            if isinstance(t.get(k), (int, float)):
                tot[k] = tot.get(k, 0.0) + t[k]
    n = max(1, len(rows))
    return {k: round(v / n, 2) for k, v in tot.items()}


def print_split(split: dict[str, float]) -> None:
    total = split.get("analyze", 0) + split.get("store", 0)
    parts = {"decode": split.get("decode", 0),
             "asr+measure": split.get("transcribe", 0) - split.get("decode", 0),
             "rules+classify+score": split.get("rules", 0), "store": split.get("store", 0)}
    for k, v in parts.items():
        share = 100 * v / total if total else 0
        print(f"    {k:<22} {v:7.2f} s/call  {share:5.1f} %")


def run(cmd: list[str], env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, start_new_session=True, **kw)


def embedded_phase(args, work: Path, expect: dict, env: dict) -> tuple[bool, float]:
    home = Path(env["HOTLINE_QA_HOME"])
    url = f"sqlite:///{home / 'hotline-qa.db'}"
    exe = [sys.executable, "-m", "qa.cli"]
    log = open(work / "ingest.log", "ab")
    t0 = time.monotonic()
    svc = run(exe + ["ingest", str(args.inbox), "-n", str(args.workers)], env,
              stdout=log, stderr=log)
    writer = threading.Thread(target=write_slowly,
                              args=(expect["growing_src"], expect["growing"], 4.0))
    time.sleep(1.0)
    writer.start()
    from models.db import upgrade
    wait_for(lambda: Path(home / "hotline-qa.db").exists(), 60)
    upgrade(url)
    # kill 1: one worker process, mid-job
    assert wait_for(lambda: running_owner_pids(url), 600), "no job started"
    time.sleep(2.0)
    pids = running_owner_pids(url)
    os.kill(pids[0], signal.SIGKILL)
    print(f"  SIGKILL 1: worker process {pids[0]} mid-job")
    # kill 2: the whole service, mid-job, after at least one more call is done
    n_done = lambda: db_rows(url, "select count(*) from calls where status = 'done'")[0][0]  # noqa: E731
    first = n_done()
    wait_for(lambda: n_done() > first and running_owner_pids(url), 900)
    time.sleep(1.0)
    victims = [svc.pid] + running_owner_pids(url)
    os.killpg(svc.pid, signal.SIGKILL)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    svc.wait()
    print(f"  SIGKILL 2: the whole service (ingest {svc.pid} and its workers) mid-job")
    writer.join()
    # restart and finish
    out = subprocess.run(exe + ["ingest", str(args.inbox), "--once", "--format", "json",
                                "-n", str(args.workers)], env=env, capture_output=True,
                         text=True, start_new_session=True)
    log.write(out.stderr.encode())
    wall = time.monotonic() - t0
    if out.returncode != 0:
        print(out.stderr[-3000:])
        return False, wall
    print(f"  restart --once summary: {out.stdout.strip()}")
    problems = verify(url, expect, home)
    rows = dict(db_rows(url, "select status, count(*) from calls group by status"))
    ingest_q = db_rows(url, "select count(*) from source_files where outcome = 'quarantined' "
                            "and call_id is null")[0][0]
    dups = db_rows(url, "select count(*) from source_files where outcome = 'duplicate'")[0][0]
    lost = db_rows(url, "select count(*) from job_attempts where outcome = 'lost'")[0][0]
    retried = db_rows(url, "select count(*) from job_attempts where outcome = 'retry'")[0][0]
    print(f"  counts: processed {rows.get('done', 0)} (expected {len(expect['good']) + 1}), "
          f"quarantined {rows.get('quarantined', 0) + ingest_q} (expected "
          f"{len(expect['bad'])}), duplicates {dups} (expected 1), failed "
          f"{rows.get('failed', 0)}, lost attempts resumed {lost}, transient retries {retried}")
    for p in problems:
        print(f"  CHECK FAILED: {p}")
    if not problems:
        print("  checks: every good recording processed exactly once, every bad one "
              "quarantined with a reason, duplicate skipped, no orphan job, database "
              "consistent, store tidy — OK")
    done = rows.get("done", 0)
    busy = db_rows(url, "select min(started_at), max(finished_at) from jobs "
                        "where state = 'done'")[0]
    print(f"  embedded ({args.workers} worker process(es)): {done} calls in {wall:.0f} s "
          f"wall (incl. kills/restart) = {3600 * done / wall:.0f} calls/hour")
    split = stage_split(url)
    print(f"  per-stage time per call (mean over {done}):")
    print_split(split)
    del busy
    return not problems, wall


def celery_phase(args, work: Path, expect: dict, env: dict) -> bool:
    import psycopg
    name = f"hqa_bench_{uuid.uuid4().hex[:8]}"
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        print(f"  celery phase skipped: PostgreSQL unavailable ({exc})")
        return True
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    inbox = work / "celery-in"
    for p in expect["good"][: args.celery_count]:
        dst = inbox / p.relative_to(args.inbox)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dst)
        side = p.with_name(p.stem + ".meta.json")
        if side.exists():
            shutil.copy(side, dst.with_name(dst.stem + ".meta.json"))
    queue = f"hqa-bench-{uuid.uuid4().hex[:6]}"
    cenv = {**env, "HOTLINE_QA_HOME": str(work / "celery-home"),
            "HOTLINE_QA_DATABASE_URL": url, "HOTLINE_QA_CELERY_QUEUE": queue,
            "HOTLINE_QA_CPU_THREADS": "1"}
    exe = [sys.executable, "-m", "qa.cli"]
    log = open(work / "celery.log", "ab")
    w = run(exe + ["worker", "--celery", "-n", "2"], cenv, stdout=log, stderr=log)
    try:
        t0 = time.monotonic()
        out = subprocess.run(exe + ["ingest", str(inbox), "--once", "--format", "json",
                                    "--executor", "celery"], env=cenv, capture_output=True,
                             text=True)
        wall = time.monotonic() - t0
    finally:
        os.killpg(w.pid, signal.SIGTERM)
        try:
            w.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)
    ok = out.returncode == 0
    if not ok:
        print(out.stderr[-3000:])
    summary = json.loads(out.stdout) if ok else {}
    done = summary.get("processed", 0)
    pids = {r[0].split(":")[1] for r in db_rows(url, "select worker from job_attempts")}
    print(f"  celery (2 worker processes, Redis broker, PostgreSQL): {summary} in {wall:.0f} s "
          f"= {3600 * done / wall:.0f} calls/hour; worker processes used: {len(pids)}")
    print(f"  per-stage time per call (mean over {done}):")
    print_split(stage_split(url))
    ok = ok and done == args.celery_count
    from models.db import dispose_engines
    dispose_engines()
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return ok


# --------------------------------------------------------------------------- availability cases

#: The 30-minute call's peak memory may not exceed this (issue 20), MB.
MAX_PEAK_30_MIN_MB = 1536


def silent_wav(path: Path, minutes: float, rate: int = 8000, channels: int = 1) -> Path:
    """A silent 16-bit PCM WAV, written a minute at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = np.zeros(rate * 60 * channels, np.int16).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(int(round(minutes))):
            w.writeframes(block)
    return path


def silent_flac(path: Path, minutes: float, rate: int = 8000, layout: str = "stereo") -> Path:
    """A silent FLAC (30 minutes of stereo: about 400 KB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nch = 2 if layout == "stereo" else 1
    step = 4096
    zeros = np.zeros((1, step * nch), np.int16)
    with av.open(str(path), "w") as out:
        st = out.add_stream("flac", rate=rate, layout=layout)
        for _ in range(0, int(minutes * 60 * rate), step):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout=layout)
            frame.sample_rate = rate
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    return path


def snippet(src: Path, dst: Path, start_s: float, seconds: float) -> Path:
    """``seconds`` of ``src`` from ``start_s`` as a 16-bit WAV at its own layout, 8 kHz."""
    from transcribe.audio import decode
    d = decode(src, sample_rate=8000)
    a = int(start_s * 8000)
    pcm = np.stack([c[a:a + int(seconds * 8000)] for c in d.channels], axis=1)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(dst), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    return dst


def ingest_once_measured(inbox: Path, env: dict, log) -> tuple[int, float, float]:
    """``hotline-qa ingest INBOX --once -n 1``: (exit code, peak RSS MB of the service and its
    worker — ``wait4`` gives the largest of the process and its reaped children —, wall s)."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(inbox), "--once",
                          "--format", "json", "-n", "1"], env=env, stdout=log, stderr=log,
                         start_new_session=True)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_maxrss / 1024, time.monotonic() - t0


def long_case(args, work: Path, env: dict) -> bool:
    """Very long recordings through the service, one at a time: peak memory per call."""
    ok = True
    files = [("mono WAV", args.long_wav_min,
              lambda d: silent_wav(d / "20261102_090000_A1001_13900000001.wav",
                                   args.long_wav_min)),
             ("stereo FLAC", args.long_flac_min,
              lambda d: silent_flac(d / "20261102_100000_A1001_13900000002.flac",
                                    args.long_flac_min))]
    for label, minutes, make in files:
        case = work / f"long-{label.split()[1].lower()}"
        inbox = case / "inbox"
        path = make(inbox)
        size = path.stat().st_size
        cenv = {**env, "HOTLINE_QA_HOME": str(case / "home")}
        with open(case / "ingest.log", "ab") as log:
            rc, peak, wall = ingest_once_measured(inbox, cenv, log)
        url = f"sqlite:///{case / 'home' / 'hotline-qa.db'}"
        rows = db_rows(url, "select status, duration, error from calls") if rc == 0 else []
        done = len(rows) == 1 and rows[0][0] == "done"
        dur = rows[0][1] if rows and rows[0][1] else minutes * 60
        print(f"  {minutes / 60:.1f} h silent {label} ({size / 1e6:.1f} MB): "
              f"{'processed' if done else 'NOT processed'} in {wall:.0f} s; "
              f"peak memory {peak:.0f} MB = {peak / (dur / 60):.1f} MB per minute of audio")
        if not done:
            ok = False
            print(f"  CHECK FAILED: the {label} was not processed: {rows or rc} "
                  f"(see {case / 'ingest.log'})")
        if minutes <= 30 and peak > MAX_PEAK_30_MIN_MB:
            ok = False
            print(f"  CHECK FAILED: {peak:.0f} MB > {MAX_PEAK_30_MIN_MB} MB for a "
                  f"{minutes:.0f}-minute call")
        shutil.rmtree(inbox, ignore_errors=True)
        shutil.rmtree(case / "home" / "store", ignore_errors=True)
    return ok


def health(home: Path, url: str, label: str) -> tuple[int, str | None]:
    """``GET /api/v1/health`` of the web app on this home (in-process, no server), printed
    under ``label``: its status code and the ingestion's state."""
    code, body = _health(home, url)
    ing = body.get("ingestion", {})
    print(f"  health {label}: {code} {body.get('status')}, ingestion {ing.get('state')}"
          f"{' — ' + ing['message'] if ing.get('message') else ''}")
    return code, ing.get("state")


def _health(home: Path, url: str) -> tuple[int, dict]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.settings import Settings
    app = create_app(Settings(home=home, database_url=url, secret_key="b" * 32), web=False)
    try:
        with TestClient(app) as c:
            r = c.get("/api/v1/health")
            return r.status_code, r.json()
    finally:
        app.state.engine.dispose()


def bad_date_case(args, work: Path, env: dict) -> bool:
    """A year-1 file name among good recordings in the watched folder."""
    case = work / "bad-date"
    inbox, home = case / "inbox", case / "home"
    url = f"sqlite:///{home / 'hotline-qa.db'}"
    sources = sorted(args.source.glob("*.wav")) + sorted(args.source.glob("*.mp3"))
    good = [snippet(sources[i % len(sources)],
                    inbox / f"20261102_09{i:02d}00_A1001_1390000000{i}.wav", 5.0 + i,
                    args.snippet_s) for i in range(2)]
    bad = snippet(sources[0], inbox / "00010101_000000_A1001_13800000000.wav", 30.0,
                  args.snippet_s)
    later = snippet(sources[-1], case / "later" / "20261102_093000_A1001_13900000009.wav", 12.0,
                    args.snippet_s)
    cenv = {**env, "HOTLINE_QA_HOME": str(home)}
    log = open(case / "ingest.log", "ab")
    t0 = time.monotonic()
    svc = run([sys.executable, "-m", "qa.cli", "ingest", str(inbox), "-n", "1"], cenv,
              stdout=log, stderr=log)
    problems: list[str] = []
    try:
        def state(p: Path):
            rows = db_rows(url, "select s.outcome, s.reason, c.status from source_files s "
                                "left join calls c on c.id = s.call_id where s.path = '"
                                + str(p).replace("'", "''") + "'")
            return rows[0] if rows else None

        def db_ready() -> bool:
            try:
                return bool(db_rows(url, "select 1 from source_files limit 1") is not None)
            except Exception:  # noqa: BLE001 - not migrated yet
                return False

        wait_for(db_ready, 120)
        quarantined = wait_for(lambda: (state(bad) or ("",))[0] == "quarantined", 300)
        row = state(bad)
        if not quarantined:
            problems.append(f"the year-1 file was not quarantined: {row}")
        reasons = list((home / "quarantine").glob("*" + bad.name + ".reason.txt"))
        reason = reasons[0].read_text(encoding="utf-8") if reasons else ""
        if not reason.startswith("bad_started_at"):
            problems.append(f"no bad_started_at reason file beside the quarantined copy: "
                            f"{reason[:80]!r}")
        if svc.poll() is not None:
            problems.append(f"the service stopped (exit code {svc.returncode})")
        # ingestion goes on: a good file dropped after the bad one is processed too
        shutil.move(str(later), str(inbox / later.name))
        goods = good + [inbox / later.name]
        finished = wait_for(lambda: all((state(p) or (None, None, None))[2] == "done"
                                        for p in goods), 900)
        if not finished:
            problems.append(f"good files not processed: {[state(p) for p in goods]}")
        code, state = health(home, url, "while running")
        if code != 200 or state != "running":
            problems.append(f"health does not report a running ingestion: {code} {state}")
    finally:
        os.killpg(svc.pid, signal.SIGTERM)
        try:
            svc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(svc.pid, signal.SIGKILL)
            svc.wait()
        log.close()
    code, state = health(home, url, "once stopped")
    if code != 503 or state != "stopped":
        problems.append(f"health does not report the stopped ingestion: {code} {state}")
    done = db_rows(url, "select count(*) from calls where status = 'done'")[0][0]
    print(f"  {done} good recordings processed, the year-1 file quarantined "
          f"({reason.splitlines()[0] if reason else '?'}: "
          f"{reason.splitlines()[1][:70] if reason.count(chr(10)) > 1 else ''}…) "
          f"in {time.monotonic() - t0:.0f} s")
    for p in problems:
        print(f"  CHECK FAILED: {p}")
    if not problems:
        print("  checks: ingestion went on past the year-1 file, which is quarantined with its "
              "reason; health reports the ingestion running, then stopped — OK")
    return not problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="3 recordings + 5 bad files")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--bad", type=int, default=20)
    ap.add_argument("--celery-count", type=int, default=None)
    ap.add_argument("--no-celery", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--source", type=Path, default=SHARED_CALLS,
                    help="folder of recordings (+ .meta.json) to re-encode")
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: temp)")
    ap.add_argument("--cases", default="folder,long,bad-date",
                    help="comma-separated: folder (the recorder folder with kills, then "
                         "Celery), long (peak memory of very long calls), bad-date (a year-1 "
                         "file name among good ones)")
    ap.add_argument("--long-wav-min", type=float, default=180.0,
                    help="minutes of the silent mono WAV of the long case")
    ap.add_argument("--long-flac-min", type=float, default=30.0,
                    help="minutes of the silent stereo FLAC of the long case")
    ap.add_argument("--snippet-s", type=float, default=15.0,
                    help="seconds of each recording of the bad-date case")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - {"folder", "long", "bad-date"}
    if unknown:
        ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    if args.small:
        args.count, args.bad = 3, 5
        args.celery_count = args.celery_count or 2
        args.long_wav_min = min(args.long_wav_min, 60.0)
    args.celery_count = args.celery_count or min(args.count, 20)
    work = args.work or Path(tempfile.mkdtemp(prefix="hqa-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    args.inbox = work / "录音 inbox"
    from transcribe.model import ensure_model
    model = ensure_model()  # the default home's model, shared by the runs below
    env = {**os.environ, "HOTLINE_QA_HOME": str(work / "home"), "HOTLINE_QA_MODEL": str(model),
           "HOTLINE_QA_STABLE_S": "1.0", "HOTLINE_QA_SIDECAR_WAIT_S": "2.0",
           "HOTLINE_QA_JOB_LEASE_S": "60", "HOTLINE_QA_RESCAN_S": "5",
           "HOTLINE_QA_CPU_THREADS": str(max(1, (os.cpu_count() or 2) // args.workers)),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("HOTLINE_QA_DATABASE_URL", None)
    ok = True
    if "folder" in cases:
        t = time.monotonic()
        expect = build(args.inbox, args.source, args.count, args.bad)
        print(f"built {len(expect['good'])} recordings + {len(expect['bad'])} bad files + 1 "
              f"duplicate + 1 growing file in {time.monotonic() - t:.0f} s under {args.inbox}")
        print("embedded workers, SQLite:")
        ok, _ = embedded_phase(args, work, expect, env)
        if not args.no_celery:
            print("scale-out:")
            ok = celery_phase(args, work, expect, env) and ok
    if "long" in cases:
        t = time.monotonic()
        print("very long recordings (one worker process each):")
        ok = long_case(args, work, {**env, "HOTLINE_QA_CPU_THREADS": str(os.cpu_count() or 2)}) \
            and ok
        print(f"  long case: {time.monotonic() - t:.0f} s")
    if "bad-date" in cases:
        t = time.monotonic()
        print("a year-1 file name in the watched folder:")
        ok = bad_date_case(args, work, env) and ok
        print(f"  bad-date case: {time.monotonic() - t:.0f} s")
    print("RESULT:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
