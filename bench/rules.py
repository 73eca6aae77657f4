"""Benchmark of the rule engine against the labelled scripted calls.

Prints, for pub-001…020 (tune) and pub-021…040 (measure) separately: the (call, rule)
agreement with ``labels.rules``, red-line recall and false alarms, each rule's fail recall and
their mean, and the speed (transcripts analysed per second, one core, rules only).

Usage::

    .venv/bin/python bench/rules.py                 # true transcripts, oracle call type
    .venv/bin/python bench/rules.py --classifier    # call type from classifiers.load_default()
    .venv/bin/python bench/rules.py --asr --cache /tmp/asr   # our own transcription (stereo MP3s)
    .venv/bin/python bench/rules.py --asr --calls 1-5,21-25  # a subset (ASR is slow on CPU)
    .venv/bin/python bench/rules.py -v              # also list every disagreement
    .venv/bin/python bench/rules.py --dry-run 10000 # the rule studio's dry run over 10 000
                                                    # stored calls (bench/rule_studio.py)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data" / "calls"
LOCAL = REPO / "tests" / "data" / "truth"

from classifiers.records import Classification  # noqa: E402
from qa.engine import analyze  # noqa: E402
from qa.records import Transcript  # noqa: E402
from qa.rules import CATALOGUE  # noqa: E402

RED = ("PO03", "PO04", "PO05", "PO06")


def oracle(labels: dict) -> Classification:
    return Classification(call_type=labels["call_type"], call_type_confidence=1.0,
                          complaint_type=labels.get("complaint_type"),
                          complaint_confidence=1.0 if labels.get("complaint_type") else None)


def evaluate(items: list[tuple[str, dict, dict]], verbose: bool) -> dict:
    """items: (call id, expected statuses, got statuses)."""
    agree = total = 0
    fail_tp, fail_n = Counter(), Counter()
    red_tp = red_n = red_fa = 0
    diffs = []
    for cid, want, got in items:
        for code in CATALOGUE:
            w, g = want.get(code), got.get(code)
            if w is None:
                continue
            total += 1
            agree += w == g
            if w != g:
                diffs.append(f"{cid} {code}: want {w}, got {g}")
            if w == "fail":
                fail_n[code] += 1
                fail_tp[code] += g == "fail"
            if code in RED:
                if w == "fail":
                    red_n += 1
                    red_tp += g == "fail"
                elif g == "fail":
                    red_fa += 1
    recalls = {c: fail_tp[c] / fail_n[c] for c in fail_n}
    if verbose:
        for d in diffs:
            print("   ", d)
    return {"calls": len(items), "agreement": agree / total if total else 0.0,
            "red_recall": red_tp / red_n if red_n else 1.0, "red_false_alarms": red_fa,
            "mean_fail_recall": sum(recalls.values()) / len(recalls) if recalls else 1.0,
            "recalls": recalls}


def table(name: str, r: dict) -> None:
    print(f"{name:<28} calls {r['calls']:>2}  agreement {r['agreement']:.1%}  "
          f"red-line recall {r['red_recall']:.2f}  red-line false alarms {r['red_false_alarms']}"
          f"  mean fail-recall {r['mean_fail_recall']:.2f}")
    low = {c: v for c, v in sorted(r["recalls"].items()) if v < 1}
    if low:
        print("    fail-recall < 1:", ", ".join(f"{c} {v:.2f}" for c, v in low.items()))


def load_truths() -> list[tuple[Path, dict]]:
    src = SHARED if SHARED.is_dir() else LOCAL
    return [(p, json.loads(p.read_text(encoding="utf-8")))
            for p in sorted(src.glob("pub-*.truth.json"))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classifier", action="store_true",
                    help="classify with classifiers.load_default() instead of the labels")
    ap.add_argument("--asr", action="store_true",
                    help="transcribe the stereo MP3s with our transcriber first")
    ap.add_argument("--cache", type=Path,
                    help="with --asr: keep/reuse transcripts in this folder")
    ap.add_argument("--calls", help="only these call numbers, e.g. 1-5,21-25 (ASR is slow)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--dry-run", type=int, metavar="N",
                    help="instead: time custom rules' dry runs over N stored calls "
                         "(bench/rule_studio.py; target <= 10 s for 10 000)")
    args = ap.parse_args()
    if args.dry_run:
        import runpy
        sys.argv = [str(REPO / "bench" / "rule_studio.py"), "-n", str(args.dry_run)]
        runpy.run_path(sys.argv[0], run_name="__main__")
        return 0
    truths = load_truths()
    if args.calls:
        wanted: set[int] = set()
        for part in args.calls.split(","):
            a, _, b = part.partition("-")
            wanted.update(range(int(a), int(b or a) + 1))
        truths = [(p, d) for p, d in truths if int(d["call_id"][4:]) in wanted]
    clf = None
    if args.classifier:
        import classifiers
        clf = classifiers.load_default()
    transcripts = {}
    if args.asr:
        tr = None
        for p, d in truths:
            cid = d["call_id"]
            cached = args.cache / f"{cid}.stereo.transcript.json" if args.cache else None
            if cached is not None and cached.is_file():
                transcripts[cid] = Transcript.from_dict(json.loads(cached.read_text("utf-8")))
                continue
            if tr is None:
                from qa.pipeline import make_transcriber
                tr = make_transcriber()
            audio = p.parent / f"{cid}.stereo.mp3"
            meta = json.loads((p.parent / f"{cid}.stereo.meta.json").read_text("utf-8"))
            t0 = time.perf_counter()
            transcripts[cid] = tr.transcribe(audio, metadata=meta, call_id=cid)
            print(f"  transcribed {cid} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(transcripts[cid].to_dict(), ensure_ascii=False),
                                  "utf-8")
    else:
        for _p, d in truths:
            transcripts[d["call_id"]] = Transcript.from_dict(d)
    results = []
    for _p, d in truths:
        cid = d["call_id"]
        kw = {"classifier": clf} if clf is not None else {"classification": oracle(d["labels"])}
        rep = analyze(transcripts[cid], **kw)
        results.append((cid, d["labels"]["rules"], {f.code: f.status for f in rep.rules}))
    source = "ASR (stereo)" if args.asr else "true transcripts"
    ctype = "classifier" if clf else "oracle call type"
    print(f"# rules vs labels — {source}, {ctype}, {len(results)} calls")
    tune = [r for r in results if int(r[0][4:]) <= 20]
    meas = [r for r in results if int(r[0][4:]) > 20]
    if args.verbose:
        print("  disagreements (tune):")
    table("pub-001..020 (tune)", evaluate(tune, args.verbose))
    if args.verbose:
        print("  disagreements (measure):")
    table("pub-021..040 (measure)", evaluate(meas, args.verbose))
    table("all", evaluate(results, False))

    # speed: rules only (oracle classification, transcripts already parsed). CPU time of
    # this process, so the figure is per core even on a busy machine.
    ts = [(transcripts[d["call_id"]], oracle(d["labels"])) for _, d in truths]
    from qa.matching import normalize, token_bounds
    from qa.numbers import address_parts, phone_numbers, surnames

    def rate(clear: bool) -> float:
        n, cpu = 0, 0.0
        while cpu < 3.0:
            if clear:
                for f in (normalize, token_bounds, address_parts, phone_numbers, surnames):
                    f.cache_clear()
            t0 = time.process_time()
            for t, c in ts:
                analyze(t, classification=c)
            cpu += time.process_time() - t0
            n += len(ts)
        return n / cpu

    cold, warm = rate(True), rate(False)
    print(f"speed: {cold:.0f} transcripts per CPU-second (cold text caches, as for new calls), "
          f"{warm:.0f} with warm caches; one thread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
