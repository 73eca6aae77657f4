#!/usr/bin/env python3
"""Benchmark of the call-type and complaint-type classifier; prints its figures.

Evaluates the shipped model (classifiers/model/) on the scripted calls' true transcripts
(``tests/data/truth``, never trained on), with the voice measurements they carry, with
words only and with the customer's words only (as a call without an agent side); optionally (``--transcribe``) on our own transcription of the stereo recordings
in ``../shared/data/calls`` (voice on). Prints the cross-validated corpus scores from the
model's metadata beside them, and the classification time per call.

Usage:
  .venv/bin/python bench/classify.py [--transcribe [--only-complaints] [--limit N]]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TRUTH = REPO / "tests" / "data" / "truth"
SHARED_CALLS = REPO.parent / "shared" / "data" / "calls"


def evaluate(clf, transcripts, labels, title):
    from classifiers.model import metrics
    from classifiers.records import CALL_TYPES, COMPLAINT_TYPES

    t0 = time.perf_counter()
    pc, pt, voiced = clf.predict_proba(transcripts)
    dt = (time.perf_counter() - t0) / max(1, len(transcripts))
    ct_true = [lab["call_type"] for lab in labels]
    ct_pred = [CALL_TYPES[i] for i in pc.argmax(axis=1)]
    idx = [i for i, lab in enumerate(labels) if lab["call_type"] == "complaint"]
    cp_true = [labels[i]["complaint_type"] for i in idx]
    cp_pred = [COMPLAINT_TYPES[i] for i in pt[idx].argmax(axis=1)]
    mc, mp = metrics(ct_true, ct_pred), metrics(cp_true, cp_pred)
    conf = pt[idx].max(axis=1).mean() if idx else float("nan")
    print(f"{title}: {len(transcripts)} calls, voice used on {sum(voiced)}, {dt * 1000:.0f} ms/call")
    print(f"  call type      accuracy {mc['accuracy']:.3f}  macro-F1 {mc['macro_f1']:.3f}  (target acc >= 0.90)")
    print(f"  complaint type accuracy {mp['accuracy']:.3f}  macro-F1 {mp['macro_f1']:.3f}  "
          f"(n={mp['n']}, mean confidence {conf:.2f}; target F1 >= 0.85 text / 0.80 own ASR)")
    wrong = [(i, ct_true[i], ct_pred[i]) for i in range(len(ct_true)) if ct_true[i] != ct_pred[i]]
    if wrong:
        print("  call-type errors: " + ", ".join(f"#{i + 1} {t}->{p}" for i, t, p in wrong))
    werr = [(idx[j], cp_true[j], cp_pred[j]) for j in range(len(idx)) if cp_true[j] != cp_pred[j]]
    if werr:
        print("  complaint-type errors: " + ", ".join(f"#{i + 1} {t}->{p}" for i, t, p in werr))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transcribe", action="store_true", help="also run our ASR on the stereo MP3s")
    ap.add_argument("--limit", type=int, default=0, help="at most N recordings with --transcribe")
    ap.add_argument("--only-complaints", action="store_true",
                    help="with --transcribe: only the complaint calls (complaint-type F1; saves time)")
    args = ap.parse_args()
    from classifiers.model import load_default
    from transcribe.records import Transcript

    clf = load_default()
    print("cross-validated on the training corpus (metadata):")
    for k, v in clf.metadata.get("cv", {}).items():
        print(f"  {k}: {v:.3f}")
    docs = [json.loads(p.read_text("utf-8")) for p in sorted(TRUTH.glob("*.truth.json"))]
    labels = [d["labels"] for d in docs]
    evaluate(clf, [Transcript.from_dict(d) for d in docs], labels,
             "true transcripts, levels and times (voice on, no pitch)")
    text_only = [Transcript.from_dict(d) for d in docs]
    for t in text_only:
        for u in t.utterances:
            u.level_dbfs = None
    evaluate(clf, text_only, labels, "true transcripts, words only")
    customer_only = [Transcript.from_dict(d) for d in docs]
    for t in customer_only:
        t.utterances = [u for u in t.utterances if u.speaker != "agent"]
    evaluate(clf, customer_only, labels, "true transcripts, customer's words only (no agent side)")
    if args.transcribe:
        from qa.pipeline import make_transcriber

        tr = make_transcriber()
        paths = sorted(SHARED_CALLS.glob("*.stereo.mp3"))
        if args.only_complaints:
            paths = [p for p in paths if json.loads((SHARED_CALLS / f"{p.name.split('.')[0]}.truth.json")
                                                    .read_text("utf-8"))["labels"]["call_type"] == "complaint"]
        if args.limit:
            paths = paths[: args.limit]
        ts, labs = [], []
        t0 = time.perf_counter()
        for p in paths:
            meta_p = p.with_name(p.name[: -len(".mp3")] + ".meta.json")
            meta = json.loads(meta_p.read_text("utf-8")) if meta_p.exists() else None
            ts.append(tr.transcribe(p, metadata=meta))
            cid = p.name.split(".")[0]
            labs.append(json.loads((SHARED_CALLS / f"{cid}.truth.json").read_text("utf-8"))["labels"])
        print(f"(transcribed {len(paths)} recordings in {time.perf_counter() - t0:.0f} s)")
        evaluate(clf, ts, labs, "own transcription of stereo MP3 (voice on)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
