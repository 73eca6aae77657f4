#!/usr/bin/env python3
"""ASR benchmark: character error rate, utterance boundaries, speed and peak memory.

Measures the product's :class:`transcribe.engine.Transcriber` (default model and settings) on
  (a) the AISHELL-1 subset of ``../shared/data/speech/aishell1``: clean (16 kHz FLAC) and
      telephone-simulated (8 kHz μ-law WAV, made here in a temporary directory);
  (b) the scripted calls ``../shared/data/calls``: agent and customer channels of every
      ``*.stereo.mp3`` (and of ``*.stereo.wav`` for pub-001…010) against ``*.truth.json``,
      split into pub-001…020 (tuning set) and pub-021…040 (held out: only measure).

CER: edits / reference characters over a whole set, after ``normalize_for_cer`` (simplified,
no punctuation or spaces, each digit one Chinese digit: 1002→一零零二, 幺→一).
Boundaries: share of true utterances whose most-overlapping recognised utterance of the same
speaker starts and ends within 0.5 s of it. Speed: audio seconds / ASR wall seconds (both
channels, model loaded). Peak memory: the process's maximum resident set size.

Usage:
    .venv/bin/python bench/asr.py                     # everything (≈15 min on 2 cores)
    .venv/bin/python bench/asr.py --calls pub-001,pub-002 --aishell 20
    .venv/bin/python bench/asr.py --no-calls --aishell 200
    .venv/bin/python bench/asr.py --no-correction     # without sound-alike correction
    .venv/bin/python bench/asr.py --save-dir /work/asr-cache/stereo   # keep the transcripts
"""
from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from rapidfuzz.distance import Levenshtein  # noqa: E402

from transcribe.normalize import normalize_for_cer  # noqa: E402


@dataclass
class Tally:
    edits: int = 0
    ref: int = 0
    audio_s: float = 0.0
    asr_s: float = 0.0
    hits: int = 0
    true_utts: int = 0
    errors: list = field(default_factory=list)

    def add(self, ref: str, hyp: str) -> None:
        r, h = normalize_for_cer(ref), normalize_for_cer(hyp)
        self.edits += Levenshtein.distance(r, h)
        self.ref += len(r)

    @property
    def cer(self) -> float:
        return 100.0 * self.edits / self.ref if self.ref else float("nan")


def boundary_hits(truth: list[dict], hyp: list, tol: float = 0.5) -> tuple[int, int]:
    hits = 0
    for t in truth:
        best, best_ov = None, 0.0
        for u in hyp:
            if u.speaker != t["speaker"]:
                continue
            ov = min(u.end, t["end"]) - max(u.start, t["start"])
            if ov > best_ov:
                best, best_ov = u, ov
        if best is not None and abs(best.start - t["start"]) <= tol and \
                abs(best.end - t["end"]) <= tol:
            hits += 1
    return hits, len(truth)


def to_mulaw_8k(src: Path, dst: Path) -> None:
    """Telephone simulation: resample to 8 kHz mono and encode G.711 μ-law in WAV."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="wav") as out:
        st = out.add_stream("pcm_mulaw", rate=8000, layout="mono")
        rs = av.AudioResampler(format="s16", layout="mono", rate=8000)
        for frame in inp.decode(audio=0):
            for f in rs.resample(frame):
                for p in st.encode(f):
                    out.mux(p)
        for f in rs.resample(None):
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)


def bench_aishell(tr, n: int, telephone: bool) -> Tally:
    tally = Tally()
    rows = [line.split("\t") for line in
            (SHARED / "speech/aishell1/transcripts.tsv").read_text("utf-8").splitlines()[1:]
            if line.strip()][:n]
    with tempfile.TemporaryDirectory() as tmp:
        for _id, fname, _dur, text in rows:
            path = SHARED / "speech/aishell1" / fname
            if telephone:
                p8 = Path(tmp) / (Path(fname).stem + ".wav")
                to_mulaw_8k(path, p8)
                path = p8
            t = tr.transcribe(path)
            tally.add(text, "".join(u.text for u in t.utterances))
            tally.audio_s += t.duration or 0
            tally.asr_s += t.diagnostics["timing"]["asr_total_s"]
    return tally


def bench_call(tr, audio: Path, truth: dict, tallies: dict[str, Tally],
               save_dir: Path | None = None) -> None:
    meta_path = audio.with_name(audio.stem + ".meta.json")
    meta = json.loads(meta_path.read_text("utf-8")) if meta_path.exists() else None
    cid = audio.name.split(".")[0]
    t = tr.transcribe(audio, metadata=meta, call_id=cid)
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        (save_dir / f"{cid}.json").write_text(
            json.dumps(t.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    for who in ("agent", "customer"):
        ref = "".join(u["text"] for u in truth["utterances"] if u["speaker"] == who)
        hyp = "".join(u.text for u in t.utterances if u.speaker == who)
        tallies[who].add(ref, hyp)
    h, n = boundary_hits(truth["utterances"], t.utterances)
    b = tallies["agent"]
    b.hits += h
    b.true_utts += n
    b.audio_s += t.duration or 0
    b.asr_s += t.diagnostics["timing"]["asr_total_s"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", help="comma-separated call ids (default: all 40)")
    ap.add_argument("--limit", type=int, help="at most this many calls per split")
    ap.add_argument("--aishell", type=int, default=200, help="AISHELL utterances (0 = skip)")
    ap.add_argument("--no-calls", action="store_true")
    ap.add_argument("--no-wav", action="store_true", help="skip the lossless stereo WAV rows")
    ap.add_argument("--no-correction", action="store_true", help="disable sound-alike correction")
    ap.add_argument("--hotwords", choices=["on", "off"], help="override use_hotwords")
    ap.add_argument("--beam", type=int, help="beam size (default: the beam_size setting, 3)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--save-dir", type=Path,
                    help="write each stereo MP3 call's transcript document here (<call>.json, "
                         "with the call's sidecar metadata) for other benchmarks to reuse")
    a = ap.parse_args(argv)

    from qa.pipeline import make_transcriber, product_vocabulary
    from transcribe.engine import DecodeOptions

    vocab = product_vocabulary()  # the vocabulary file plus the configured estates
    if a.no_correction:
        vocab.use_correction = False
    if a.hotwords:
        vocab.use_hotwords = a.hotwords == "on"
    t0 = time.perf_counter()
    tr = make_transcriber(vocabulary=vocab,
                          options=DecodeOptions(beam_size=a.beam) if a.beam else None)
    print(f"model {tr.model_path.name}: loaded in {time.perf_counter() - t0:.1f} s; "
          f"beam {tr.options.beam_size}, hotwords {vocab.use_hotwords}, "
          f"correction {vocab.use_correction}", flush=True)
    rows: list[tuple[str, str, Tally]] = []

    if not a.no_calls:
        ids = sorted(p.name.split(".")[0] for p in (SHARED / "calls").glob("pub-*.truth.json"))
        if a.calls:
            wanted = set(a.calls.split(","))
            ids = [i for i in ids if i in wanted]
        splits = {"pub-001…020": [i for i in ids if int(i[4:]) <= 20],
                  "pub-021…040": [i for i in ids if int(i[4:]) > 20]}
        for name, sids in splits.items():
            if a.limit:
                sids = sids[: a.limit]
            if not sids:
                continue
            for kind in ("stereo.mp3", "stereo.wav"):
                if kind == "stereo.wav" and a.no_wav:
                    continue
                todo = [i for i in sids if (SHARED / "calls" / f"{i}.{kind}").exists()]
                if not todo:
                    continue
                tallies = {"agent": Tally(), "customer": Tally()}
                for cid in todo:
                    truth = json.loads((SHARED / "calls" / f"{cid}.truth.json").read_text("utf-8"))
                    bench_call(tr, SHARED / "calls" / f"{cid}.{kind}", truth, tallies,
                               a.save_dir if kind == "stereo.mp3" else None)
                    print(f"  {cid}.{kind}: agent CER {tallies['agent'].cer:.1f} % "
                          f"customer {tallies['customer'].cer:.1f} % (running)", flush=True)
                rows.append((f"calls {name} {kind} ({len(todo)})", "agent", tallies["agent"]))
                rows.append((f"calls {name} {kind} ({len(todo)})", "customer",
                             tallies["customer"]))
    if a.aishell:
        for tel in (False, True):
            t = bench_aishell(tr, a.aishell, tel)
            rows.append((f"aishell1 ({a.aishell}) {'8k μ-law' if tel else 'clean'}", "-", t))
            print(f"  aishell {'tel' if tel else 'clean'}: CER {t.cer:.1f} %", flush=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = io.StringIO()
    out.write(f"\n{'set':44s} {'channel':9s} {'CER %':>6s} {'chars':>6s} {'bound.%':>8s} "
              f"{'x RT':>6s}\n")
    figures = []
    for name, who, t in rows:
        bound = 100.0 * t.hits / t.true_utts if t.true_utts else None
        speed = t.audio_s / t.asr_s if t.asr_s else None
        out.write(f"{name:44s} {who:9s} {t.cer:6.1f} {t.ref:6d} "
                  f"{'' if bound is None else f'{bound:.1f}':>8s} "
                  f"{'' if speed is None else f'{speed:.1f}':>6s}\n")
        figures.append({"set": name, "channel": who, "cer": round(t.cer, 2), "chars": t.ref,
                        "boundaries_pct": bound, "x_realtime": speed})
    out.write(f"\npeak memory (max RSS): {peak_mb:.0f} MB\n")
    print(out.getvalue())
    if a.json:
        a.json.write_text(json.dumps({"rows": figures, "peak_mb": peak_mb}, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
