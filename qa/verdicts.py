"""Supervisors' verdicts as training lines for the dialogue-act model.

A fail that a supervisor upheld or overturned says whether the agent's words performed the
act the finding rests on: an upheld PO03 fail on "您是不出门还是不识字啊？" is a line of
``rudeness``; an overturned one is a line without it. Only findings whose evidence names the
words are used: those that rest on an act (``extra["acts"]``) and the violation rules'
phrase fails (their evidence is the agent's words). A requirement rule's fail ("no empathy
anywhere") names no utterance and teaches nothing about one, so it is left out.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.acts import ACTS, CODE_ACTS
from models import Finding, Review

# The violation rules: their fail evidence is the utterance that shows the act.
VIOLATION_ACTS = {"PO03": "rudeness", "PO04": "shirking", "PO05": "gossip",
                  "PO06": "disclosure", "CP02": "flat_refusal", "LI03": "repeat_bare"}


def examples_from_finding(code: str, extra: dict[str, Any] | None, evidence: Iterable[dict],
                          upheld: bool) -> list[dict[str, Any]]:
    """The act lines one reviewed fail gives (``{"act", "present", "text", "speaker"}``)."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for note in (extra or {}).get("acts") or []:
        act, text = note.get("act"), (note.get("text") or "").strip()
        if act in ACTS and text and (act, text) not in seen:
            seen.add((act, text))
            out.append({"act": act, "present": upheld, "text": text,
                        "speaker": ACTS[act][0], "code": code})
    act = VIOLATION_ACTS.get(code)
    if act and act in CODE_ACTS.get(code, ()) and not out:
        for e in evidence or []:
            text = (e.get("text") or "").strip()
            if e.get("speaker") == "agent" and len(text) >= 2 and (act, text) not in seen:
                seen.add((act, text))
                out.append({"act": act, "present": upheld, "text": text,
                            "speaker": "agent", "code": code})
    return out


def verdict_examples(session: Session) -> list[dict[str, Any]]:
    """Every act line the stored reviews give, the latest decision per finding."""
    rows = session.execute(
        select(Finding.id, Finding.code, Finding.extra, Finding.evidence, Review.decision,
               Review.created_at)
        .join(Review, Review.finding_id == Finding.id)
        .where(Finding.status == "fail", Review.decision.in_(("upheld", "overturned")))
        .order_by(Finding.id, Review.created_at, Review.id)).all()
    latest: dict[int, tuple] = {}
    for r in rows:
        latest[r.id] = r  # ordered by time: the last one wins
    out: list[dict[str, Any]] = []
    for r in latest.values():
        out += examples_from_finding(r.code, r.extra, r.evidence or [],
                                     r.decision == "upheld")
    return out
