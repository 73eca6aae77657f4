#!/usr/bin/env python3
"""Mono speaker-separation benchmark: attribution, roles, rule agreement, real-speech splices, speed.

(a) Scripted calls ``../shared/data/calls/pub-*.mp3`` (the mono mixes, not ``*.stereo.mp3``),
    transcribed by the product's :class:`transcribe.engine.Transcriber` (which separates the
    parties) and compared with ``*.truth.json``:
    - attribution: share of true speech time (10 ms frames where exactly one party talks and a
      recognised word lies) given to the right party — target ≥ 95 %;
    - roles: the call's agent party is the true agent (attribution beats the swapped labels) —
      target 100 %;
    - rule agreement: ``qa.engine.analyze`` statuses vs the labels, mono transcript vs the
      stereo transcript of the same call (the true call type is given to both, so only the
      transcript differs) — target: mono within 3 points of stereo;
    - speed: separation seconds / the rest of the mono call's processing — target ≤ 30 %.
(b) Real speech: AISHELL-1 speakers S0150 (≈190 Hz) and S0252 (≈140 Hz) spliced into
    alternating turns at 8 kHz with line noise, as they are and with S0150 pitch-shifted to
    S0252's median; attribution from the acoustic separation alone (no words).

Usage:
    .venv/bin/python bench/mono.py                         # all 40 calls (≈1 h on 2 cores)
    .venv/bin/python bench/mono.py --calls 1-3 --cache /tmp/asr
    .venv/bin/python bench/mono.py --limit 5 --no-rules    # first 5 calls, no stereo ASR
    .venv/bin/python bench/mono.py --no-calls              # only the splice checks
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from transcribe.audio import decode  # noqa: E402
from transcribe.diarize import HOP_S, separate  # noqa: E402
from transcribe.measure import f0_track  # noqa: E402
from transcribe.records import Transcript, Word  # noqa: E402


def parse_calls(spec: str | None) -> list[str]:
    if not spec:
        return [f"pub-{i:03d}" for i in range(1, 41)]
    out = []
    for part in spec.split(","):
        if "-" in part and not part.startswith("pub"):
            a, b = part.split("-")
            out += [f"pub-{i:03d}" for i in range(int(a), int(b) + 1)]
        else:
            out.append(part if part.startswith("pub") else f"pub-{int(part):03d}")
    return out


def truth_frames(truth: dict, n: int) -> np.ndarray:
    lab = np.full(n, "", dtype=object)
    for u in truth["utterances"]:
        a, b = int(u["start"] / HOP_S), min(n, int(u["end"] / HOP_S))
        lab[a:b] = np.where(lab[a:b] == "", u["speaker"], "both")
    return lab


def attribution(tr: Transcript, truth: dict) -> tuple[float, float, float]:
    """(share right, share right with the parties swapped, coverage of true speech)."""
    n = int(max(truth["duration"], tr.duration or 0) / HOP_S) + 10
    true = truth_frames(truth, n)
    hyp = np.full(n, "", dtype=object)
    for u in tr.utterances:
        for w in u.words or [u]:
            hyp[int(w.start / HOP_S):int(w.end / HOP_S)] = u.speaker
    single = (true == "agent") | (true == "customer")
    m = single & (hyp != "")
    if not m.any():
        return 0.0, 0.0, 0.0
    swap = np.where(hyp == "agent", "customer", np.where(hyp == "customer", "agent", hyp))
    return (float(np.mean(hyp[m] == true[m])), float(np.mean(swap[m] == true[m])),
            float(m.sum() / max(1, single.sum())))


def rule_agreement(tr: Transcript, labels: dict) -> tuple[int, int]:
    from classifiers.records import Classification
    from qa.engine import analyze

    clf = Classification(call_type=labels["call_type"], call_type_confidence=1.0,
                         complaint_type=labels.get("complaint_type"),
                         complaint_confidence=1.0 if labels.get("complaint_type") else None)
    report = analyze(tr, classification=clf)
    got = {f.code: f.status for f in report.rules}
    want = labels["rules"]
    return sum(got.get(c) == s for c, s in want.items()), len(want)


def _recognised_to_dict(r) -> dict:
    return {"words": [w.to_dict() for w in r.words], "dropped": r.dropped,
            "speech_s": r.speech_s, "asr_s": r.asr_s, "regions": [list(x) for x in r.regions]}


def _recognised_from_dict(d: dict):
    from transcribe.engine import _Recognised

    return _Recognised(words=[Word.from_dict(w) for w in d["words"]], dropped=d["dropped"],
                       speech_s=d["speech_s"], asr_s=d["asr_s"],
                       regions=[tuple(x) for x in d["regions"]])


def transcribe_cached(transcriber, path: Path, meta: dict, cid: str, cache: Path | None,
                      kind: str) -> tuple[Transcript, bool]:
    """Transcribe ``path``. With a cache, a mono call's *recognition* (words, VAD regions, ASR
    seconds) is kept as ``<id>.mono.asr.json`` and the separation runs afresh each time (so
    changes to it are measured); a stereo call's whole transcript is kept."""
    if cache is None:
        return transcriber.transcribe(path, metadata=meta, call_id=cid), False
    cache.mkdir(parents=True, exist_ok=True)
    if kind == "mono":
        f = cache / f"{cid}.mono.asr.json"
        hit = f.is_file()
        stored = _recognised_from_dict(json.loads(f.read_text("utf-8"))) if hit else None
        seen = []

        def recognise(samples, _orig=transcriber._recognise):
            if stored is not None:
                return stored
            seen.append(_orig(samples))
            return seen[-1]

        transcriber._recognise = recognise
        try:
            tr = transcriber.transcribe(path, metadata=meta, call_id=cid)
        finally:
            del transcriber._recognise  # back to the class's method
        if seen:
            f.write_text(json.dumps(_recognised_to_dict(seen[0]), ensure_ascii=False), "utf-8")
        else:
            # total_s holds no ASR time: add the stored ASR seconds back for the speed figure
            t = tr.diagnostics.setdefault("timing", {})
            t["asr_s"] = round(stored.asr_s, 3)
            t["total_s"] = round(t.get("total_s", 0.0) + stored.asr_s, 3)
        return tr, False
    f = cache / f"{cid}.{kind}.transcript.json"
    if f.is_file():
        return Transcript.from_dict(json.loads(f.read_text("utf-8"))), True
    tr = transcriber.transcribe(path, metadata=meta, call_id=cid)
    f.write_text(json.dumps(tr.to_dict(), ensure_ascii=False), "utf-8")
    return tr, False


def run_calls(a) -> None:
    from qa.pipeline import make_transcriber

    transcriber = make_transcriber()
    calls = parse_calls(a.calls)[: a.limit or None]
    rows = []
    agree = {"mono": [0, 0], "stereo": [0, 0]}
    print(f"{'call':8} {'attrib':>7} {'cover':>6} {'role':>5} {'rconf':>6} {'review':>6} "
          f"{'sep%':>6} {'rules m/s':>10}")
    for cid in calls:
        truth = json.loads((SHARED / "calls" / f"{cid}.truth.json").read_text("utf-8"))
        meta_f = SHARED / "calls" / f"{cid}.meta.json"
        meta = json.loads(meta_f.read_text("utf-8")) if meta_f.is_file() else {}
        mono, cached = transcribe_cached(transcriber, SHARED / "calls" / f"{cid}.mp3", meta, cid,
                                         a.cache, "mono")
        right, swapped, cover = attribution(mono, truth)
        d = mono.diagnostics or {}
        sep = d.get("speaker_separation", {})
        t = d.get("timing", {})
        overhead = (t["separation_s"] / max(1e-6, t["total_s"] - t["separation_s"])
                    if "separation_s" in t and "total_s" in t and not cached else None)
        rule_txt = ""
        if not a.no_rules:
            m_ok, m_n = rule_agreement(mono, truth["labels"])
            stereo, _ = transcribe_cached(transcriber, SHARED / "calls" / f"{cid}.stereo.mp3",
                                          meta, cid, a.cache, "stereo")
            s_ok, s_n = rule_agreement(stereo, truth["labels"])
            agree["mono"][0] += m_ok
            agree["mono"][1] += m_n
            agree["stereo"][0] += s_ok
            agree["stereo"][1] += s_n
            rule_txt = f"{m_ok}/{s_ok}"
        rows.append({"call": cid, "attribution": right, "role_ok": right > swapped,
                     "coverage": cover, "role_confidence": sep.get("role_confidence"),
                     "needs_review": bool(d.get("needs_review")), "overhead": overhead,
                     "audio_s": mono.duration})
        print(f"{cid:8} {right:7.1%} {cover:6.1%} {'ok' if right > swapped else 'WRONG':>5} "
              f"{sep.get('role_confidence', 0):6.3f} {str(bool(d.get('needs_review'))):>6} "
              f"{'' if overhead is None else f'{overhead:.0%}':>6} {rule_txt:>10}", flush=True)
    if not rows:
        return
    w = np.array([r["audio_s"] for r in rows])
    att = np.array([r["attribution"] for r in rows])
    print(f"\nmono calls: {len(rows)}")
    print(f"attribution (speech-time weighted by call length): {np.sum(att * w) / w.sum():.1%}"
          f"  (min {att.min():.1%}; target ≥ 95 %)")
    print(f"role accuracy: {np.mean([r['role_ok'] for r in rows]):.1%} (target 100 %); "
          f"flagged for review: {sum(r['needs_review'] for r in rows)}")
    ov = [r["overhead"] for r in rows if r["overhead"] is not None]
    if ov:
        print(f"separation overhead: mean {np.mean(ov):.1%}, max {np.max(ov):.1%} of the rest "
              f"of a mono call's processing (target ≤ 30 %)")
    if not a.no_rules and agree["mono"][1]:
        m = agree["mono"][0] / agree["mono"][1]
        s = agree["stereo"][0] / agree["stereo"][1]
        print(f"rule agreement with labels: mono {m:.1%}, stereo {s:.1%}, "
              f"difference {100 * (s - m):+.1f} points (target within 3)")
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "agreement": agree}, indent=1), "utf-8")


# --- real-speech splices ------------------------------------------------------------------
def pitch_shift(x: np.ndarray, ratio: float, rate: int = 8000) -> np.ndarray:
    """Shift pitch by ``ratio`` keeping the duration: phase-vocoder time stretch by ``ratio``,
    then resampling by ``1/ratio`` (as librosa's ``pitch_shift``; formants move with it)."""
    from scipy.signal import istft, resample, stft

    nper, hop = 256, 64
    _, _, z = stft(x, rate, nperseg=nper, noverlap=nper - hop)
    steps = np.arange(0, z.shape[1] - 1, 1 / ratio)
    omega = 2 * np.pi * hop * np.arange(z.shape[0]) / nper
    phase = np.angle(z[:, 0])
    out = np.zeros((z.shape[0], len(steps)), complex)
    for k, s in enumerate(steps):
        i = int(s)
        frac = s - i
        mag = (1 - frac) * np.abs(z[:, i]) + frac * np.abs(z[:, i + 1])
        out[:, k] = mag * np.exp(1j * phase)
        dphi = np.angle(z[:, i + 1]) - np.angle(z[:, i]) - omega
        dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
        phase = phase + omega + dphi
    _, y = istft(out, rate, nperseg=nper, noverlap=nper - hop)
    return resample(y, len(x)).astype(np.float32)


def median_f0(x: np.ndarray) -> float:
    f = f0_track(x, 8000)
    return float(np.nanmedian(f))


def splice_check(n_turns: int, shift: bool, seed: int = 0) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    root = SHARED / "speech" / "aishell1"
    spk = {s: sorted(root.glob(f"BAC009{s}*.flac")) for s in ("S0150", "S0252")}
    clips = {s: [decode(p, sample_rate=8000).channels[0] for p in spk[s][:2 * n_turns]]
             for s in spk}
    meds = {s: np.median([median_f0(c) for c in clips[s][:6]]) for s in clips}
    if shift:
        r = meds["S0252"] / meds["S0150"]
        clips["S0150"] = [pitch_shift(c, r) for c in clips["S0150"]]
    parts, spans, t = [], [], 0.0
    idx = {"S0150": 0, "S0252": 0}
    for k in range(n_turns):
        s = ("S0150", "S0252")[k % 2]
        for j in range(int(rng.integers(1, 3))):  # a turn of 1-2 sentences
            if idx[s] >= len(clips[s]):
                break
            c = clips[s][idx[s]]
            idx[s] += 1
            c = c / (np.sqrt(np.mean(c ** 2)) + 1e-9) * 0.05 * 10 ** (rng.uniform(-3, 3) / 20)
            gap = rng.uniform(0.3, 1.0) if j == 0 else rng.uniform(0.1, 0.4)
            parts += [np.zeros(int(gap * 8000), np.float32), c.astype(np.float32)]
            t += gap
            spans.append((s, t, t + len(c) / 8000))
            t += len(c) / 8000
    x = np.concatenate(parts)
    x = (x + 10 ** (-55 / 20) * rng.standard_normal(len(x))).astype(np.float32)
    words = [Word(start=a, end=b, text="") for _, a, b in spans]
    t0 = time.perf_counter()
    sep = separate(x, 8000, words)
    dt = time.perf_counter() - t0
    votes = np.zeros((2, 2))
    for s, a, b in spans:
        f = sep.frame_party[int(a / HOP_S):int(b / HOP_S)]
        f = f[f >= 0]
        for p in (0, 1):
            votes[0 if s == "S0150" else 1, p] += np.sum(f == p)
    right = max(votes[0, 0] + votes[1, 1], votes[0, 1] + votes[1, 0]) / max(1, votes.sum())
    return float(right), len(x) / 8000, dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", help="call numbers or ids, e.g. 1-5,21 (default: all 40)")
    ap.add_argument("--limit", type=int, help="at most this many calls")
    ap.add_argument("--cache", type=Path, help="reuse/keep recognitions here: <id>.mono.asr.json "
                    "(words; the separation runs afresh and the speed figure uses the stored "
                    "ASR seconds) and <id>.stereo.transcript.json")
    ap.add_argument("--no-rules", action="store_true", help="skip rule agreement (stereo ASR)")
    ap.add_argument("--no-calls", action="store_true", help="only the splice checks")
    ap.add_argument("--no-splice", action="store_true")
    ap.add_argument("--turns", type=int, default=24, help="turns per splice")
    ap.add_argument("--json", type=Path, help="also write the per-call figures here")
    a = ap.parse_args()
    if not a.no_calls:
        run_calls(a)
    if not a.no_splice:
        print("\nreal-speech splices (AISHELL-1 S0150 + S0252, 8 kHz, acoustic separation only)")
        for shift in (False, True):
            right, dur, dt = splice_check(a.turns, shift)
            name = "S0150 shifted to S0252's median pitch" if shift else "as they are"
            print(f"  {name:40} attribution {right:.1%} over {dur:.0f} s ({dt:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
