"""Helpers of the rule-store and rule CLI tests: rule documents stored as the rule studio
stores them, and truth calls analysed and stored as the workers store them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from models import Call, RuleDocument, RuleVersion
from qa.custom_rules import parse_document
from qa.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
SLOW_PHRASE = "稍等"  # the agent of pub-007 never says it


def custom(code: str, phrase: str, *, weight: float = 6, red_line: bool = False,
           applies: str | None = None) -> str:
    text = f"code: {code}\nname: 规则{code}\nweight: {weight}\nred_line: {str(red_line).lower()}\n"
    if applies:
        text += f"applies_when:\n  phrase: {{phrases: [{applies}], speaker: customer}}\n"
    return text + f"passes_when:\n  phrase: {{phrases: [{phrase}], speaker: agent, match: exact}}\n"


def save(s, yaml_text: str, *, active: bool = True) -> RuleVersion:
    """Store a version the way the rule studio does (validated first), optionally active."""
    doc = parse_document(yaml_text)
    row = s.get(RuleDocument, doc.code)
    if row is None:
        row = RuleDocument(code=doc.code, kind=doc.kind)
        s.add(row)
        s.flush()
    number = len(s.scalars(select(RuleVersion).where(RuleVersion.code == doc.code)).all()) + 1
    v = RuleVersion(code=doc.code, version=number, yaml_text=yaml_text,
                    sha256=hashlib.sha256(yaml_text.encode()).hexdigest(), name=doc.name,
                    red_line=doc.red_line, weight=doc.weight)
    s.add(v)
    if active:
        row.active_version = number
    s.flush()
    return v


def truth(call_id: str) -> dict:
    return json.loads((DATA / "truth" / f"{call_id}.truth.json").read_text(encoding="utf-8"))


def seed_call(s, call_id: str, settings: Settings) -> Call:
    """A call analysed with the built-in rules and stored as the workers store it."""
    from classifiers.records import Classification
    from qa.engine import analyze
    from qa.results import store_report
    t = truth(call_id)
    lab = t["labels"]
    doc = {k: t[k] for k in ("call_id", "duration", "metadata", "utterances")}
    report = analyze(doc, classification=Classification(
        lab["call_type"], 1.0, lab.get("complaint_type"),
        1.0 if lab.get("complaint_type") else None))
    call = Call(id=call_id, content_sha256=hashlib.sha256(call_id.encode()).hexdigest(),
                source_path=f"/in/{call_id}.json", filename=f"{call_id}.json",
                media_type="transcript", meta=t["metadata"], status="processing")
    s.add(call)
    s.flush()
    store_report(s, call, report, {}, settings=settings)
    return call


def uphold_fails(s, code: str) -> set[str]:
    """A supervisor upholds every stored fail of ``code``: the calls whose fail is a true one."""
    from models import Finding
    fails = s.scalars(select(Finding).where(Finding.code == code,
                                            Finding.status == "fail")).all()
    for f in fails:
        f.review_state = "upheld"
    return {f.call_id for f in fails}
