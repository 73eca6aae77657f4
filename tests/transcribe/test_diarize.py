"""Speaker separation of mono calls and role assignment, without the recogniser: words are
placed from the true transcripts, the audio is real (a scripted mono call, real AISHELL-1
speakers spliced into turns)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transcribe.audio import decode
from transcribe.diarize import HOP_S, channels_identical, party_level_dbfs, separate
from transcribe.engine import label_mono
from transcribe.records import Word
from transcribe.roles import assign_roles, lexical_log_odds, read_back

DATA = Path(__file__).resolve().parent.parent / "data"


def _truth_words(utterances: list[dict]) -> list[Word]:
    """The true text as words: characters spread evenly over each true utterance."""
    words = []
    for u in utterances:
        chars = [c for c in u["text"] if c.strip()]
        step = (u["end"] - u["start"]) / max(1, len(chars))
        for i, c in enumerate(chars):
            words.append(Word(start=round(u["start"] + i * step, 2),
                              end=round(u["start"] + (i + 1) * step, 2), text=c))
    return sorted(words, key=lambda w: w.start)


def _attribution(groups, truth_utts, names) -> float:
    """Share of true single-speaker speech time (10 ms frames under words) attributed to the
    right party; ``names`` maps party index → speaker."""
    n = int(max(u["end"] for u in truth_utts) / HOP_S) + 10
    true = np.full(n, "", dtype=object)
    for u in truth_utts:
        a, b = int(u["start"] / HOP_S), int(u["end"] / HOP_S)
        true[a:b] = np.where(true[a:b] == "", u["speaker"], "both")
    hyp = np.full(n, "", dtype=object)
    for p, ws in groups:
        for w in ws:
            hyp[int(w.start / HOP_S):int(w.end / HOP_S)] = names[p]
    m = (hyp != "") & (true != "") & (true != "both")
    return float(np.mean(hyp[m] == true[m]))


@pytest.fixture(scope="module")
def mono_call():
    audio = decode(DATA / "calls" / "pub-002.mono.wav")
    truth = json.loads((DATA / "truth" / "pub-002.truth.json").read_text("utf-8"))
    return audio, truth


def test_mono_call_parties_and_roles(mono_call):
    audio, truth = mono_call
    words = _truth_words(truth["utterances"])
    labels = label_mono(audio.channels[0], audio.sample_rate, words)
    sep = labels.separation
    assert sep.n_parties == 2 and 0 < sep.separability <= 1
    assert labels.roles.agent in (0, 1) and labels.roles.confidence >= 0.9
    assert labels.review_reasons == []
    names = {labels.roles.agent: "agent", 1 - labels.roles.agent: "customer"}
    assert _attribution(sep.groups, truth["utterances"], names) >= 0.95
    speakers = [s for s, _ in labels.groups]
    assert speakers[0] == "agent" and set(speakers) == {"agent", "customer"}
    # turns alternate as in the call: no two long same-speaker runs merged across a turn
    assert len(labels.groups) >= 10
    # per-party level from the mix: the customer's line is louder in this call
    lv = {s: party_level_dbfs(audio.channels[0], audio.sample_rate, sep.frame_party,
                              labels.party(s), g[0].start, g[-1].end)
          for s, g in labels.groups[:2]}
    assert lv["customer"] > lv["agent"] + 3
    d = labels.diagnostics()
    assert d["agent_party"] == labels.roles.agent and d["needs_review"] is False
    json.dumps(d)


def test_turn_change_inside_one_segment_is_split(mono_call):
    """Agent's greeting and the customer's complaint as one run of words (as if Whisper had
    put both in one segment): the separation splits them at the turn change."""
    audio, truth = mono_call
    first, second = truth["utterances"][0], truth["utterances"][1]
    n = int(32 / HOP_S) * audio.sample_rate // 100
    words = _truth_words([first, second])
    labels = label_mono(audio.channels[0][:n], audio.sample_rate, words)
    assert [s for s, _ in labels.groups][:2] == ["agent", "customer"]
    split = labels.groups[1][1][0].start
    assert abs(split - second["start"]) < 0.5


def _splice(paths: list[Path], order: list[int], gap_s: float = 0.6) -> tuple[np.ndarray, list]:
    """Real utterances of two speakers in alternating turns at 8 kHz, with line noise."""
    clips = [decode(p, sample_rate=8000).channels[0] for p in paths]
    rng = np.random.default_rng(0)
    parts, spans, t = [], [], 0.0
    for _k, i in enumerate(order):
        c = clips[i] / (np.max(np.abs(clips[i])) + 1e-9) * 0.4
        parts += [np.zeros(int(gap_s * 8000), np.float32), c]
        t += gap_s
        spans.append((i // 3, t, t + len(c) / 8000))
        t += len(c) / 8000
    x = np.concatenate(parts)
    return (x + 10 ** (-55 / 20) * rng.standard_normal(len(x))).astype(np.float32), spans


def test_real_speakers_spliced_are_separated():
    sp = DATA / "speech"
    paths = sorted(sp.glob("BAC009S0150*.flac")) + sorted(sp.glob("BAC009S0252*.flac"))
    x, spans = _splice(paths, [0, 3, 1, 4, 2, 5, 0, 3])
    words = [Word(start=round(a + 0.3, 2), end=round(b - 0.3, 2), text="话")
             for _, a, b in spans]
    sep = separate(x, 8000, words)
    assert sep.n_parties == 2
    fp = sep.frame_party
    correct = total = 0
    votes = np.zeros((2, 2))
    for spk, a, b in spans:
        f = fp[int(a / HOP_S) + 20:int(b / HOP_S) - 20]
        f = f[f >= 0]
        for p in (0, 1):
            votes[spk, p] += np.sum(f == p)
    correct = max(votes[0, 0] + votes[1, 1], votes[0, 1] + votes[1, 0])
    total = votes.sum()
    assert total > 0 and correct / total >= 0.9
    # S0150's median pitch is higher than S0252's (≈190 vs ≈140 Hz)
    p150 = 0 if votes[0, 0] >= votes[0, 1] else 1
    assert sep.party_pitch_hz[p150] > sep.party_pitch_hz[1 - p150]


def test_single_voice_is_flagged():
    sp = DATA / "speech"
    paths = sorted(sp.glob("BAC009S0150*.flac"))
    x, spans = _splice(paths, [0, 1, 2, 0, 1])
    words = [Word(start=round(a + 0.3, 2), end=round(b - 0.3, 2), text="指标")
             for _, a, b in spans]
    labels = label_mono(x, 8000, words)
    assert labels.review_reasons  # never a silent guess
    assert {s for s, _ in labels.groups} <= {"agent", "customer"}


def test_no_words_no_utterances():
    labels = label_mono(np.zeros(8000 * 5, np.float32), 8000, [])
    assert labels.groups == [] and labels.review_reasons == []


def test_channels_identical():
    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    assert channels_identical(x, x.copy())
    assert channels_identical(x, 0.5 * x)  # a scaled copy
    assert channels_identical(x, x + 1e-4 * rng.standard_normal(16000))  # lossy-coded copy
    y = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    assert not channels_identical(x, y)
    assert not channels_identical(x, x * 0 + 0)
    assert channels_identical(np.zeros(10), np.zeros(10))


def test_lexical_cues():
    assert lexical_log_odds("您好，阳光花园物业服务中心，请问有什么可以帮您？") > 3
    assert lexical_log_odds("好的，请您稍等一下。") > 1
    assert lexical_log_odds("你们这电梯到底还修不修了？我家老爷子八十多了。") < -2
    assert lexical_log_odds("") == 0.0 and lexical_log_odds("今天天气") == 0.0
    assert abs(lexical_log_odds("您" * 100)) <= 6
    assert read_back("我姓林，十二栋一八零一。", "林先生，十二栋一八零一，对吗？")
    assert read_back("电话是138", "一三八对吗")  # digits compared after normalising numerals
    assert not read_back("十二栋", "好的")


def test_assign_roles_from_words_and_structure():
    turns = [(1, "您好，物业服务中心，请问有什么可以帮您？", 0.5), (0, "喂，你好，我家漏水了。", 4.0),
             (1, "好的，给您登记。", 8.0), (0, "行。", 10.0)]
    r = assign_roles(turns)
    assert r.agent == 1 and r.confidence > 0.9
    # neutral words: only who spoke first decides, with a confidence that asks for review
    neutral = [(0, "今天天气", 0.5), (1, "还可以", 2.0)]
    r = assign_roles(neutral)
    assert r.agent == 0 and 0.5 < r.confidence < 0.9
    assert assign_roles([]).confidence == 0.5


def test_caller_checking_whom_they_reached_is_not_taken_for_the_agent():
    # the agent answers badly (喂) and the caller names the centre in a question: the words
    # of the whole call, not the caller's 是…物业吗, decide
    turns = [(0, "喂，你好。", 0.8), (1, "你好，是书香门第物业吗？", 2.4), (0, "对。", 5.5),
             (1, "我想问一下，小区能养大型犬吗？", 6.5),
             (0, "您好，小区没有禁止，请您带上免疫证明到前台登记。", 12.0)]
    r = assign_roles(turns)
    assert r.agent == 0 and r.evidence["opening"] == 1.5
    assert lexical_log_odds("你好，是书香门第物业吗？") < 0


def test_a_quiet_party_is_still_separated():
    """The agent's line 26 dB below the customer's (near the line noise): the words the
    recogniser heard there count as speech even where the level gate drops them."""
    audio = decode(DATA / "calls" / "pub-003.stereo.wav")
    truth = json.loads((DATA / "truth" / "pub-003.truth.json").read_text("utf-8"))
    agent, customer = audio.channels
    mix = agent * 0.05 + customer
    labels = label_mono(mix, audio.sample_rate, _truth_words(truth["utterances"]))
    names = {labels.roles.agent: "agent", 1 - labels.roles.agent: "customer"}
    assert _attribution(labels.separation.groups, truth["utterances"], names) >= 0.95
    assert labels.groups[0][0] == "agent"


def test_chunk_classifier_corrects_a_mislabelled_chunk_from_the_others():
    """The held-out chunk classifier learns what separates the parties from the other chunks'
    labels, so a chunk given the wrong label is pointed back to its true party."""
    from transcribe.diarize import _held_out_log_odds

    rng = np.random.default_rng(1)
    truth = np.array([0, 1] * 20)
    x = rng.normal(size=(40, 6))
    x[:, 0] += np.where(truth == 0, 2.0, -2.0)  # one statistic tells the parties apart
    path = truth.copy()
    path[7] = 1 - path[7]  # the decoder got this chunk wrong
    z = _held_out_log_odds(x, path, np.ones(40))
    assert z is not None
    assert z[7] * (1 if truth[7] == 0 else -1) > 0
    assert np.mean((z > 0) == (truth == 0)) >= 0.85


def test_chunk_classifier_needs_both_parties():
    from transcribe.diarize import _held_out_log_odds

    x = np.random.default_rng(0).normal(size=(30, 4))
    path = np.zeros(30, int)
    path[:3] = 1
    assert _held_out_log_odds(x, path, np.ones(30)) is None


def test_chunk_embeddings_see_the_pitch_range():
    """A chunk whose pitch swings widely gets a larger pitch spread than a flat one, at the same
    median pitch (two voices that differ in intonation range, not in median)."""
    from transcribe.diarize import _chunk_embeddings

    n = 400
    feats = np.zeros((n, 3))
    t = np.arange(n)
    logf0 = np.log(250.0) + np.where(t < 200, 0.3, 0.05) * np.sin(t / 7.0)
    x = _chunk_embeddings(feats, logf0, [(0, 200), (200, 400)])
    pitch = x[:, -4:]  # mean square, std, 10-90 % range, mean of log f0 around the median
    assert pitch[0, 0] > 4 * pitch[1, 0]
    assert pitch[0, 2] > 3 * pitch[1, 2]


def test_turn_prior_question_sentence_comma_and_hold():
    """After a question the other party is likelier to speak than after a comma at the same
    pause; a long hold leaves the next party at even odds."""
    from transcribe.diarize import DiarizeOptions, _end_cue, _switch_logprob

    o = DiarizeOptions()
    gaps = np.array([0.6, 0.6, 0.6, 0.6, 10.0])
    cue = np.array([_end_cue(t, o) for t in ("吗？", "了。", "的，", "嗯", "稍等。")])
    log_sw, log_st = _switch_logprob(gaps, o, cue)
    p = np.exp(log_sw)
    assert p[0] > 0.5 > p[1] > p[3] > p[2]
    assert abs(p[4] - 0.5) < 1e-9
    assert np.allclose(np.exp(log_sw) + np.exp(log_st), 1.0)


def test_frame_features_memory_stays_small_on_a_long_call():
    """Issue 20: the features of a 3-hour recording took a worker to 22 GB (the whole call's
    frames in float64, ≈255 MB a minute). Blocks keep the working memory flat."""
    import tracemalloc

    from transcribe.diarize import frame_features
    rng = np.random.default_rng(0)
    x = (1e-3 * rng.standard_normal(30 * 60 * 8000)).astype(np.float32)  # 30 min, low noise
    t = np.arange(20 * 8000) / 8000  # and 20 s of a voiced sound, so that pitch is analysed
    x[60 * 8000:80 * 8000] += (0.2 * np.sin(2 * np.pi * 150 * t)
                               + 0.1 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    tracemalloc.start()
    try:
        mfcc, log_e, f0 = frame_features(x, 8000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = mfcc.nbytes + log_e.nbytes + f0.nbytes  # 120 bytes a frame: 20.6 MiB
    assert len(mfcc) == len(log_e) == len(f0) == (len(x) - 200) // 80 + 1
    assert peak - result < 48 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    voiced = f0[6000:8000]
    assert np.isfinite(voiced).mean() > 0.9 and abs(np.nanmedian(voiced) - 150) < 3
    assert np.isnan(f0[10000:]).all()


def test_frame_features_do_not_depend_on_the_block_size(mono_call, monkeypatch):
    import transcribe.diarize as diarize
    import transcribe.measure as measure
    audio, _ = mono_call
    x = audio.channels[0][:40 * audio.sample_rate]
    ref = diarize.frame_features(x, audio.sample_rate)
    monkeypatch.setattr(diarize, "_BLOCK", 37)
    monkeypatch.setattr(measure, "_F0_BLOCK", 11)
    small = diarize.frame_features(x, audio.sample_rate)
    np.testing.assert_allclose(small[0], ref[0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(small[1], ref[1])
    np.testing.assert_array_equal(small[2], ref[2])
    assert np.isfinite(ref[2]).sum() > 100
