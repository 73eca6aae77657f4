"""Personal-data detection (qa/pii.py): recall and precision per kind and overall

* on the shared calls' true transcripts against ``bench/pii_gold_blind.yaml`` (every phone
  number, name and room said in them, annotated by hand from the transcripts, blind to the
  detector);
* on held-out lines by other writers, written blind to the detector:
  ``bench/pii_heldout.yaml`` (215 lines, second writer; measured blind at 0.771 / 0.984, then
  the detector was extended with what it missed) and ``bench/pii_heldout2.yaml`` (200 lines,
  third writer, written after that; measured blind at 0.912 / 0.994, then used in turn), so
  neither is blind any more: a new writer's set is;
* on our own recognition of the calls, where it is cached;

and what masking costs a call.

Matching on text: a found span counts when a gold entry of the same utterance has the same kind
and overlaps it (one to one); a found span matching no gold entry is a false positive. On
recognition (no character alignment with the truth), a call's gold values (normalised: digits,
``9栋2单元1002``, the surname) are compared with the values found in the recognised
transcript.

Cost: detection + masking of a whole transcript (text, words, metadata) at read/export time,
against the call's processing (recognition at the README's measured 7.9× real time on the
2-core machine, plus the rules stage measured here). Detection happens at read/export time
only, so storing a call costs nothing more.

    .venv/bin/python bench/pii.py                       # writes bench/results/pii.txt
    .venv/bin/python bench/pii.py --asr-cache /tmp/asr  # also our recognition, if cached
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CALLS = REPO.parent / "shared" / "data" / "calls"
GOLD = REPO / "bench" / "pii_gold_blind.yaml"
HELDOUT = [REPO / "bench" / "pii_heldout.yaml", REPO / "bench" / "pii_heldout2.yaml"]
RESULTS = REPO / "bench" / "results" / "pii.txt"
ASR_SPEED = 7.9  # × real time, stereo call, Whisper base on the 2-core machine (README)

from qa import pii  # noqa: E402


def _truth() -> dict[str, dict]:
    return {p.name.split(".")[0]: json.loads(p.read_text("utf-8"))
            for p in sorted(CALLS.glob("pub-*.truth.json"))}


def _score(tp: Counter, fp: Counter, fn: Counter) -> list[str]:
    rows = ["kind | gold | found | tp | recall | precision", "---|---|---|---|---|---"]
    total = Counter()
    for k in (*pii.KINDS, "all"):
        if k == "all":
            t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
        else:
            t, f, n = tp[k], fp[k], fn[k]
        if t + f + n == 0:
            rows.append(f"{k} | 0 | 0 | 0 | – | –")
            continue
        rec = t / (t + n) if t + n else 1.0
        prec = t / (t + f) if t + f else 1.0
        rows.append(f"{k} | {t + n} | {t + f} | {t} | {rec:.3f} | {prec:.3f}")
        total[k] = 1
    return rows


def _pair(want: list[tuple[str, float, float, Any]], found: list, tp: Counter, fp: Counter,
          fn: Counter) -> tuple[list[tuple[str, float, float, Any]], list]:
    """Pair gold mentions ``(kind, start, end, label)`` one to one with found spans (``kind``,
    ``start``, ``end``: characters or seconds) of the same kind that overlap them; counts
    them; returns the mentions missed and the spans left over (false positives)."""
    used: set[int] = set()
    missed = []
    for kind, a, b, label in want:
        hit = next((i for i, s in enumerate(found) if i not in used and s.kind == kind
                    and s.start < b and a < s.end), None)
        if hit is None:
            fn[kind] += 1
            missed.append((kind, a, b, label))
        else:
            used.add(hit)
            tp[kind] += 1
    extra = [s for i, s in enumerate(found) if i not in used]
    for s in extra:
        fp[s.kind] += 1
    return missed, extra


def _match(text: str, gold: list[tuple[str, str]], tag: str, tp: Counter, fp: Counter,
           fn: Counter, errors: list[str]) -> None:
    """Score ``pii.detect(text)`` against the gold ``(kind, text)`` mentions of ``text``."""
    want, seen = [], Counter()
    for kind, g in gold:
        a = -1
        for _ in range(seen[g] + 1):  # the n-th mention of the same text
            a = text.find(g, a + 1)
        seen[g] += 1
        if a < 0:
            raise SystemExit(f"{tag}: gold text {g!r} is not in {text!r}")
        want.append((kind, a, a + len(g), g))
    missed, extra = _pair(want, pii.detect(text), tp, fp, fn)
    errors += [f"{tag} missed {kind} {g!r} in {text!r}" for kind, _, _, g in missed]
    errors += [f"{tag} false positive {s.kind} {s.text!r} in {text!r}" for s in extra]


def on_truth(truth: dict[str, dict], gold: dict[str, list]) -> tuple[list[str], list[str]]:
    tp, fp, fn = Counter(), Counter(), Counter()
    errors: list[str] = []
    for cid, doc in truth.items():
        by_utt: dict[int, list[tuple[str, str]]] = {}
        for kind, text, idx in gold.get(cid) or []:
            by_utt.setdefault(idx, []).append((kind, text))
        for i, u in enumerate(doc["utterances"]):
            _match(u["text"], by_utt.get(i, []), f"{cid} u{i}", tp, fp, fn, errors)
    return _score(tp, fp, fn), errors


def on_lines(path: Path) -> tuple[int, list[str], list[str]]:
    rows = yaml.safe_load(path.read_text("utf-8")) or []
    tp, fp, fn = Counter(), Counter(), Counter()
    errors: list[str] = []
    for i, row in enumerate(rows):
        _match(row["text"], [(k, t) for k, t, *_ in row.get("pii") or []], f"line {i}",
               tp, fp, fn, errors)
    return len(rows), _score(tp, fp, fn), errors


def _values(kind_text: list[tuple[str, str]]) -> set[tuple[str, str]]:
    out = set()
    for k, t in kind_text:
        spans = [s for s in pii.detect(t) if s.kind == k]
        out.add((k, spans[0].value if spans else t))
    return out


def on_recognition(truth, gold, cache: Path) -> list[str]:
    """Two measures on the recognised calls. *Masked where said*: a gold mention counts as
    found when a span of its kind detected in the recognised transcript lies in time within
    the true utterance that holds the mention (± 1 s; the span's time from the words' times):
    what masking and beeping need. *Value recognised*: the call's distinct gold values against
    the values found (the recogniser must get every digit right)."""
    files = {cid: cache / f"{cid}.stereo.transcript.json" for cid in truth}
    have = {cid: p for cid, p in files.items() if p.is_file()}
    if not have:
        return [f"(skipped: no cached recognition in {cache}; run bench/findings.py or "
                f"bench/search.py with --asr-cache {cache} first)"]
    tp, fp, fn = Counter(), Counter(), Counter()
    vtp, vfp, vfn = Counter(), Counter(), Counter()
    errors: list[str] = []
    for cid, p in have.items():
        doc = json.loads(p.read_text("utf-8"))
        utts = truth[cid]["utterances"]
        recog = doc.get("utterances") or []
        found = [w for u, sp in zip(recog, pii.transcript_spans(recog))
                 for w in pii.utterance_spans(u, spans=sp)[1]]
        want = [(kind, utts[idx]["start"] - 1.0, utts[idx]["end"] + 1.0, (idx, text))
                for kind, text, idx in gold.get(cid) or []]
        missed, extra = _pair(want, found, tp, fp, fn)
        errors += [f"{cid} u{idx} not masked: {kind} {text!r}"
                   for kind, _, _, (idx, text) in missed]
        errors += [f"{cid} false positive at {w.start:.1f} s: {w.kind} {w.text!r}"
                   for w in extra]
        want = _values([(k, t) for k, t, *_ in gold.get(cid) or []])
        values = {(s.kind, s.value) for u in doc.get("utterances") or []
                  for s in pii.detect(u.get("text") or "")}
        for k, _ in want & values:
            vtp[k] += 1
        for k, _ in values - want:
            vfp[k] += 1
        for k, _ in want - values:
            vfn[k] += 1
    return ([f"{len(have)} calls; masked where said (mentions, by time)"] + _score(tp, fp, fn)
            + ["", "value recognised exactly (distinct values per call)"]
            + _score(vtp, vfp, vfn) + [""] + errors)


def cost(truth: dict[str, dict]) -> list[str]:
    from qa.engine import analyze
    from qa.records import Transcript
    detect_s, rules_s, audio_s = 0.0, 0.0, 0.0
    for doc in truth.values():
        t = {k: doc[k] for k in ("call_id", "duration", "metadata", "utterances") if k in doc}
        pii._detect.cache_clear()
        t0 = time.perf_counter()
        pii.mask_transcript(t)
        for u in t["utterances"]:
            pii.utterance_spans(u)
        detect_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        analyze(Transcript.from_dict(t))
        rules_s += time.perf_counter() - t0
        audio_s += float(doc.get("duration") or 0)
    n = len(truth)
    asr_s = audio_s / ASR_SPEED
    per = detect_s / n
    return [f"calls: {n}, audio {audio_s / 60:.1f} min",
            f"detection + masking (cold cache), per call: {per * 1000:.2f} ms",
            f"rules stage (qa.engine.analyze), per call: {rules_s / n * 1000:.1f} ms",
            f"recognition at {ASR_SPEED}× real time, per call: {asr_s / n:.1f} s",
            f"masking / processing (recognition + rules): {detect_s / (asr_s + rules_s):.4%}"
            f" (target < 5 %); against the rules stage alone: {detect_s / rules_s:.2%}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--asr-cache", type=Path, default=Path("/tmp/asr"))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    truth = _truth()
    gold = yaml.safe_load(GOLD.read_text("utf-8")) or {}
    buf = io.StringIO()
    with redirect_stdout(buf):
        print("# PII detection (qa/pii.py), bench/pii.py\n")
        print(f"## true transcripts: {len(truth)} shared calls, gold {GOLD.name} "
              f"({sum(len(v or []) for v in gold.values())} mentions)")
        rows, errors = on_truth(truth, gold)
        print("\n".join(rows))
        print("\n".join(errors) if errors else "(no misses, no false positives)")
        for path in HELDOUT:
            if path.is_file():
                n, rows, errors = on_lines(path)
                print(f"\n## held-out lines: {path.name} ({n} lines)")
                print("\n".join(rows))
                print("\n".join(errors) if errors else "(no misses, no false positives)")
        print("\n## our recognition (stereo, cached)")
        print("\n".join(on_recognition(truth, gold, args.asr_cache)))
        print("\n## cost (detection at read/export time)")
        print("\n".join(cost(truth)))
    text = buf.getvalue()
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
