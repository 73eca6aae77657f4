"""The scoring form (评分表) and the scorer.

A form is a YAML file: ``weights`` (deduction per rule code on a fail; every catalogue code
must be listed, custom codes X001 … may be), ``red_lines`` (codes whose confirmed fail makes the month C; optional: a form
that names none takes the rules marked ``red_line`` in the catalogue,
:func:`qa.rules.red_line_codes`, as the shipped form does; a list, even an empty one,
replaces them), ``review_confidence`` (fails under it go to review and deduct nothing), ``grades``
(A and B thresholds of the month's average score) and, optionally,
``broken_promise_red_line`` (default false: a broken dated promise, 言而无信, is a red-line
alert too). :func:`load_form` validates it and raises
:class:`FormError` naming the exact problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping

import yaml

from qa.records import Finding

DEFAULT_FORM_PATH = Path(__file__).resolve().parent / "config" / "form.yaml"
_KEYS = {"name", "version", "review_confidence", "grades", "red_lines", "weights",
         "broken_promise_red_line"}


class FormError(ValueError):
    """A scoring form is improper (the message names the exact problem)."""


@dataclass(frozen=True)
class ScoringForm:
    """A validated scoring form."""

    weights: Mapping[str, float]
    red_lines: frozenset[str]
    review_confidence: float = 0.7
    grade_a: float = 90.0
    grade_b: float = 75.0
    name: str = "default"
    version: Any = 1
    source: str | None = field(default=None, compare=False)
    #: a broken dated promise (言而无信, qa.cases) is a red-line alert too (qa.alerts); it
    #: changes no score: the promise breaks long after the call was scored
    broken_promise_red_line: bool = False

    def grade(self, average: float, red_line: bool = False) -> str:
        """The month's grade: C on a confirmed red line, else by the average score."""
        if red_line:
            return "C"
        if average >= self.grade_a:
            return "A"
        if average >= self.grade_b:
            return "B"
        return "C"

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "version": self.version,
               "review_confidence": self.review_confidence,
               "grades": {"A": self.grade_a, "B": self.grade_b},
               "red_lines": sorted(self.red_lines), "weights": dict(self.weights)}
        if self.broken_promise_red_line:
            out["broken_promise_red_line"] = True
        return out


def _number(where: str, v: Any, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FormError(f"{where}: must be a number, got {v!r}")
    if not lo <= v <= hi:
        raise FormError(f"{where}: must be between {lo:g} and {hi:g}, got {v!r}")
    return float(v)


def parse_form(data: Any, source: str = "form", codes: Iterable[str] | None = None
               ) -> ScoringForm:
    """Validate a form given as a mapping. Raises :class:`FormError`."""
    from qa.rules import red_line_codes, rule_classes
    if codes is None:
        codes = [r.code for r in rule_classes()]
    codes = list(codes)
    if not isinstance(data, Mapping):
        raise FormError(f"{source}: must be a mapping with 'weights', 'red_lines', "
                        f"'review_confidence' and 'grades'")
    unknown = set(data) - _KEYS
    if unknown:
        raise FormError(f"{source}: unknown key '{sorted(unknown)[0]}' "
                        f"(known: {', '.join(sorted(_KEYS))})")
    for key in ("weights", "review_confidence", "grades"):
        if key not in data:
            raise FormError(f"{source}: missing '{key}'")
    weights = data["weights"]
    if not isinstance(weights, Mapping):
        raise FormError(f"{source}: 'weights' must be a mapping of rule code to deduction")
    from qa.custom_rules import CUSTOM_CODE
    for code in weights:
        if code not in codes and not CUSTOM_CODE.match(str(code)):
            raise FormError(f"{source}: weights.{code}: unknown rule code")
    missing = [c for c in codes if c not in weights]
    if missing:
        raise FormError(f"{source}: weights: missing rule code(s) {', '.join(missing)}")
    # custom codes (X001 …, rule documents) are optional: unnamed ones take their document's
    # default weight
    w = {c: _number(f"{source}: weights.{c}", weights[c], 0, 100)
         for c in [*codes, *sorted(set(weights) - set(codes))]}
    # absent: the rule classes' red lines (one list); present: the form's, which may add or
    # remove red lines
    red = data.get("red_lines", sorted(c for c in red_line_codes() if c in codes))
    if not isinstance(red, list):
        raise FormError(f"{source}: 'red_lines' must be a list of rule codes")
    for c in red:
        if c not in codes and not CUSTOM_CODE.match(str(c)):
            raise FormError(f"{source}: red_lines: unknown rule code {c!r}")
    thr = _number(f"{source}: review_confidence", data["review_confidence"], 0, 1)
    grades = data["grades"]
    if not isinstance(grades, Mapping) or set(grades) != {"A", "B"}:
        raise FormError(f"{source}: 'grades' must have exactly the thresholds A and B")
    a = _number(f"{source}: grades.A", grades["A"], 0, 100)
    b = _number(f"{source}: grades.B", grades["B"], 0, 100)
    if not a > b:
        raise FormError(f"{source}: grades.A ({a:g}) must be above grades.B ({b:g})")
    bp = data.get("broken_promise_red_line", False)
    if not isinstance(bp, bool):
        raise FormError(f"{source}: 'broken_promise_red_line' must be true or false")
    return ScoringForm(weights=w, red_lines=frozenset(red), review_confidence=thr,
                       grade_a=a, grade_b=b, name=str(data.get("name", "form")),
                       version=data.get("version", 1), source=source,
                       broken_promise_red_line=bp)


@lru_cache(maxsize=8)
def _load_path(path: str) -> ScoringForm:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FormError(f"{p}: scoring form not found") from exc
    except yaml.YAMLError as exc:
        raise FormError(f"{p}: not valid YAML: {exc}") from exc
    return parse_form(data, str(p))


def load_form(path: str | Path | Mapping | ScoringForm | None = None) -> ScoringForm:
    """Load and validate a scoring form (default: the one shipped in ``qa/config``).

    Accepts a path, a mapping, or an already loaded form. Raises :class:`FormError`.
    """
    if isinstance(path, ScoringForm):
        return path
    if isinstance(path, Mapping):
        return parse_form(path)
    if path is None:
        return _default_form()
    return _load_path(str(Path(path or DEFAULT_FORM_PATH).resolve()))


@lru_cache(maxsize=1)
def _default_form() -> ScoringForm:
    return _load_path(str(DEFAULT_FORM_PATH))


@dataclass
class Score:
    score: float
    red_line: bool
    needs_review: list[str]
    breakdown: dict[str, float]


def score_findings(findings: list[Finding], form: ScoringForm,
                   hold: Collection[str] = ()) -> Score:
    """Set each finding's ``deduction``/``needs_review`` and compute the call's score.

    A fail at or above the form's ``review_confidence`` deducts its weight; a fail under it
    is ``needs_review`` and deducts nothing. A fail of a code in ``hold`` (e.g. rules that
    depend on who spoke, when the speaker separation is uncertain) is ``needs_review`` and
    deducts nothing whatever its confidence, until a supervisor confirms it. ``red_line`` is
    true when a red-line code fails with enough confidence to deduct.
    """
    total, red, review, breakdown = 0.0, False, [], {}
    for f in findings:
        f.deduction = 0
        f.needs_review = False
        if f.status != "fail":
            continue
        weight = form.weights.get(f.code, 0.0)
        if f.confidence < form.review_confidence or f.code in hold:
            f.needs_review = True
            review.append(f.code)
            continue
        f.deduction = int(weight) if float(weight).is_integer() else weight
        total += weight
        breakdown[f.code] = weight
        if f.code in form.red_lines:
            red = True
    return Score(max(0.0, 100.0 - total), red, review, breakdown)
