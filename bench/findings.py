"""Benchmark of the findings a supervisor lives with: the deductions (fails), not the cells.

Prints, for pub-001…020, pub-021…040 (measure only) and the labelled utterance bank split by
writer (train on the corpus plus one writer, report on the other):

- pooled fail precision and recall, false fails, missed fails;
- red-line recall per (call, code), red-line false alarms on calls without one;
- calls with exactly the right set of fails, cell agreement;
- a per-rule table (true fails, false fails, missed fails);
- a reliability table of the fails' confidence (is a 0.8 right 8 times in 10?);
- the time the act layer adds per call.

Each line is printed with the dialogue-act model (``acts``) and without it (``phrases``,
the rule engine before the act layer) so the change is read in one run.

Usage::

    .venv/bin/python bench/findings.py                  # true transcripts, product classifier
    .venv/bin/python bench/findings.py --oracle         # call type from the labels
    .venv/bin/python bench/findings.py --asr --cache /tmp/asr   # our own stereo transcription
    .venv/bin/python bench/findings.py --bank-only      # only the writer split of the bank
    .venv/bin/python bench/findings.py -v               # list every wrong fail
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
SHARED = REPO.parent / "shared" / "data"
CALLS = SHARED / "calls"
BANK = SHARED / "utterances" / "utterances.jsonl"

from classifiers import acts as A  # noqa: E402
from classifiers.records import Classification  # noqa: E402
from qa.engine import analyze, build_rules  # noqa: E402
from qa.matching import Matcher  # noqa: E402
from qa.records import Transcript, Utterance  # noqa: E402
from qa.rules import CATALOGUE, RuleContext  # noqa: E402

RED = ("PO03", "PO04", "PO05", "PO06")
VIOLATIONS = ("PO03", "PO04", "PO05", "PO06", "CP02", "LI03")


def oracle(labels: dict) -> Classification:
    return Classification(call_type=labels["call_type"], call_type_confidence=1.0,
                          complaint_type=labels.get("complaint_type"),
                          complaint_confidence=1.0 if labels.get("complaint_type") else None)


# ------------------------------------------------------------------------------ scoring
def score(items: list[tuple[str, dict, dict]], verbose: bool = False) -> dict:
    """items: (id, expected {code: status}, got {code: (status, confidence)})."""
    tp = fp = fn = agree = cells = exact = 0
    red_tp = red_n = red_fa = 0
    per = {c: Counter() for c in CATALOGUE}
    conf_bins: Counter = Counter()
    conf_right: Counter = Counter()
    wrong = []
    for cid, want, got in items:
        want_f = {c for c, s in want.items() if s == "fail"}
        got_f = {c for c, (s, _) in got.items() if s == "fail" and c in want}
        exact += want_f == got_f
        has_red = bool(want_f & set(RED))
        for code, w in want.items():
            g, conf = got.get(code, ("n/a", 0.0))
            cells += 1
            agree += w == g
            if g == "fail":
                b = min(int(conf * 10), 9)
                conf_bins[b] += 1
                conf_right[b] += w == "fail"
            if w == "fail" and g == "fail":
                tp += 1
                per[code]["tp"] += 1
            elif g == "fail":
                fp += 1
                per[code]["fp"] += 1
                wrong.append(f"{cid} {code}: false fail (want {w}, conf {conf:.2f})")
            elif w == "fail":
                fn += 1
                per[code]["fn"] += 1
                wrong.append(f"{cid} {code}: missed fail (got {g})")
            if code in RED:
                if w == "fail":
                    red_n += 1
                    red_tp += g == "fail"
                elif g == "fail" and not has_red:
                    red_fa += 1
    if verbose:
        for w in wrong:
            print("     ", w)
    return {"n": len(items), "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn,
            "red_recall": red_tp / red_n if red_n else 1.0, "red_n": red_n,
            "red_fa": red_fa, "exact": exact, "agreement": agree / cells if cells else 1.0,
            "per": per, "bins": conf_bins, "right": conf_right}


def line(name: str, r: dict) -> None:
    print(f"  {name:<34} n {r['n']:>3}  fail P {r['precision']:.2f} R {r['recall']:.2f}  "
          f"false {r['fp']:>3} missed {r['fn']:>3}  red-line R {r['red_recall']:.2f} "
          f"(of {r['red_n']}) false alarms {r['red_fa']}  exact {r['exact']}/{r['n']}  "
          f"agreement {r['agreement']:.1%}")


def per_rule(r_old: dict, r_new: dict) -> None:
    print("    per rule (phrases → acts): true fails / false fails / missed fails")
    for code in CATALOGUE:
        a, b = r_old["per"][code], r_new["per"][code]
        if sum(a.values()) + sum(b.values()) == 0:
            continue
        print(f"      {code}  tp {a['tp']:>2}→{b['tp']:<2}  fp {a['fp']:>2}→{b['fp']:<2}  "
              f"fn {a['fn']:>2}→{b['fn']:<2}")


def reliability(r: dict) -> None:
    print("    reliability of the fails' confidence (acts): bin: right/all")
    cells = [f"{b / 10:.1f}-{(b + 1) / 10:.1f}: {r['right'][b]}/{r['bins'][b]}"
             for b in range(10) if r["bins"][b]]
    print("      " + "  ".join(cells))


# -------------------------------------------------------------------------------- calls
def load_calls() -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(CALLS.glob("pub-*.truth.json"))]


def asr_transcripts(calls: list[dict], cache: Path | None) -> dict[str, Transcript]:
    out, tr = {}, None
    for d in calls:
        cid = d["call_id"]
        cached = cache / f"{cid}.stereo.transcript.json" if cache else None
        if cached is not None and cached.is_file():
            out[cid] = Transcript.from_dict(json.loads(cached.read_text("utf-8")))
            continue
        if tr is None:
            from qa.pipeline import make_transcriber
            tr = make_transcriber()
        meta = json.loads((CALLS / f"{cid}.stereo.meta.json").read_text("utf-8"))
        out[cid] = tr.transcribe(CALLS / f"{cid}.stereo.mp3", metadata=meta, call_id=cid)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(out[cid].to_dict(), ensure_ascii=False), "utf-8")
    return out


def run_calls(calls, transcripts, tagger, use_oracle: bool):
    clf = None
    if not use_oracle:
        import classifiers
        clf = classifiers.load_default()
    res = []
    for d in calls:
        kw = {"classification": oracle(d["labels"])} if use_oracle else {"classifier": clf}
        rep = analyze(transcripts[d["call_id"]], tagger=tagger if tagger else False, **kw)
        res.append((d["call_id"], d["labels"]["rules"],
                    {f.code: (f.status, f.confidence) for f in rep.rules}))
    return res


# --------------------------------------------------------------------------------- bank
OPENING = "您好，物业服务中心，请问有什么可以帮您？"
DEFER = "好的，这个情况我需要核实一下。"  # SV03 applies to a call where the agent defers


def bank_transcript(row: dict) -> Transcript:
    """One bank line as a small call: the agent's opening, the caller's line, the agent's
    line (for SV03 after a deferral), and for the hold rule a wait of 12 s and the agent's
    return."""
    utts = [Utterance("agent", 0.5, 3.0, OPENING)]
    t = 3.5
    if row.get("context"):
        utts.append(Utterance("customer", t, t + 3.0, row["context"]))
        t += 3.5
    if row["code"] == "SV03":
        utts.append(Utterance("agent", t, t + 2.0, DEFER))
        t += 2.5
    utts.append(Utterance("agent", t, t + 4.0, row["text"]))
    return Transcript(utterances=utts, call_id=row["id"], metadata={})


HOLD_BEFORE = "不好意思，麻烦您稍等一下，我查一下。"
HOLD_AFTER = "让您久等了，查到了。"


def hold_transcripts(row: dict) -> list[Transcript]:
    """PO01 lines are either what the agent says before a hold or after it: the line before
    a 25 s wait (and a proper return), and the line after one (and a proper start)."""
    ctx = [Utterance("customer", 3.5, 6.5, row["context"])] if row.get("context") else []
    open_ = [Utterance("agent", 0.5, 3.0, OPENING)]
    before = open_ + ctx + [Utterance("agent", 7.0, 11.0, row["text"]),
                            Utterance("agent", 36.0, 38.0, HOLD_AFTER)]
    after = open_ + [Utterance("agent", 7.0, 9.0, HOLD_BEFORE)] + \
        [Utterance(u.speaker, 34.0, 35.5, u.text) for u in ctx] + \
        [Utterance("agent", 36.0, 40.0, row["text"])]
    return [Transcript(utterances=u, call_id=row["id"], metadata={}) for u in (before, after)]


BANK_TYPE = Classification(call_type="complaint", call_type_confidence=1.0,
                           complaint_type="vent", complaint_confidence=1.0)


def run_bank(rows: list[dict], tagger) -> list[tuple[str, dict, dict]]:
    """Each line through its own rule. Expected: a violation line fails, its hard negative
    does not; a requirement line is met (pass), its hard negative is not (fail: the agent did
    not do what the rule asks). A requirement rule that finds nothing to apply to counts as
    not met."""
    rules = {r.code: r for r in build_rules()}
    out = []
    for row in rows:
        code = row["code"]
        if code == "PO01":
            fs = [rules[code].run(RuleContext(t, BANK_TYPE, Matcher(), tagger or None))
                  for t in hold_transcripts(row)]
            f = next((x for x in fs if x.status == "pass"), fs[0])
        else:
            ctx = RuleContext(bank_transcript(row), BANK_TYPE, Matcher(), tagger or None)
            f = rules[code].run(ctx)
        status = f.status
        if code not in VIOLATIONS and status == "n/a":
            status = "fail"
        if code in VIOLATIONS:
            want = "fail" if row["label"] == "fail" else "pass"
        else:
            want = "pass" if row["label"] == "pass" else "fail"
        out.append((row["id"], {code: want}, {code: (status, f.confidence)}))
    return out


def bank_split(verbose: bool) -> None:
    rows = [json.loads(x) for x in BANK.read_text("utf-8").splitlines() if x.strip()]
    corpus = [e for e in A.load_corpus() if e.source != "bank.jsonl"]
    print(f"# utterance bank, writer apart ({len(rows)} lines; corpus {len(corpus)} lines "
          f"without the bank)")
    for train_w, test_w in (("wa", "wb"), ("wb", "wa")):
        train_rows = [A.parse_line(r, "bank") for r in rows if r["writer"] == train_w]
        test = [r for r in rows if r["writer"] == test_w]
        t0 = time.perf_counter()
        tagger = A.fit(corpus + train_rows, keep_examples=False)
        fit_s = time.perf_counter() - t0
        old = score(run_bank(test, None))
        new = score(run_bank(test, tagger), verbose)
        print(f"  train corpus+{train_w} ({fit_s:.0f} s), report on {test_w}:")
        line("phrases", old)
        line("acts", new)
        per_rule(old, new)
        reliability(new)
        # act-level: the act each line rests on, probability >= 0.5
        hit = Counter()
        for r in test:
            ex = A.parse_line(r, "bank")
            probs = tagger.probabilities([r["text"]], "agent")[0]
            for act, present in ex.labels.items():
                hit[(act, present, probs.get(act, 0) >= 0.5)] += 1
        acc = sum(v for (a, p, g), v in hit.items() if p == g) / max(1, sum(hit.values()))
        print(f"    act decisions right: {acc:.1%}")
        # learning from supervisors: verdicts on half of the held-out writer's lines (as the
        # review of their findings would give them), measured on the other half
        half_a = [r for i, r in enumerate(test) if i % 2 == 0]
        half_b = [r for i, r in enumerate(test) if i % 2 == 1]
        verdicts = [A.parse_line({"act": act, "present": present, "text": r["text"]}, "verdict")
                    for r in half_a for act, present in A.parse_line(r, "bank").labels.items()]
        tuned = A.fit(corpus + train_rows + verdicts, keep_examples=False)
        before, after = score(run_bank(half_b, tagger)), score(run_bank(half_b, tuned))
        print(f"    with {len(verdicts)} supervisor verdicts on the other half of {test_w}:")
        line("before verdicts", before)
        line("after verdicts", after)


# --------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle", action="store_true", help="call type from the labels")
    ap.add_argument("--asr", action="store_true", help="our own stereo transcription")
    ap.add_argument("--cache", type=Path, help="with --asr: keep/reuse transcripts here")
    ap.add_argument("--bank-only", action="store_true")
    ap.add_argument("--calls-only", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    tagger = A.load_default()
    if not args.bank_only:
        calls = load_calls()
        if args.asr:
            transcripts = asr_transcripts(calls, args.cache)
        else:
            transcripts = {d["call_id"]: Transcript.from_dict(d) for d in calls}
        src = "our stereo transcription" if args.asr else "true transcripts"
        print(f"# shared calls — {src}, call type from "
              f"{'the labels' if args.oracle else 'the product classifier'}")
        for name, lo, hi in (("pub-001..020", 1, 20), ("pub-021..040 (measure)", 21, 40)):
            part = [d for d in calls if lo <= int(d["call_id"][4:]) <= hi]
            old = score(run_calls(part, transcripts, None, args.oracle))
            new = score(run_calls(part, transcripts, tagger, args.oracle), args.verbose)
            print(f" {name}")
            line("phrases", old)
            line("acts", new)
            per_rule(old, new)
        # time the act layer adds: analysis with and without it, cold embedding cache
        ts = [transcripts[d["call_id"]] for d in calls]
        clf = Classification(call_type="complaint", call_type_confidence=1.0)
        t0 = time.perf_counter()
        for t in ts:
            analyze(t, classification=clf, tagger=False)
        plain = time.perf_counter() - t0
        tagger.embedder._cache.clear()
        t0 = time.perf_counter()
        for t in ts:
            analyze(t, classification=clf, tagger=tagger)
        with_acts = time.perf_counter() - t0
        n_utt = sum(len(t.utterances) for t in ts)
        print(f"# act layer time: {1000 * (with_acts - plain) / len(ts):.0f} ms per call "
              f"({len(ts)} calls, {n_utt / len(ts):.1f} utterances each; rules alone "
              f"{1000 * plain / len(ts):.0f} ms)")
    if not args.calls_only:
        bank_split(args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
