#!/usr/bin/env python3
"""Per-stage profile of processing a call (issue #17, "measure first").

Runs what a worker runs for a recording — :func:`qa.pipeline.analyze_file` with one reused
transcriber (decode, VAD, Whisper, text, measurements, speaker separation for mono; then
classification, dialogue acts, rules, score) and :func:`qa.results.store_report` into a
temporary SQLite database — and splits each call's wall time into stages. Nothing in the
product is changed: the stages are timed from outside, by wrapping the functions the product
calls (module attributes, methods, and a proxy around CTranslate2's Whisper object for
``encode`` / ``generate`` / ``align``) for the duration of the run. Times are *self* times:
a stage nested in another (e.g. the encoder inside faster-whisper's loop) is not counted in
its parent, so the rows add up to the call's wall time (the rest is ``other``). ``cores`` is
the process's CPU time (all threads) over the wall time of the stage: 1.00 is one core busy,
2.00 both cores of a 2-core machine.

Windows: faster-whisper encodes 30-s windows (3000 feature frames; a shorter piece is padded
with zeros). For each channel the bench counts the windows encoded, the frames of real
content in each (a window ends where the zero padding starts), and compares them with the
speech the VAD kept (the recogniser hears only that, concatenated): ``padding`` = 30 s per
window minus the content fed, ``overlap`` = content fed minus the speech (faster-whisper
moves on to the last word's end, not by 30 s, so some speech is encoded twice), and the
windows the speech would need packed end to end (⌈speech/30⌉ per channel; both channels
together for a batch of the two).

``--what-if`` (on by default; ``--no-what-if``) re-times a few windows captured from the
first call outside the pipeline: the encoder on 1 window vs 2 at once (batching both
channels), the decoder at beam 1/3/5 on the same windows, and 1 vs 2 CTranslate2 threads.

Usage::

    .venv/bin/python bench/profile.py                  # (a) single calls, (b) batch of 5
    .venv/bin/python bench/profile.py --calls 10       # a larger batch
    .venv/bin/python bench/profile.py --quick          # one short stereo call (the test)

Prints the tables; audio seconds, real-time factor (audio s / wall s) per call, peak RSS,
and how many cores other processes of the machine used meanwhile (``/proc/stat``; timings
taken while that is well above 0 are not this code's alone).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED_CALLS = REPO.parent / "shared" / "data" / "calls"
TEST_CALLS = REPO / "tests" / "data" / "calls"
WARMUP = REPO / "tests" / "data" / "formats" / "greeting-2s.amr"
WARMUP_TRANSCRIPT = REPO / "tests" / "data" / "truth" / "pub-040.truth.json"

#: rows of the table, in pipeline order (stage key → label).
STAGES = [
    ("decode", "decode (file → 16 kHz)"),
    ("channels", "channel check (identical?)"),
    ("vad", "VAD (Silero)"),
    ("features", "log-Mel features"),
    ("encoder", "encoder (CT2 encode)"),
    ("decoder", "decoder (CT2 generate)"),
    ("align", "word alignment (CT2 align)"),
    ("word_ts", "word timestamps (python)"),
    ("whisper_loop", "faster-whisper loop (other)"),
    ("recognise", "segment filter, word fit (ours)"),
    ("split", "utterance split"),
    ("simplify", "simplify (OpenCC)"),
    ("correct", "sound-alike correction"),
    ("punct", "punctuation"),
    ("measure", "level + pitch"),
    ("diarize", "diarisation (mono)"),
    ("assemble", "transcript assembly (other)"),
    ("classify", "classify (call/complaint)"),
    ("acts", "dialogue acts"),
    ("rules", "rules"),
    ("score", "score"),
    ("analyze", "analyze (other)"),
    ("store", "store (SQLite)"),
    ("other", "other"),
]
ASR_KEYS = ("features", "encoder", "decoder", "align", "word_ts", "whisper_loop")
WINDOW_FRAMES = 3000
FRAME_S = 0.01


class Profiler:
    """Exclusive ("self") time per stage, with a stack so nested stages are not counted
    twice; counters beside."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # process CPU seconds (all threads), same stages
        self.stack: list[list] = []  # [key, wall and CPU clocks at the current stretch's start]
        self.channels: list[dict] = []  # one per generate_segments call (a channel / a mix)
        self.tokens = 0
        self.generate_calls = 0
        self.captured: list[np.ndarray] = []  # a few windows' features, for --what-if
        self._undo: list = []

    def reset(self) -> None:
        self.times, self.cpu, self.channels, self.tokens, self.generate_calls = {}, {}, [], 0, 0

    @contextmanager
    def span(self, key: str):
        now, cpu = time.perf_counter(), time.process_time()
        if self.stack:
            top = self.stack[-1]
            self.times[top[0]] = self.times.get(top[0], 0.0) + now - top[1]
            self.cpu[top[0]] = self.cpu.get(top[0], 0.0) + cpu - top[2]
        self.stack.append([key, now, cpu])
        try:
            yield
        finally:
            now, cpu = time.perf_counter(), time.process_time()
            k, t0, c0 = self.stack.pop()
            self.times[k] = self.times.get(k, 0.0) + now - t0
            self.cpu[k] = self.cpu.get(k, 0.0) + cpu - c0
            if self.stack:
                self.stack[-1][1], self.stack[-1][2] = now, cpu

    def timed(self, fn, key: str):
        def wrapper(*a, **kw):
            with self.span(key):
                return fn(*a, **kw)
        wrapper.__wrapped__ = fn
        return wrapper

    def patch(self, obj, attr: str, key: str, make=None) -> None:
        """Replace ``obj.attr`` by a timed wrapper (or ``make(original)``), undone by
        :meth:`restore`."""
        own = attr in vars(obj)  # else a method of the class: the instance's copy is removed
        orig = vars(obj)[attr] if isinstance(obj, type) else getattr(obj, attr)
        self._undo.append((obj, attr, orig, own))
        setattr(obj, attr, make(orig) if make else self.timed(orig, key))

    def restore(self) -> None:
        for obj, attr, orig, own in reversed(self._undo):
            if own:
                setattr(obj, attr, orig)
            else:
                delattr(obj, attr)
        self._undo.clear()


class _CT2Proxy:
    """Stands in for ``ctranslate2.models.Whisper`` (a C object whose methods cannot be
    replaced) and times encode / generate / align; everything else passes through."""

    def __init__(self, model, prof: Profiler):
        object.__setattr__(self, "_m", model)
        object.__setattr__(self, "_p", prof)

    def __getattr__(self, name):
        return getattr(self._m, name)

    def encode(self, features, *a, **kw):
        p = self._p
        arr = np.asarray(features)  # a StorageView on the CPU exposes the array interface
        if p.channels:
            ch = p.channels[-1]
            for w in arr.reshape(-1, *arr.shape[-2:]):
                zero = ~w.any(axis=0)  # pad_or_trim pads with zero columns
                pad = int(np.argmin(zero[::-1])) if not zero.all() else w.shape[-1]
                ch["windows"] += 1
                ch["content_frames"] += w.shape[-1] - pad
            if ch["windows"] == 1 and len(p.captured) < 2:  # each channel's first window
                p.captured.append(arr.reshape(-1, *arr.shape[-2:])[0].copy())
        with p.span("encoder"):
            return self._m.encode(features, *a, **kw)

    def generate(self, *a, **kw):
        p = self._p
        with p.span("decoder"):
            out = self._m.generate(*a, **kw)
        p.generate_calls += 1
        p.tokens += sum(len(r.sequences_ids[0]) for r in out if r.sequences_ids)
        return out

    def align(self, *a, **kw):
        with self._p.span("align"):
            return self._m.align(*a, **kw)


def install(prof: Profiler, tr) -> None:
    """Wrap the product's and faster-whisper's stages for ``tr`` (a Transcriber)."""
    import faster_whisper.transcribe as fwt

    import qa.engine as qe
    import transcribe.engine as te
    from qa.acts import default_tagger
    from transcribe.features import BoundedFeatureExtractor

    for name, key in (("decode", "decode"), ("channels_identical", "channels"),
                      ("speech_timestamps", "vad"), ("fit_words_to_speech", "recognise"),
                      ("split_utterances", "split"), ("to_simplified", "simplify"),
                      ("chinese_punctuation", "punct"), ("active_level_dbfs", "measure"),
                      ("pitch_stats", "measure"), ("label_mono", "diarize"),
                      ("party_level_dbfs", "diarize")):
        prof.patch(te, name, key)
    prof.patch(BoundedFeatureExtractor, "__call__", "features")
    prof.patch(fwt.WhisperModel, "add_word_timestamps", "word_ts")
    prof.patch(fwt, "restore_speech_timestamps", "", make=lambda f: _timed_gen(prof, f,
                                                                               "recognise"))

    def segments(orig):
        def wrapper(self, features, *a, **kw):
            prof.channels.append({"content_frames_total": features.shape[-1] - 1,
                                  "windows": 0, "content_frames": 0})
            yield from _timed_gen(prof, orig, "whisper_loop")(self, features, *a, **kw)
        return wrapper
    prof.patch(fwt.WhisperModel, "generate_segments", "", make=segments)
    # our own methods on the instance (self time: what the stages above leave)
    prof.patch(tr, "_recognise", "recognise")
    prof.patch(tr, "transcribe_audio", "assemble")
    if tr._correct is not None:
        prof.patch(tr, "_correct", "correct")
    prof.patch(tr.model, "model", "", make=lambda m: _CT2Proxy(m, prof))
    # the qa side
    clf = qe.default_classifier()
    if clf is not None:
        prof.patch(clf, "classify", "classify")
    tagger = default_tagger()
    if tagger is not None:
        prof.patch(tagger, "tag", "acts")
    prof.patch(qe, "run_rules", "rules")
    prof.patch(qe, "score_findings", "score")
    import qa.pipeline as qp
    prof.patch(qp, "analyze", "analyze")


def _timed_gen(prof: Profiler, fn, key: str):
    """A generator function's wrapper that times each step of the generator (self time)."""
    def wrapper(*a, **kw):
        with prof.span(key):
            it = iter(fn(*a, **kw))
        while True:
            with prof.span(key):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item
    return wrapper


def machine_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used (``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Store:
    """A temporary SQLite database migrated to head; :meth:`store` writes a report as the
    workers do (a ``calls`` row, then :func:`qa.results.store_report`)."""

    def __init__(self, folder: Path):
        from models import upgrade
        self.url = f"sqlite:///{folder / 'profile.db'}"
        upgrade(self.url)
        self.n = 0

    def store(self, path: Path, report) -> None:
        from models import Call, session_scope
        from qa.results import store_report
        from qa.settings import get_settings
        self.n += 1
        cid = f"{report.call_id}-{self.n}"
        with session_scope(self.url) as s:
            call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                        source_path=str(path), filename=path.name, store_path=str(path),
                        media_type="audio", meta=dict(report.transcript.metadata or {}),
                        status="processing")
            s.add(call)
            s.flush()
            store_report(s, call, report, {}, settings=get_settings())
            call.status = "done"


def profile_call(prof: Profiler, tr, store: Store, path: Path) -> dict:
    from qa.pipeline import analyze_file
    prof.reset()
    busy0, own0 = machine_busy_s(), time.process_time()
    t0 = time.perf_counter()
    with prof.span("other"):
        report = analyze_file(path, transcriber=tr)
        with prof.span("store"):
            store.store(path, report)
    wall = time.perf_counter() - t0
    busy1, own1 = machine_busy_s(), time.process_time()
    others = None if busy0 is None else max(0.0, (busy1 - busy0) - (own1 - own0)) / wall
    tr_ = report.transcript
    diag = tr_.diagnostics or {}
    # one recogniser pass per channel, in the transcriber's order (agent, customer; or the mix)
    for ch, key in zip(prof.channels, ("agent", "customer") if len(prof.channels) == 2
                       else ("mix",)):
        ch["who"] = key
    return {"file": path.name, "audio_s": float(tr_.duration or 0.0), "wall_s": wall,
            "times": dict(prof.times), "cpu": dict(prof.cpu), "channels": [dict(c) for c in prof.channels],
            "speech_s": float(diag.get("speech_s") or 0.0), "tokens": prof.tokens,
            "generate_calls": prof.generate_calls, "utterances": len(tr_.utterances),
            "rss_mb": rss_mb(), "others_cores": others, "product_timing": dict(diag.get("timing") or {})}


def window_rows(res: dict) -> list[str]:
    out = []
    for ch in res["channels"]:
        fed = ch["content_frames"] * FRAME_S
        heard = ch["content_frames_total"] * FRAME_S
        enc = ch["windows"] * WINDOW_FRAMES * FRAME_S
        packed = math.ceil(heard / 30 - 1e-9) if heard > 0 else 0
        out.append(f"    {ch.get('who', '?'):8s} speech heard {heard:6.1f} s  windows "
                   f"{ch['windows']:2d} (= {enc:5.0f} s encoded)  content fed {fed:6.1f} s  "
                   f"padding {enc - fed:5.1f} s ({100 * (enc - fed) / enc if enc else 0:4.1f} %)"
                   f"  overlap {fed - heard:5.1f} s  packed: {packed} window(s)")
    if len(res["channels"]) == 2:
        heard = sum(c["content_frames_total"] for c in res["channels"]) * FRAME_S
        w = sum(c["windows"] for c in res["channels"])
        out.append(f"    both     speech heard {heard:6.1f} s  windows {w:2d} (= {30 * w:5.0f} s "
                   f"encoded); both channels' speech packed end to end: "
                   f"{math.ceil(heard / 30 - 1e-9)} window(s); encoded / speech "
                   f"{30 * w / heard if heard else 0:.2f}")
    return out


def table(results: list[dict], title: str) -> str:
    tot: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for r in results:
        for k, v in r["times"].items():
            tot[k] = tot.get(k, 0.0) + v
        for k, v in r["cpu"].items():
            cpu[k] = cpu.get(k, 0.0) + v

    def cores(keys) -> str:
        w, c = sum(tot.get(k, 0.0) for k in keys), sum(cpu.get(k, 0.0) for k in keys)
        return f"{c / w:6.2f}" if w > 0.005 * n else f"{'':6s}"
    wall = sum(r["wall_s"] for r in results)
    audio = sum(r["audio_s"] for r in results)
    n = len(results)
    lines = [f"{title}: {n} call(s), audio {audio:.1f} s, wall {wall:.2f} s, "
             f"{audio / wall:.1f}× real time, {3600 / (wall / n):.0f} calls/hour on one worker"
             if wall else title,
             f"  {'stage':34s} {'s/call':>8s} {'share':>7s} {'cores':>6s}"]
    known = {k for k, _ in STAGES}
    for k, label in STAGES:
        v = tot.get(k, 0.0)
        if v == 0.0 and k in ("diarize", "correct"):
            continue
        lines.append(f"  {label:34s} {v / n:8.3f} {100 * v / wall:6.1f} % {cores([k])}")
    for k in sorted(set(tot) - known):
        lines.append(f"  {k:34s} {tot[k] / n:8.3f} {100 * tot[k] / wall:6.1f} % {cores([k])}")
    asr = sum(tot.get(k, 0.0) for k in ASR_KEYS)
    enc, dec = tot.get("encoder", 0.0), tot.get("decoder", 0.0)
    lines.append(f"  {'= Whisper (features…loop)':34s} {asr / n:8.3f} {100 * asr / wall:6.1f} %"
                 f" {cores(ASR_KEYS)}   (encoder {100 * enc / asr if asr else 0:.0f} %, decoder "
                 f"{100 * dec / asr if asr else 0:.0f} % of it)")
    rec = asr + sum(tot.get(k, 0.0) for k in ("vad", "recognise"))
    lines.append(f"  {'= recognition (VAD + Whisper + fit)':34s} {rec / n:8.3f} "
                 f"{100 * rec / wall:6.1f} % {cores(ASR_KEYS + ('vad', 'recognise'))}")
    lines.append(f"  {'= call wall time':34s} {wall / n:8.3f} {100.0:6.1f} % {cores(tot)}")
    windows = sum(c["windows"] for r in results for c in r["channels"])
    tokens = sum(r["tokens"] for r in results)
    gens = sum(r["generate_calls"] for r in results)
    if windows:
        lines.append(f"  per window: encoder {1000 * enc / windows:.0f} ms, decoder "
                     f"{1000 * dec / gens:.0f} ms ({gens} generate calls, {tokens} tokens, "
                     f"{1000 * dec / max(tokens, 1):.1f} ms/token), alignment "
                     f"{1000 * tot.get('align', 0.0) / windows:.0f} ms; {windows} windows")
    return "\n".join(lines)


def per_call_lines(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        ch = len(r["channels"])
        oc = r["others_cores"]
        out.append(f"  {r['file']:22s} audio {r['audio_s']:6.1f} s  wall {r['wall_s']:6.2f} s  "
                   f"{r['audio_s'] / r['wall_s']:5.1f}× RT  {ch} recogniser pass(es), "
                   f"{sum(c['windows'] for c in r['channels'])} windows, {r['utterances']} "
                   f"utterances, peak RSS so far {r['rss_mb']:.0f} MB, other processes "
                   f"{'?' if oc is None else f'{oc:.2f}'} cores")
        out += window_rows(r)
    return out


def what_if(prof: Profiler, tr) -> list[str]:
    """Encoder/decoder batching, beam width and threads, timed on the first window of each
    channel of the first call (the transcriber's model and threads unless said). The decoder
    gets the product's prompt (no previous text, timestamps on) but not every keyword of
    faster-whisper's ``generate`` call: read the figures relative to each other."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    if not prof.captured:
        return ["  (no window captured)"]
    m = tr.model.model
    m = getattr(m, "_m", m)
    w = prof.captured[0][None]
    both = np.stack(prof.captured[:2] if len(prof.captured) > 1 else [prof.captured[0]] * 2)
    sv = ctranslate2.StorageView.from_array
    tok = Tokenizer(tr.model.hf_tokenizer, True, task="transcribe", language="zh")
    prompt = tok.sot_sequence  # no previous text, as the product decodes (timestamps on)

    def best(fn, k=3):
        ts = []
        for _ in range(k):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    out = []
    one = best(lambda: m.encode(sv(w)), 5)
    two = best(lambda: m.encode(sv(both)), 5)
    out.append(f"  encoder: 1 window {1000 * one:.0f} ms; 2 windows in one batch "
               f"{1000 * two:.0f} ms = {1000 * two / 2:.0f} ms/window "
               f"({100 * (1 - two / (2 * one)):+.0f} % saved vs one at a time)")
    enc = m.encode(sv(both))
    singles = [m.encode(sv(x[None])) for x in both]

    def gen(eo, n, beam):
        return m.generate(eo, [prompt] * n, beam_size=beam, max_length=448, return_scores=True,
                          return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])
    for beam in (1, 3, 5):
        seq = sum(best(lambda eo=eo, beam=beam: gen(eo, 1, beam)) for eo in singles)
        batched = best(lambda beam=beam: gen(enc, 2, beam))
        n_tok = sum(len(r.sequences_ids[0]) for r in gen(enc, 2, beam))
        out.append(f"  decoder beam {beam}: the 2 windows one after the other {1000 * seq:.0f} ms,"
                   f" batched {1000 * batched:.0f} ms ({n_tok} tokens)")
    # threads: fresh instances of the model (same files) with 1 and 2 threads, alternated
    inst = {n: ctranslate2.models.Whisper(str(tr.model_path), device="cpu",
                                          compute_type=tr.compute_type, intra_threads=n)
            for n in (1, 2)}
    beam = tr.options.beam_size
    e, d = {1: [], 2: []}, {1: [], 2: []}
    for _ in range(4):
        for n, mm in inst.items():
            e[n].append(best(lambda mm=mm: mm.encode(sv(w)), 1))
            eo = mm.encode(sv(w))
            d[n].append(best(lambda mm=mm, eo=eo: mm.generate(
                eo, [prompt], beam_size=beam, max_length=448, suppress_tokens=[-1]), 1))
    out.append(f"  1 vs 2 threads (beam {beam}, 1 window, fresh instances, best of 4): encoder "
               f"{1000 * min(e[1]):.0f} vs {1000 * min(e[2]):.0f} ms, decoder "
               f"{1000 * min(d[1]):.0f} vs {1000 * min(d[2]):.0f} ms")
    return out


def pick(ids: str | None, n: int, skip=()) -> list[Path]:
    files = sorted(SHARED_CALLS.glob("pub-*.stereo.mp3")) if SHARED_CALLS.is_dir() else []
    if not files:
        files = sorted(TEST_CALLS.glob("*.stereo.*"))
    files = [f for f in files if f.name.split(".")[0] not in skip]
    if ids:
        want = ids.split(",")
        files = [f for f in files if f.name.split(".")[0] in want]
    return files[:n]


def find(name: str) -> Path:
    for d in (SHARED_CALLS, TEST_CALLS):
        if (d / name).is_file():
            return d / name
    raise SystemExit(f"not found: {name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--single", default="pub-001.stereo.mp3,pub-003.stereo.wav,pub-002.mono.wav",
                    help="files profiled one by one (shared calls, else tests/data/calls)")
    ap.add_argument("--calls", type=int, default=5, help="stereo calls in the batch (0: none)")
    ap.add_argument("--ids", help="batch call ids, comma-separated (default: the first N)")
    ap.add_argument("--no-what-if", action="store_true", help="skip the re-timed alternatives")
    ap.add_argument("--quick", action="store_true",
                    help="one short stereo call (pub-003.stereo.wav), no batch, no what-if")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    a = ap.parse_args(argv)
    if a.quick:
        a.single, a.calls, a.no_what_if = "pub-003.stereo.wav", 0, True

    from qa.acts import default_tagger
    from qa.engine import analyze, default_classifier
    from qa.records import Transcript
    from qa.pipeline import analyze_file, make_transcriber

    t0 = time.perf_counter()
    tr = make_transcriber()
    default_classifier()
    default_tagger()
    load_s = time.perf_counter() - t0
    s = tr.settings
    print(f"model {tr.model_path.name} ({tr.device}, {tr.compute_type}, {s.cpu_threads} "
          f"threads), beam {tr.options.beam_size}, temperatures {list(tr.options.temperatures)},"
          f" word timestamps on; transcriber + classifier + act model loaded in {load_s:.1f} s",
          flush=True)
    prof = Profiler()
    results: dict[str, list[dict]] = {"single": [], "batch": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        # first-use costs (not profiled): recognition of a 2-s recording, then the rules on a
        # transcript with many utterances (the act model's embeddings load on first use)
        t0 = time.perf_counter()
        store.store(WARMUP, analyze_file(WARMUP, transcriber=tr))
        t1 = time.perf_counter()
        truth = json.loads(WARMUP_TRANSCRIPT.read_text("utf-8"))
        analyze(Transcript.from_dict({k: truth[k] for k in ("call_id", "duration", "metadata",
                                                            "utterances") if k in truth}))
        print(f"warm-up, not profiled: {WARMUP.name} (2 s) analysed and stored in {t1 - t0:.1f} s;"
              f" rules on {WARMUP_TRANSCRIPT.name} (first use of the act model) "
              f"{time.perf_counter() - t1:.1f} s", flush=True)
        install(prof, tr)
        try:
            for name in a.single.split(","):
                r = profile_call(prof, tr, store, find(name))
                results["single"].append(r)
                print(f"  profiled {name}: {r['wall_s']:.1f} s", flush=True)
            done = {n.split(".")[0] for n in a.single.split(",")}
            # calls not profiled above: the act model caches embeddings by text, so a call seen
            # before would cost less the second time
            for path in pick(a.ids, a.calls, () if a.ids else done):
                r = profile_call(prof, tr, store, path)
                results["batch"].append(r)
                print(f"  batch {path.name}: {r['wall_s']:.1f} s", flush=True)
            extra = [] if a.no_what_if else what_if(prof, tr)
        finally:
            prof.restore()

    print()
    for r in results["single"]:
        print(table([r], f"(a) {r['file']}"))
        print(per_call_lines([r])[0])
        print("\n".join(window_rows(r)))
        print()
    if results["batch"]:
        print(table(results["batch"], "(b) batch of stereo calls, one after the other"))
        print("\n".join(per_call_lines(results["batch"])))
        print()
    if extra:
        print("what if (windows of the first call, timed outside the pipeline, best of 3-5):")
        print("\n".join(extra))
        print()
    print(f"peak memory (max RSS): {rss_mb():.0f} MB")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=float), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
