#!/usr/bin/env python3
"""Render part of the corpus as calls and measure the callers' voices (``voice_calls.jsonl``).

Voice cues must be learned from audio, not guessed. This tool

1. picks complaint examples of ``corpus.jsonl`` (plus a few short complaints whose words are
   deliberately neutral, so that only the voice tells the type) and writes call scripts for
   ``shared/tools/synth_call.py`` (``voice_scripts.json``), speaking each type as callers do:
   vent louder, faster and with pitch jumping from turn to turn, interrupting the agent;
   resolve clear and controlled with stressed points; expectation calm, level, unhurried;
   every parameter drawn per call and per turn from overlapping ranges (fixed seed);
2. renders them with the synthesiser's own environment (``--synth-python``), audio outside
   the repository (``--audio``);
3. measures every utterance on its party's channel at the true turn times
   with the transcriber's own functions (:mod:`transcribe.measure`: level_dbfs, pitch_hz,
   pitch_std_st), so training sees what inference sees, and writes
   the transcripts with those measurements and the labels, without audio, to
   ``voice_calls.jsonl``.

Usage:
  python classifiers/corpus/make_voice_calls.py --synth-python /work/synth-venv/bin/python \
      --audio /tmp/voice-calls
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SYNTH = REPO.parent / "shared" / "tools" / "synth_call.py"
SEED = 4242
PER_TYPE = 30          # corpus examples rendered per complaint type
NEUTRAL_PER_TYPE = 8   # neutral-worded complaints per type (the voice carries the type)

NEUTRAL_TEXTS = [
    "你好，{t}又出问题了，你们看看怎么处理吧。", "喂，{t}坏了，这个事你们得管一下。",
    "你好，我反映一下{t}的问题，到现在还没弄好。", "你好，{t}一直这样，你们什么时候来看看？",
    "{t}的事我之前说过了，还是没解决。", "你好，就是{t}，能不能给个说法？",
]
NEUTRAL_THINGS = ["电梯", "楼道灯", "垃圾站", "单元门", "水管", "暖气", "车位", "绿化"]
AGENT_ACK = {
    "vent": ["嗯", "是", "嗯，您说", "您先别着急", "是的，理解"],
    "resolve": ["好的，我记一下", "明白，您说的我都记下了", "好的，请您继续说", "嗯，清楚了"],
    "expectation": ["嗯，您说的我理解", "是的，明白", "好的，您请讲", "嗯嗯"],
}


def _voice(r: random.Random, ctype: str) -> dict:
    base_f0 = r.uniform(0.62, 0.84)
    if ctype == "vent":
        return dict(f0=base_f0, gain=r.uniform(3.0, 9.0), speed=r.uniform(0.76, 0.9), f0_jit=r.uniform(0.06, 0.16))
    if ctype == "resolve":
        return dict(f0=base_f0, gain=r.uniform(-1.5, 4.0), speed=r.uniform(0.87, 1.0), f0_jit=r.uniform(0.0, 0.05))
    return dict(f0=base_f0, gain=r.uniform(-5.0, 1.0), speed=r.uniform(0.97, 1.13), f0_jit=r.uniform(0.0, 0.035))


def build_script(r: random.Random, cid: str, ctype: str, turns: list[str]) -> dict:
    v = _voice(r, ctype)
    agent_speed = r.uniform(0.95, 1.05)
    out = [{"speaker": "agent", "text": "您好，物业服务中心，请问有什么可以帮您？", "speed": agent_speed}]
    for i, text in enumerate(turns[:3]):
        text = text[:90]
        f0 = v["f0"] * (1 + r.uniform(-v["f0_jit"], v["f0_jit"]))
        gain = v["gain"] + (r.uniform(0, 3) if ctype == "vent" else r.uniform(-1, 1.5))
        turn = {"speaker": "customer", "text": text, "speed": round(v["speed"] * r.uniform(0.97, 1.03), 3),
                "gain_db": round(gain, 2), "f0": round(f0, 3), "gap": round(r.uniform(0.2, 0.8), 2)}
        if ctype == "vent" and i and r.random() < 0.5:
            turn["overlap"] = round(r.uniform(0.4, 1.5), 2)  # cuts the agent short
            turn.pop("gap")
        out.append(turn)
        ack = {"speaker": "agent", "text": r.choice(AGENT_ACK[ctype]), "speed": agent_speed}
        if r.random() < 0.3:
            ack["overlap"] = round(r.uniform(0.3, 0.8), 2)
        out.append(ack)
    out.append({"speaker": "agent", "text": "好的，您反映的问题我已经登记了，感谢您的来电，再见。", "speed": agent_speed})
    return {"id": cid, "noise_db": round(r.uniform(-62, -46), 1), "turns": out,
            "labels": {"call_type": "complaint", "complaint_type": ctype}}


def build_all() -> list[dict]:
    r = random.Random(SEED)
    corpus = [json.loads(x) for x in (HERE / "corpus.jsonl").read_text("utf-8").splitlines() if x.strip()]
    scripts = []
    for ctype in ("resolve", "vent", "expectation"):
        pool = [e for e in corpus if e["complaint_type"] == ctype]
        for e in r.sample(pool, PER_TYPE):
            s = build_script(r, f"v-{e['id']}", ctype, e["turns"])
            s["source_id"] = e["id"]
            scripts.append(s)
        for j in range(NEUTRAL_PER_TYPE):
            text = r.choice(NEUTRAL_TEXTS).replace("{t}", r.choice(NEUTRAL_THINGS))
            s = build_script(r, f"v-n-{ctype}-{j}", ctype, [text, r.choice(["对，就是这个事。", "你们尽快吧。", "嗯，就这样。"])])
            s["source_id"] = None
            scripts.append(s)
    return scripts


def read_stereo(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), np.int16).astype(np.float32) / 32768
    return x.reshape(-1, ch), sr


def measure(script: dict, audio_dir: Path) -> dict:
    from transcribe.measure import active_level_dbfs, pitch_stats

    truth = json.loads((audio_dir / f"{script['id']}.truth.json").read_text("utf-8"))
    x, sr = read_stereo(audio_dir / f"{script['id']}.stereo.wav")
    chan = {"agent": 0, "customer": 1}
    for u in truth["utterances"]:
        c = x[:, chan[u["speaker"]]]
        level = active_level_dbfs(c, sr, u["start"], u["end"])
        if level is not None:
            u["level_dbfs"] = level
        f0, f0_std = pitch_stats(c, sr, u["start"], u["end"])
        if f0 is not None:
            u["pitch_hz"], u["pitch_std_st"] = f0, f0_std
    return {"call_id": script["id"], "source_id": script["source_id"], "duration": truth["duration"],
            "metadata": {}, "utterances": truth["utterances"], "labels": script["labels"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synth-python", default="/work/synth-venv/bin/python")
    ap.add_argument("--audio", type=Path, default=Path("/tmp/voice-calls"))
    ap.add_argument("--skip-render", action="store_true", help="only measure already rendered audio")
    ap.add_argument("--rebuild-scripts", action="store_true",
                    help="draw new scripts from corpus.jsonl (changes the voice training set)")
    args = ap.parse_args(argv)
    script_path = HERE / "voice_scripts.json"
    if args.rebuild_scripts or not script_path.exists():
        scripts = build_all()
        script_path.write_text(json.dumps(scripts, ensure_ascii=False, indent=0), "utf-8")
    else:  # the scripts that were rendered are the record: never silently re-draw them
        scripts = json.loads(script_path.read_text("utf-8"))
    if not args.skip_render:
        subprocess.run([args.synth_python, str(SYNTH), str(script_path), "--out", str(args.audio),
                        "--formats", "stereo"], check=True)
    sys.path.insert(0, str(REPO))
    rows = [measure(s, args.audio) for s in scripts]
    (HERE / "voice_calls.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(f"{len(rows)} calls measured -> {HERE / 'voice_calls.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
