"""Alerts: time from a red-line call's commit to its arrival at the receiver, and what writing
the alert adds to storing a call.

A fresh SQLite database (migrated by Alembic) with one JSON-webhook channel pointing at a
local HTTP receiver (``http.server`` on 127.0.0.1, in this process, so both ends read the same
clock); the sender runs as the workers run it (:class:`qa.alert_sender.AlertSender`, settings
defaults: polls every ``alert_poll_s`` = 1 s). ``--calls`` times (default 50) a red-line call
(the truth transcript of pub-012, PO03) is analysed by :func:`qa.engine.analyze` and stored by
:func:`qa.results.store_report` (the workers' code) in one transaction; the time from that
commit to the request at the receiver is the latency (p50/p95). The overhead is the time spent
in :func:`qa.alerts.on_call_stored` (event + outbox rows) inside ``store_report``, against the
whole of storing the call, against analysing + storing a transcript, and against an audio
call's processing (speech recognition at the README's 7.9× real time on the 2-core machine).

Example::

    .venv/bin/python bench/alerts.py                # 50 alerts
    .venv/bin/python bench/alerts.py --calls 200 --poll 0.2
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ASR_REAL_TIME = 7.9  # README: beam 3, stereo call, 2-core machine


def _receiver(arrivals: dict[str, float]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.perf_counter()
            for e in body["events"]:
                arrivals.setdefault(e["call_id"], now)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--poll", type=float, default=None, help="alert_poll_s (default: settings)")
    args = ap.parse_args()

    from classifiers.records import Classification
    from models import Agent, AlertChannel, Call, make_engine, session_scope, upgrade
    import qa.alerts as qa_alerts
    import qa.results as results
    from qa.alert_sender import AlertSender
    from qa.engine import analyze
    from qa.records import Transcript
    from qa.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="hqa-bench-alerts-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    over = {"alert_check_s": 3600.0, "alert_rate_per_minute": 100000}
    if args.poll is not None:
        over["alert_poll_s"] = args.poll
    settings = Settings(home=tmp, secret_key="b" * 32, **over)
    arrivals: dict[str, float] = {}
    server = _receiver(arrivals)
    with session_scope(url) as s:
        s.add(Agent(id="A1002", name="王芳", team="一班"))
        s.add(AlertChannel(name="bench", kind="webhook", events=["red_line"],
                           target=f"http://127.0.0.1:{server.server_address[1]}/hook"))
    engine = make_engine(url)
    sender = AlertSender(engine, settings).start()

    truth = json.loads((REPO / "tests/data/truth/pub-012.truth.json").read_text("utf-8"))
    doc = {k: truth[k] for k in ("call_id", "duration", "metadata", "utterances") if k in truth}
    oracle = Classification(truth["labels"]["call_type"], 1.0, None, None)
    hook_s: list[float] = []
    real_hook = qa_alerts.on_call_stored

    def timed_hook(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_hook(*a, **kw)
        finally:
            hook_s.append(time.perf_counter() - t0)

    results.alerts.on_call_stored = timed_hook  # the same function, timed
    committed: dict[str, float] = {}
    analyse_s, store_s = [], []
    analyze(Transcript.from_dict(doc), classification=oracle)  # warm caches
    for i in range(args.calls):
        cid = f"bench-{i:04d}"
        t0 = time.perf_counter()
        report = analyze(Transcript.from_dict(doc), classification=oracle)
        t1 = time.perf_counter()
        with session_scope(engine) as s:
            call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                        source_path="/bench", filename=cid, meta=truth["metadata"])
            s.add(call)
            s.flush()
            results.store_report(s, call, report, {}, settings=settings)
        committed[cid] = t2 = time.perf_counter()
        analyse_s.append(t1 - t0)
        store_s.append(t2 - t1)
        time.sleep(0.05)
    deadline = time.monotonic() + 120
    while len(arrivals) < args.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    sender.stop()
    server.shutdown()
    lat = [arrivals[c] - committed[c] for c in committed if c in arrivals]
    hook, store, ana = statistics.median(hook_s), statistics.median(store_s), \
        statistics.median(analyse_s)
    audio = truth["duration"] / ASR_REAL_TIME
    print(f"alerts bench: {args.calls} red-line calls, SQLite, webhook receiver on 127.0.0.1, "
          f"sender polling every {settings.alert_poll_s:g} s")
    print(f"delivered: {len(lat)}/{args.calls} (each once: "
          f"{len(arrivals) == len(lat) == args.calls})")
    print(f"commit -> receiver latency: p50 {statistics.median(lat) * 1000:.0f} ms, "
          f"p95 {_pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
    print(f"per call (median): analyse {ana * 1000:.1f} ms, store_report + commit "
          f"{store * 1000:.1f} ms, of which alerts.on_call_stored {hook * 1000:.2f} ms")
    print(f"overhead of the alert: {hook / store * 100:.1f} % of storing the call, "
          f"{hook / (ana + store) * 100:.2f} % of processing a transcript call, "
          f"{hook / (audio + ana + store) * 100:.3f} % of an audio call "
          f"({truth['duration']:.0f} s recording, ASR at {ASR_REAL_TIME}x real time)")


if __name__ == "__main__":
    main()
