"""The rule base class and the context a rule sees (modelled on sqlfluff's rule classes).

A rule is a class with ``code``, ``name``, ``family``, a docstring with 正例/反例 (its user
documentation), and ``config_keywords``: the configuration keys it reads, whose defaults live
in ``qa/config/rules.yaml``. ``evaluate(ctx)`` returns one :class:`~qa.records.Finding`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from classifiers.records import Classification
from qa.acts import ActSource, default_tagger
from qa.matching import Match, Matcher
from qa.records import Evidence, Finding, Transcript, Utterance


@dataclass
class RuleContext:
    """Everything a rule may look at for one call.

    ``classification`` is the call's :class:`Classification` (``None`` when no classifier
    ran: complaint-dependent decisions that need the type are then ``n/a``).
    ``matcher`` finds configured phrases in utterances (rules hold their own settings).
    ``tagger`` gives each utterance its dialogue acts with probabilities (``None``: no act
    model, rules decide on their phrase lists alone).
    """

    transcript: Transcript
    classification: Classification | None = None
    matcher: Matcher = field(default_factory=Matcher)
    tagger: ActSource | None = field(default_factory=default_tagger)

    # ---- dialogue acts -------------------------------------------------------------------
    @cached_property
    def _acts(self) -> dict[int, dict[str, float]]:
        utts = self.transcript.utterances
        if self.tagger is None or not utts:
            return {}
        return {id(u): p for u, p in zip(utts, self.tagger.tag(self.transcript))}

    @property
    def has_acts(self) -> bool:
        return self.tagger is not None

    def act(self, u: Utterance, name: str) -> float:
        """The probability that ``u`` performs act ``name`` (0 without an act model)."""
        return self._acts.get(id(u), {}).get(name, 0.0)

    def acts_of(self, u: Utterance) -> dict[str, float]:
        return dict(self._acts.get(id(u), {}))

    def with_act(self, utts: list[Utterance], name: str,
                 threshold: float = 0.5) -> list[tuple[Utterance, float]]:
        """The utterances of ``utts`` whose probability of ``name`` is at least
        ``threshold``, most probable first."""
        hits = [(u, self.act(u, name)) for u in utts]
        return sorted([h for h in hits if h[1] >= threshold], key=lambda h: -h[1])

    def best_act(self, utts: list[Utterance], name: str) -> tuple[Utterance | None, float]:
        """The utterance of ``utts`` most likely to perform ``name``, and that probability."""
        best: tuple[Utterance | None, float] = (None, 0.0)
        for u in utts:
            p = self.act(u, name)
            if p > best[1]:
                best = (u, p)
        return best

    def act_note(self, u: Utterance, name: str, nearest: int = 2) -> dict[str, Any]:
        """Why a decision rests on an act: the utterance, the act, its probability and the
        nearest training lines (for the call page and the report)."""
        out: dict[str, Any] = {"act": name, "probability": round(self.act(u, name), 3),
                               "speaker": u.speaker, "start": round(u.start, 2),
                               "text": u.text}
        near = getattr(self.tagger, "nearest", None)
        if nearest and callable(near):
            try:
                out["nearest"] = near(u.text, name, nearest)
            except Exception:  # noqa: BLE001 - an explanation never breaks a verdict
                pass
        return out

    @property
    def metadata(self) -> dict[str, Any]:
        return self.transcript.metadata

    @cached_property
    def agent(self) -> list[Utterance]:
        return self.transcript.by("agent")

    @cached_property
    def customer(self) -> list[Utterance]:
        return self.transcript.by("customer")

    @cached_property
    def has_unknown(self) -> bool:
        return self.transcript.has_unknown_speakers

    @property
    def call_type(self) -> str | None:
        return self.classification.call_type if self.classification else None

    @property
    def complaint_type(self) -> str | None:
        return self.classification.complaint_type if self.classification else None

    @property
    def is_complaint(self) -> bool | None:
        """True/False when the call type is known, ``None`` when no classification."""
        return None if self.classification is None else self.call_type == "complaint"

    def meta_float(self, key: str) -> float | None:
        """A numeric metadata value, or ``None`` when absent or not a number."""
        v = self.metadata.get(key)
        if isinstance(v, bool):
            return None
        try:
            return None if v is None else float(v)
        except (TypeError, ValueError):
            return None

    def find(self, utts: list[Utterance], phrases, **kw) -> list[Match]:
        """All matches of ``phrases`` in ``utts`` (see :meth:`Matcher.find`)."""
        out: list[Match] = []
        for u in utts:
            out.extend(self.matcher.find(u, phrases, **kw))
        return out

    def opening(self, window: float) -> list[Utterance]:
        """The agent's opening turn: agent utterances within ``window`` seconds of the agent's
        first words and before the customer's first real reply (>= 1.5 s) after them."""
        if not self.agent:
            return []
        t0 = self.agent[0].start
        reply = next((u.start for u in self.customer
                      if u.start > t0 and u.duration >= 1.5), float("inf"))
        out = [u for u in self.agent if u.start <= t0 + window and u.start < reply]
        return out or [self.agent[0]]

    @cached_property
    def from_asr(self) -> bool:
        """Whether the transcript came from a recogniser (word probabilities, confidences
        or diagnostics present) rather than a perfect transcript."""
        t = self.transcript
        return t.diagnostics is not None or any(
            u.confidence is not None or (u.words and any(w.probability is not None
                                                         for w in u.words))
            for u in t.utterances)

    def absence_confidence(self, utts: list[Utterance], base: float = 0.9) -> float:
        """Confidence of a decision made because a phrase was *not* found in ``utts``:
        lower when the recogniser was unsure of those words."""
        confs = [u.confidence for u in utts if u.confidence is not None]
        if not confs:
            return base
        return base * (0.6 + 0.4 * (sum(confs) / len(confs)))

    def first(self, utts: list[Utterance], phrases, **kw) -> Match | None:
        for u in utts:
            m = self.matcher.first(u, phrases, **kw)
            if m is not None:
                return m
        return None


def best_act_hit(ctx: RuleContext, utts: list[Utterance], act: str,
               threshold: float) -> "ActHit | None":
    """The most probable utterance of ``utts`` performing ``act`` (at least ``threshold``),
    shaped like a phrase match (``text``, ``confidence``, ``evidence()``)."""
    u, p = ctx.best_act(utts, act)
    return ActHit(ctx, u, act, p) if u is not None and p >= threshold else None


class ActHit:
    """A decision that rests on a dialogue act of one utterance (see :func:`best_act_hit`)."""

    def __init__(self, ctx: RuleContext, u: Utterance, act: str, p: float) -> None:
        self.utterance, self.act, self.confidence = u, act, p
        self.text = u.text
        self._ctx = ctx

    def evidence(self) -> Evidence:
        return Evidence.from_utterance(self.utterance)

    def note(self) -> dict:
        return self._ctx.act_note(self.utterance, self.act)


def act_hits(ctx: RuleContext, utts: list[Utterance], act: str,
             threshold: float) -> list[ActHit]:
    """Every utterance of ``utts`` performing ``act`` with at least ``threshold``."""
    return [ActHit(ctx, u, act, p) for u, p in ctx.with_act(utts, act, threshold)]


def with_act_notes(finding: Finding, hits) -> Finding:
    """Attach the act, its probability and the nearest training lines to ``finding``."""
    notes = [h.note() for h in hits if isinstance(h, ActHit)]
    if notes:
        finding.extra["acts"] = notes[:3]
    return finding


class Rule:
    """Base class of every rule. Subclasses set the class attributes and ``evaluate``."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    red_line: ClassVar[bool] = False
    # Whether the rule needs to know who spoke (n/a on unknown speakers).
    speaker_dependent: ClassVar[bool] = True
    config_keywords: ClassVar[tuple[str, ...]] = ()
    # Message (Chinese) used for a fail when evaluate() gives none.
    fail_message: ClassVar[str] = ""

    def __init__(self, **config: Any) -> None:
        missing = [k for k in self.config_keywords if k not in config]
        unknown = [k for k in config if k not in self.config_keywords]
        if missing or unknown:
            raise ValueError(f"{self.code}: missing config {missing}, unknown config {unknown}")
        self.config = config
        for k, v in config.items():
            setattr(self, k, v)

    # ---- documentation -------------------------------------------------------------------
    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().splitlines()[0] if cls.__doc__ else cls.name

    # ---- evaluation ----------------------------------------------------------------------
    def run(self, ctx: RuleContext) -> Finding:
        """Evaluate the rule, handling unknown speakers: speaker-dependent rules give n/a."""
        if self.speaker_dependent and ctx.has_unknown:
            return self.na("说话人未区分（单声道未分离），本条依赖说话人，无法判断 / "
                           "speakers unknown")
        return self.evaluate(ctx)

    def evaluate(self, ctx: RuleContext) -> Finding:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- results -------------------------------------------------------------------------
    def passed(self, confidence: float = 0.9, evidence: list[Evidence] | None = None,
               note: str | None = None) -> Finding:
        extra = {"note": note} if note else {}
        return Finding(self.code, "pass", _clip(confidence), None, list(evidence or []),
                       extra=extra)

    def failed(self, evidence: list[Evidence] | None = None, confidence: float = 0.9,
               message: str | None = None) -> Finding:
        return Finding(self.code, "fail", _clip(confidence), message or self.fail_message,
                       list(evidence or []))

    def na(self, note: str | None = None, confidence: float = 0.9) -> Finding:
        extra = {"note": note} if note else {}
        return Finding(self.code, "n/a", _clip(confidence), None, [], extra=extra)


def _clip(x: float) -> float:
    return max(0.0, min(1.0, float(x)))
