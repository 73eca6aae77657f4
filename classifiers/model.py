"""The classifier: scikit-learn pipelines, training, persistence and the ``classify`` method.

Three calibrated pipelines make one :class:`HotlineClassifier`:

``call_type``
    both parties' words → call type. ``ColumnTransformer``: TF-IDF over the customer's jieba
    words (1–2 grams) and characters (1–3 grams, robust to recogniser errors), the same two
    blocks over the agent's words, scaled cue counts of the customer
    (:data:`classifiers.features.CUE_NAMES`) → ``CalibratedClassifierCV(LogisticRegression)``.
    The agent's block is there because what the agent does decides much of the type: sends a
    worker (repair), explains and answers (inquiry), apologises and promises an answer
    (complaint), thanks for an idea (suggestion). A call without an agent side (text-only
    examples, supervisor corrections, mono calls left ``unknown``) has an empty agent text;
    part of the corpus has none, so the customer's blocks carry such calls alone.
``complaint_text``
    the customer's blocks and cues only (the complaint type is the caller's attitude, not
    the agent's), trained on complaint examples → complaint type from words alone.
``complaint_voice``
    stacking: the text model's log-probabilities (out-of-fold during training) plus the voice
    features (:data:`classifiers.features.VOICE_NAMES`, imputed with missing indicators,
    scaled) → calibrated logistic regression, trained on the corpus calls that were rendered
    as audio and measured. Used when the transcript carries levels of both parties.

Why stacking rather than one model with missing-indicator voice columns: only a small part
of the corpus exists as audio, so a joint model would learn the voice weights from few rows
and the missing indicator would mostly encode "was rendered". The text model learns from
every example; the fusion model learns how much the voice should move the text's belief.
Text-only input gets the text model's calibrated probabilities, which are less confident
on average, as the issue requires (the voice sharpens them when it agrees).

Training is deterministic (fixed seeds, fixed fold splits): the same data hash gives the
same metrics. Persistence: ``skops.io`` (no pickle) plus ``metadata.json`` with library
versions, labels, training-data hash and cross-validated scores.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from classifiers import features as F
from classifiers.records import (CALL_TYPE_ZH, CALL_TYPES, COMPLAINT_TYPE_ZH, COMPLAINT_TYPES,
                                 Classification)
from transcribe.records import Transcript, TranscriptFormatError, Utterance

logger = logging.getLogger("hotline_qa.classifiers.model")

PACKAGE = Path(__file__).resolve().parent
CORPUS = PACKAGE / "corpus" / "corpus.jsonl"
VOICE_CALLS = PACKAGE / "corpus" / "voice_calls.jsonl"
MODEL_DIR = PACKAGE / "model"
MODEL_FILE = "classifier.skops"
META_FILE = "metadata.json"
SEED = 1102
FOLDS = 5
#: How many corpus examples one supervisor correction counts for.
EXTRA_WEIGHT = 5.0
#: Version of the model input (:func:`text_rows`): 2 = customer text, agent text, cues.
FEATURE_VERSION = 2



class ClassifierError(Exception):
    """The model cannot be built, loaded or used (message in Chinese and English)."""


# ------------------------------------------------------------------------------ examples
@dataclass
class Example:
    """One labelled call: its transcript, labels and training weight."""

    transcript: Transcript
    call_type: str
    complaint_type: str | None = None
    weight: float = 1.0
    key: str = ""
    source_key: str | None = None  # for rendered calls: the corpus example they speak
    #: False: a complaint by what the agent did, not by the caller's words; its complaint type
    #: is nominal, so it trains the call type only.
    for_complaint_type: bool = True

    def __post_init__(self) -> None:
        if self.call_type not in CALL_TYPES:
            raise ClassifierError(f"未知的来电类型 / unknown call type {self.call_type!r} "
                                  f"(expected one of {', '.join(CALL_TYPES)})")
        if self.call_type == "complaint" and self.complaint_type not in COMPLAINT_TYPES:
            raise ClassifierError(f"投诉来电缺少有效的投诉类型 / complaint example needs complaint_type "
                                  f"in {', '.join(COMPLAINT_TYPES)}, got {self.complaint_type!r}")
        if self.call_type != "complaint":
            self.complaint_type = None


def transcript_from_turns(turns: list[str], agent_turns: list[str] | None = None) -> Transcript:
    """A text-only transcript (no times, no voice): the agent's turns, when given, alternate
    with the customer's, the agent first (greeting); the longer side's rest comes last."""
    agent_turns = list(agent_turns or [])
    utts: list[Utterance] = []
    for i in range(max(len(turns), len(agent_turns))):
        if i < len(agent_turns):
            utts.append(Utterance("agent", 0.0, 0.0, agent_turns[i]))
        if i < len(turns):
            utts.append(Utterance("customer", 0.0, 0.0, turns[i]))
    return Transcript(utterances=utts)


def example_from_dict(d: dict[str, Any], weight: float = 1.0, key: str = "") -> Example:
    """An :class:`Example` from a dict: labels plus ``transcript`` (document or object),
    ``turns`` (customer texts, optionally with ``agent_turns``: the agent's texts) or ``text``
    (the customer's words).

    Raises:
        ClassifierError: the dict has no usable text or bad labels.
    """
    if not isinstance(d, dict):
        raise ClassifierError(f"训练样例必须是对象 / an example must be a dict, got {type(d).__name__}")
    t = d.get("transcript")
    try:
        if isinstance(t, Transcript):
            tr = t
        elif isinstance(t, dict):
            tr = Transcript.from_dict(t)
        elif isinstance(d.get("utterances"), list):
            tr = Transcript.from_dict(d)
        elif isinstance(d.get("turns"), list):
            agent = d.get("agent_turns") or []
            if not isinstance(agent, list):
                raise ClassifierError("agent_turns 必须是文字列表 / agent_turns must be a list of texts")
            tr = transcript_from_turns([str(x) for x in d["turns"]], [str(x) for x in agent])
        elif isinstance(d.get("text"), str):
            tr = transcript_from_turns([d["text"]])
        else:
            raise ClassifierError("训练样例没有文本 / example has no transcript, turns or text")
    except TranscriptFormatError as exc:
        raise ClassifierError(f"训练样例的转写格式有误 / bad transcript in example: {exc}") from exc
    labels = d.get("labels") or {}
    return Example(tr, d.get("call_type", labels.get("call_type")),
                   d.get("complaint_type", labels.get("complaint_type")),
                   weight=float(d.get("weight", weight)), key=key or str(d.get("id", "")),
                   source_key=d.get("source_id"), for_complaint_type=bool(d.get("for_complaint_type", True)))


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def load_corpus(path: Path = CORPUS) -> list[Example]:
    return [example_from_dict(d, key=d["id"]) for d in _read_jsonl(path)]


def load_voice_calls(path: Path = VOICE_CALLS) -> list[Example]:
    if not path.exists():
        return []
    return [example_from_dict(d, key=d["call_id"]) for d in _read_jsonl(path)]


# ------------------------------------------------------------------------------ pipelines
N_CUES = len(F.CUE_NAMES)
N_VOICE = len(F.VOICE_NAMES)


CUSTOMER_COL, AGENT_COL = 0, 1
CUE_COLS = list(range(2, 2 + N_CUES))


def text_rows(transcripts: Iterable[Transcript]) -> np.ndarray:
    """Model input of the text pipelines: column 0 the customer's text, column 1 the agent's
    text ("" when the call has no agent side), then the customer's cue counts."""
    rows = []
    for t in transcripts:
        cues = F.cue_features(t)
        rows.append([F.customer_text(t), F.agent_text(t)] + [cues[k] for k in F.CUE_NAMES])
    return np.array(rows, dtype=object).reshape(-1, 2 + N_CUES)


def _text_blocks(name: str, column: int) -> list[tuple]:
    return [
        (f"{name}words", TfidfVectorizer(tokenizer=F.tokenize, token_pattern=None, lowercase=False,
                                         ngram_range=(1, 2), min_df=2, max_features=12000,
                                         sublinear_tf=True), column),
        (f"{name}chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2,
                                         max_features=12000, sublinear_tf=True), column),
    ]


def voice_rows(text_logp: np.ndarray, transcripts: Iterable[Transcript]) -> np.ndarray:
    """Model input of the fusion pipeline: the text model's log-probabilities, then voice."""
    vf = [[F.voice_features(t)[k] for k in F.VOICE_NAMES] for t in transcripts]
    return np.hstack([text_logp, np.array(vf, dtype=float).reshape(-1, N_VOICE)])


def build_text_pipeline(seed: int = SEED, C: float = 4.0, agent: bool = False) -> Pipeline:
    """Words (and cues) → labels. ``agent``: also the agent's words (the call-type model);
    without it the agent column is dropped (the complaint-type model)."""
    blocks = _text_blocks("", CUSTOMER_COL)
    if agent:
        blocks += _text_blocks("agent_", AGENT_COL)
    feats = ColumnTransformer(blocks + [("cues", StandardScaler(), CUE_COLS)])
    lr = LogisticRegression(C=C, max_iter=3000, random_state=seed)
    return Pipeline([("features", feats),
                     ("clf", CalibratedClassifierCV(lr, cv=3, method="sigmoid", ensemble=False))])


def build_voice_pipeline(seed: int = SEED, C: float = 0.5) -> Pipeline:
    n_text = len(COMPLAINT_TYPES)
    feats = ColumnTransformer([
        ("text", StandardScaler(), list(range(n_text))),
        ("voice", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                            ("scale", StandardScaler())]),
         list(range(n_text, n_text + N_VOICE))),
    ])
    lr = LogisticRegression(C=C, max_iter=3000, random_state=seed)
    return Pipeline([("features", feats),
                     ("clf", CalibratedClassifierCV(lr, cv=3, method="sigmoid", ensemble=False))])


def _fit(pipe: Pipeline, X: np.ndarray, y: list[str], w: np.ndarray) -> Pipeline:
    """Fit with per-example weights times balanced class weights.

    The corpus's class proportions are a choice of its author, not the hotline's: balancing
    both the regression and its probability calibration gives every class the same prior.
    """
    labels, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
    cw = {lab: len(y) / (len(labels) * c) for lab, c in zip(labels, counts)}
    w = np.asarray(w, dtype=float) * np.array([cw[v] for v in y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        pipe.fit(X, y, clf__sample_weight=w)
    for _, step, _ in getattr(pipe.named_steps["features"], "transformers_", []):
        if hasattr(step, "stop_words_"):  # introspection only; large with max_features
            delattr(step, "stop_words_")
        if hasattr(step, "vocabulary_"):  # plain ints: skops stores numpy scalars one file each
            step.vocabulary_ = {k: int(v) for k, v in step.vocabulary_.items()}
    return pipe


def _logp(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(proba, 1e-4, 1.0))


def _align(proba: np.ndarray, classes: Iterable[str], labels: tuple[str, ...]) -> np.ndarray:
    cls = list(classes)
    out = np.full((proba.shape[0], len(labels)), 1e-4)
    for j, lab in enumerate(labels):
        if lab in cls:
            out[:, j] = proba[:, cls.index(lab)]
    return out / out.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------ classifier
@dataclass
class HotlineClassifier:
    """Call type and complaint type of a transcript (implements ``qa.classification.CallClassifier``)."""

    call_type_model: Pipeline
    complaint_text_model: Pipeline
    complaint_voice_model: Pipeline | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, transcripts: list[Transcript]) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """(call-type probabilities in CALL_TYPES order, complaint-type probabilities in
        COMPLAINT_TYPES order, whether voice was used) for many transcripts."""
        X = text_rows(transcripts)
        pc = _align(self.call_type_model.predict_proba(X), self.call_type_model.classes_, CALL_TYPES)
        pt = _align(self.complaint_text_model.predict_proba(X), self.complaint_text_model.classes_,
                    COMPLAINT_TYPES)
        pt_raw = pt
        voiced = [self.complaint_voice_model is not None and F.has_voice(t) for t in transcripts]
        temp = float(self.metadata.get("text_only_temperature", 1.0))
        if temp != 1.0:  # words alone: confidence as measured on held-out rendered calls
            q = np.exp(_logp(pt) / temp)
            pt = q / q.sum(axis=1, keepdims=True)
        idx = [i for i, v in enumerate(voiced) if v]
        if idx:
            Xv = voice_rows(_logp(pt_raw[idx]), [transcripts[i] for i in idx])
            pv = _align(self.complaint_voice_model.predict_proba(Xv),
                        self.complaint_voice_model.classes_, COMPLAINT_TYPES)
            pt = pt.copy()
            pt[idx] = pv
        return pc, pt, voiced

    def classify(self, transcript: Transcript) -> Classification:
        """Classify one call.

        Raises:
            ClassifierError: the transcript has no text at all.
        """
        if not any(u.text.strip() for u in transcript.utterances):
            raise ClassifierError("通话没有可分类的文字 / the transcript has no text to classify")
        pc, pt, voiced = self.predict_proba([transcript])
        ci = int(np.argmax(pc[0]))
        call_type = CALL_TYPES[ci]
        cprobs = {k: round(float(p), 4) for k, p in zip(CALL_TYPES, pc[0])}
        tprobs = {k: round(float(p), 4) for k, p in zip(COMPLAINT_TYPES, pt[0])}
        ctype = cconf = None
        if call_type == "complaint":
            ti = int(np.argmax(pt[0]))
            ctype, cconf = COMPLAINT_TYPES[ti], round(float(pt[0][ti]), 4)
        cues = [f"来电类型：{CALL_TYPE_ZH[call_type]}（{cprobs[call_type]:.0%}）"]
        cues += F.call_type_cues(transcript, call_type)
        if ctype:
            cues.append(f"投诉类型：{COMPLAINT_TYPE_ZH[ctype]}（{cconf:.0%}，"
                        f"{'依据文字和声音' if voiced[0] else '仅依据文字'}）")
            cues += F.explain(transcript, voiced[0])
        return Classification(
            call_type=call_type, call_type_confidence=round(float(pc[0][ci]), 4),
            complaint_type=ctype, complaint_confidence=cconf,
            call_type_probabilities=cprobs, complaint_probabilities=tprobs if ctype else {},
            cues=cues, source="text+voice" if voiced[0] else "text")


# ------------------------------------------------------------------------------ training
def data_hash(examples: list[Example], voice: list[Example]) -> str:
    h = hashlib.sha256()
    for group in (examples, voice):
        for e in group:
            h.update(json.dumps([e.transcript.to_dict(), e.call_type, e.complaint_type, e.weight,
                                 e.for_complaint_type], ensure_ascii=False, sort_keys=True).encode())
        h.update(b"|")
    return h.hexdigest()


def train(extra_examples: Iterable[dict | Example] | None = None, **kwargs: Any) -> HotlineClassifier:
    """Train the classifier (see :func:`_train` for the arguments).

    BLAS is held to one thread: the fits are small and sparse, and on a shared machine
    oversubscribed BLAS threads made them several times slower.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _train(extra_examples, **kwargs)


def _train(extra_examples: Iterable[dict | Example] | None = None, *, corpus: list[Example] | None = None,
          voice_calls: list[Example] | None = None, seed: int = SEED,
          cross_validate: bool = True) -> HotlineClassifier:
    """Train the three pipelines on the corpus, the rendered voice calls and ``extra_examples``.

    The call-type model learns from all three (the rendered calls carry both parties' words;
    in cross-validation each is held out with the corpus example it speaks); the complaint
    models as before. The agent's words are used when any training call has them.

    ``extra_examples``: supervisor corrections — dicts accepted by :func:`example_from_dict`
    (``call_type``, ``complaint_type`` and a ``transcript``/``turns``/``text``) or
    :class:`Example`; each counts :data:`EXTRA_WEIGHT` times a corpus example unless it
    carries its own ``weight``. An extra example with voice measurements also trains the
    fusion model.

    Returns the classifier with ``metadata`` (labels, data hash, cross-validated scores when
    ``cross_validate``). Deterministic for the same data and seed.

    Raises:
        ClassifierError: an example is malformed.
    """
    corpus = load_corpus() if corpus is None else corpus
    voice_calls = load_voice_calls() if voice_calls is None else voice_calls
    rendered = list(voice_calls)
    extras = [e if isinstance(e, Example) else example_from_dict(e, weight=EXTRA_WEIGHT, key=f"extra-{i}")
              for i, e in enumerate(extra_examples or [])]
    examples = corpus + extras
    voice_calls = voice_calls + [e for e in extras if e.call_type == "complaint" and e.for_complaint_type
                                 and F.has_voice(e.transcript)]
    X = text_rows([e.transcript for e in examples])
    y = [e.call_type for e in examples]
    w = np.array([e.weight for e in examples])
    # call type: the corpus, the corrections and the rendered calls (both parties' words)
    Xr = text_rows([v.transcript for v in rendered]) if rendered else np.empty((0, X.shape[1]), dtype=object)
    Xa = np.vstack([X, Xr])
    ya = y + [v.call_type for v in rendered]
    wa = np.concatenate([w, [v.weight for v in rendered]])
    use_agent = any(str(a).strip() for a in Xa[:, AGENT_COL])
    has_agent = np.array([bool(str(a).strip()) for a in X[:, AGENT_COL]])
    meta: dict[str, Any] = {"labels": {"call_type": list(CALL_TYPES), "complaint_type": list(COMPLAINT_TYPES)},
                            "data_hash": data_hash(examples, voice_calls), "seed": seed,
                            "examples": {"corpus": len(corpus), "extra": len(extras),
                                         "voice_calls": len(voice_calls),
                                         "with_agent_side": int(has_agent.sum())},
                            "features": {"version": FEATURE_VERSION,
                                         "columns": ["customer_text", "agent_text", *F.CUE_NAMES],
                                         "call_type": _block_names(use_agent),
                                         "complaint_text": _block_names(False)},
                            "cv": {}}
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)

    if cross_validate:
        # a rendered call is held out with the corpus example whose words it speaks
        fold_of = np.zeros(len(examples), dtype=int)
        for k, (_, te) in enumerate(folds.split(X, y)):
            fold_of[te] = k
        key_fold = {e.key: int(fold_of[i]) for i, e in enumerate(examples)}
        fa = np.concatenate([fold_of, [key_fold.get(v.source_key, j % FOLDS) for j, v in enumerate(rendered)]])
        n = len(examples)
        pred = np.empty(n, dtype=object)
        pred_cust = np.empty(n, dtype=object)  # the same calls with the agent's words removed
        for k in range(FOLDS):
            tr = np.flatnonzero(fa != k)
            te = np.flatnonzero(fa[:n] == k)
            m = _fit(build_text_pipeline(seed, agent=use_agent), Xa[tr], [ya[i] for i in tr], wa[tr])
            pred[te] = m.predict(X[te])
            Xc_only = X[te].copy()
            Xc_only[:, AGENT_COL] = ""
            pred_cust[te] = m.predict(Xc_only)
        meta["cv"]["call_type_accuracy"] = round(float(accuracy_score(y, list(pred))), 4)
        meta["cv"]["call_type_macro_f1"] = round(float(f1_score(y, list(pred), average="macro")), 4)
        meta["cv"]["call_type_accuracy_customer_only"] = round(float(accuracy_score(y, list(pred_cust))), 4)
        if has_agent.any() and (~has_agent).any():
            for name, sel in (("with_agent", has_agent), ("no_agent", ~has_agent)):
                meta["cv"][f"call_type_accuracy_{name}"] = round(float(accuracy_score(
                    [y[i] for i in np.flatnonzero(sel)], list(pred[sel]))), 4)
    call_model = _fit(build_text_pipeline(seed, agent=use_agent), Xa, ya, wa)

    # complaint type from words; out-of-fold text probabilities feed the fusion model
    ci = [i for i, e in enumerate(examples) if e.call_type == "complaint" and e.for_complaint_type]
    Xc, yc, wc = X[ci], [examples[i].complaint_type for i in ci], w[ci]
    keys = [examples[i].key for i in ci]
    Xvt = text_rows([v.transcript for v in voice_calls]) if voice_calls else None
    v_logp = np.zeros((len(voice_calls), len(COMPLAINT_TYPES)))
    oof = np.zeros((len(ci), len(COMPLAINT_TYPES)))
    need_folds = cross_validate or bool(voice_calls)
    if need_folds:
        for k, (tr, te) in enumerate(folds.split(Xc, yc)):
            m = _fit(build_text_pipeline(seed), Xc[tr], [yc[i] for i in tr], wc[tr])
            oof[te] = _align(m.predict_proba(Xc[te]), m.classes_, COMPLAINT_TYPES)
            held = {keys[i] for i in te}
            # a rendered call is scored by the fold model that never saw its source example;
            # calls with no source in the corpus by the first fold's model
            sel = [j for j, v in enumerate(voice_calls)
                   if v.source_key in held or (k == 0 and v.source_key not in set(keys))]
            if sel:
                v_logp[sel] = _logp(_align(m.predict_proba(Xvt[sel]), m.classes_, COMPLAINT_TYPES))
        pred_c = [COMPLAINT_TYPES[i] for i in oof.argmax(axis=1)]
        meta["cv"]["complaint_text_macro_f1"] = round(float(f1_score(yc, pred_c, average="macro")), 4)
        meta["cv"]["complaint_text_accuracy"] = round(float(accuracy_score(yc, pred_c)), 4)
    text_model = _fit(build_text_pipeline(seed), Xc, yc, wc)

    voice_model = None
    if voice_calls:
        Xv = voice_rows(v_logp, [v.transcript for v in voice_calls])
        yv = [v.complaint_type for v in voice_calls]
        wv = np.array([v.weight for v in voice_calls])
        if cross_validate:
            vf = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
            pv = np.empty(len(yv), dtype=object)
            pt_only = [COMPLAINT_TYPES[i] for i in v_logp.argmax(axis=1)]
            for tr, te in vf.split(Xv, yv):
                m = _fit(build_voice_pipeline(seed), Xv[tr], [yv[i] for i in tr], wv[tr])
                pv[te] = m.predict(Xv[te])
            meta["cv"]["voice_calls_text_only_macro_f1"] = round(float(f1_score(yv, pt_only, average="macro")), 4)
            meta["cv"]["voice_calls_text_voice_macro_f1"] = round(float(f1_score(yv, list(pv), average="macro")), 4)
        voice_model = _fit(build_voice_pipeline(seed), Xv, yv, wv)
        meta["text_only_temperature"] = fit_temperature(v_logp, yv)
    return HotlineClassifier(call_model, text_model, voice_model, meta)


def _block_names(agent: bool) -> list[str]:
    """The feature blocks of a text pipeline, as written into the metadata."""
    names = ["customer_words", "customer_chars"]
    if agent:
        names += ["agent_words", "agent_chars"]
    return names + ["customer_cues"]


def fit_temperature(logp: np.ndarray, y: list[str]) -> float:
    """The temperature that best calibrates held-out text log-probabilities (grid, NLL).

    The text model is calibrated on corpus folds, where words are unusually clear; the
    rendered calls (held out from the text model) include calls whose words alone are
    ambiguous, so their temperature gives text-only input an honest, lower confidence.
    """
    yi = np.array([COMPLAINT_TYPES.index(v) for v in y])
    best, best_t = math.inf, 1.0
    for t in np.round(np.arange(1.0, 6.01, 0.25), 2):
        z = logp / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(-np.mean(z[np.arange(len(yi)), yi] - np.log(np.exp(z).sum(axis=1))))
        if nll < best - 1e-9:
            best, best_t = nll, float(t)
    return best_t


# ------------------------------------------------------------------------------ persistence
def _versions(packages: tuple[str, ...] = ("scikit-learn", "skops", "numpy", "scipy", "jieba")
              ) -> dict[str, str]:
    """Python's and ``packages``' versions, for a model's metadata (also the act model's)."""
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except Exception:  # pragma: no cover - a missing optional package
            out[pkg] = "unknown"
    return out


def save(clf: HotlineClassifier, directory: Path = MODEL_DIR) -> Path:
    """Write ``classifier.skops`` and ``metadata.json`` into ``directory``; returns the directory."""
    import skops.io as sio

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    obj = {"call_type": clf.call_type_model, "complaint_text": clf.complaint_text_model,
           "complaint_voice": clf.complaint_voice_model}
    sio.dump(obj, directory / MODEL_FILE, compression=8)  # zipfile.ZIP_DEFLATED
    meta = {**clf.metadata, "versions": _versions(), "model_file": MODEL_FILE}
    (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return directory


_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
_TRUSTED_NAMES = {"classifiers.features.tokenize"}


def load(directory: Path = MODEL_DIR) -> HotlineClassifier:
    """Load a saved classifier; warns when it was trained with other library versions.

    Raises:
        ClassifierError: files missing or unreadable, or the file holds a type we do not trust.
    """
    import skops.io as sio

    directory = Path(directory)
    path, meta_path = directory / MODEL_FILE, directory / META_FILE
    if not path.exists() or not meta_path.exists():
        raise ClassifierError(f"找不到分类模型 / no classifier model in {directory} "
                              f"(expected {MODEL_FILE} and {META_FILE}); run: hotline-qa train")
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        untrusted = sio.get_untrusted_types(file=path)
        bad = [t for t in untrusted if not (t.startswith(_TRUSTED_PREFIXES) or t in _TRUSTED_NAMES)]
        if bad:
            raise ClassifierError(f"模型文件含有不可信的类型 / model file holds untrusted types: {bad}")
        obj = sio.load(path, trusted=untrusted)
    except ClassifierError:
        raise
    except Exception as exc:
        raise ClassifierError(f"分类模型无法读取 / cannot read classifier model {path}: {exc}") from exc
    if meta.get("features", {}).get("version") != FEATURE_VERSION:
        raise ClassifierError(f"分类模型的输入格式已过时，请重新训练 / the model in {directory} was trained "
                              f"with another feature layout (need version {FEATURE_VERSION}); "
                              f"run: hotline-qa train")
    now = _versions()
    for pkg in ("scikit-learn", "skops", "numpy"):
        if meta.get("versions", {}).get(pkg) not in (None, now.get(pkg)):
            warnings.warn(f"classifier model was trained with {pkg} {meta['versions'][pkg]}, "
                          f"running {now.get(pkg)}; retrain with: hotline-qa train", UserWarning, stacklevel=2)
    return HotlineClassifier(obj["call_type"], obj["complaint_text"], obj.get("complaint_voice"), meta)


@lru_cache(maxsize=1)
def load_default() -> HotlineClassifier:
    """The shipped classifier (``classifiers/model/``), loaded once per process."""
    return load(MODEL_DIR)


def metrics(y_true: list, y_pred: list, average: str = "macro") -> dict[str, float]:
    """Accuracy and macro-F1 (NaN-free helper for benchmarks)."""
    if not y_true:
        return {"n": 0, "accuracy": math.nan, "macro_f1": math.nan}
    return {"n": len(y_true), "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, average=average)), 4)}
