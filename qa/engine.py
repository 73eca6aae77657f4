"""``analyze``: one transcript → the report of one call (rules + classification + score).

>>> from qa.engine import analyze
>>> report = analyze(transcript)              # default classifier, form and configuration
>>> report.to_dict()["rules"][0]["code"]
'GR01'
"""
from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from classifiers.records import Classification
from qa.acts import ActSource, default_tagger
from qa.classification import CallClassifier
from qa.configuration import ConfigError, load_config
from qa.matching import Matcher
from qa.records import Finding, Report, Transcript
from qa.rules import Rule, RuleContext, rule_classes
from qa.scoring import ScoringForm, load_form, score_findings

if TYPE_CHECKING:
    from qa.custom_rules import RuleSet

log = logging.getLogger("hotline_qa.engine")

__all__ = ["analyze", "build_rules", "default_classifier", "rules_of_set", "run_rules",
           "speaker_review_reasons"]

_lock = threading.Lock()
_default_classifier: Any = None
_default_loaded = False


def default_classifier() -> CallClassifier | None:
    """The shipped classifier (``classifiers.load_default()``), loaded once per process;
    ``None`` (logged once) when it is unavailable."""
    global _default_classifier, _default_loaded
    with _lock:
        if not _default_loaded:
            _default_loaded = True
            try:
                import classifiers
                _default_classifier = classifiers.load_default()
            except Exception as exc:  # noqa: BLE001 - any failure means "no classifier"
                log.warning("classifier unavailable, complaint rules need the call type: %s",
                            exc)
                _default_classifier = None
        return _default_classifier


@lru_cache(maxsize=16)
def _rules_for(key: str | None) -> tuple[Rule, ...]:
    return tuple(cls(**_CONFIGS[key][cls.code]) for cls in rule_classes())


_CONFIGS: dict[str | None, dict] = {}


def build_rules(config: Mapping | str | Path | None = None) -> tuple[Rule, ...]:
    """Instantiate every rule with the validated configuration (cached for paths/default).

    ``config``: overrides of ``qa/config/rules.yaml`` (mapping or YAML path).
    Raises :class:`~qa.configuration.ConfigError`.
    """
    if config is None or isinstance(config, (str, Path)):
        key = None if config is None else str(Path(config).resolve())
        if key not in _CONFIGS:
            _CONFIGS[key] = load_config(config)
        return _rules_for(key)
    cfg = load_config(config)
    return tuple(cls(**cfg[cls.code]) for cls in rule_classes())


_SET_RULES: dict[tuple[str, str | None], tuple[Rule, ...]] = {}


def rules_of_set(rule_set: "RuleSet", config: Mapping | str | Path | None = None
                 ) -> tuple[Rule, ...]:
    """The built-in rules with ``rule_set``'s overrides over ``config``, then its custom
    rules (cached per rule set and configuration path)."""
    over = rule_set.config()
    if over is not None and isinstance(config, Mapping):
        merged = {**config, "rules": {**(config.get("rules") or {}), **over["rules"]}}
        return build_rules(merged) + rule_set.custom_rules
    if over is not None and config is not None:
        raise ConfigError("a configuration file and rule-document overrides cannot be "
                          "combined; give the configuration as a mapping")
    if isinstance(config, Mapping):
        return build_rules(config) + rule_set.custom_rules
    key = (rule_set.key, None if config is None else str(Path(config).resolve()))
    with _lock:
        hit = _SET_RULES.get(key)
    if hit is None:
        hit = (build_rules(over) if over is not None else build_rules(config)) \
            + rule_set.custom_rules
        with _lock:
            if len(_SET_RULES) > 16:
                _SET_RULES.clear()
            _SET_RULES[key] = hit
    return hit


def run_rules(ctx: RuleContext, rules: tuple[Rule, ...]) -> list[Finding]:
    """Each rule's finding, in catalogue order. A rule that crashes gives ``n/a`` with a
    note (logged), never a guess."""
    out = []
    for rule in rules:
        try:
            f = rule.run(ctx)
        except Exception as exc:  # noqa: BLE001
            log.exception("rule %s failed on call %s", rule.code, ctx.transcript.call_id)
            f = Finding(rule.code, "n/a", 0.0, extra={"note": f"规则执行出错 / rule error: {exc}"})
        out.append(f)
    return out


def analyze(transcript: Transcript | Mapping, *, classifier: CallClassifier | None | bool = None,
            classification: Classification | None = None,
            form: ScoringForm | str | Path | Mapping | None = None,
            config: Mapping | str | Path | None = None,
            tagger: ActSource | None | bool = None,
            rule_set: "RuleSet | None" = None) -> Report:
    """Check one call: run the 28 rules (and the active custom rules), classify, score.

    ``transcript``: a :class:`Transcript` or a RULES.md transcript document (dict).
    ``classification``: use this call type instead of classifying; else ``classifier``
    (any :class:`CallClassifier`), else the shipped default; ``classifier=False`` means no
    classification (complaint-type decisions then give ``n/a`` with a note).
    ``form``: scoring form (path/mapping/loaded), default the shipped form.
    ``config``: rule configuration overrides (path/mapping).
    ``tagger``: the dialogue-act model the rules read (default: the shipped one,
    :func:`qa.acts.default_tagger`); ``tagger=False``: phrase lists only.

    Raises :class:`~qa.records.TranscriptFormatError` for a malformed transcript,
    :class:`~qa.scoring.FormError` / :class:`ConfigError` for a bad form/configuration.
    """
    if not isinstance(transcript, Transcript):
        transcript = Transcript.from_dict(dict(transcript))
    scoring_form = load_form(form)
    if rule_set is not None:
        scoring_form = rule_set.form(scoring_form)
        rules = rules_of_set(rule_set, config)
    else:
        rules = build_rules(config)
    if classification is None and classifier is not False:
        clf = classifier if classifier not in (None, True) else default_classifier()
        if clf is not None:
            try:
                classification = clf.classify(transcript)
            except Exception as exc:  # noqa: BLE001
                log.warning("classification failed for %s: %s", transcript.call_id, exc)
    acts = default_tagger() if tagger is None or tagger is True else (tagger or None)
    ctx = RuleContext(transcript, classification, _matcher(), acts)
    findings = run_rules(ctx, rules)
    reasons = speaker_review_reasons(transcript)
    hold = {r.code for r in rules if r.speaker_dependent} if reasons else set()
    s = score_findings(findings, scoring_form, hold=hold)
    extra: dict[str, Any] = {"needs_review": bool(s.needs_review or reasons),
                             "score_breakdown": s.breakdown,
                             "form": {"name": scoring_form.name,
                                      "version": scoring_form.version}}
    if reasons:
        # who said what is a guess: fails that depend on it deduct nothing until confirmed
        extra["review_reasons"] = reasons
        for f in findings:
            if f.status == "fail" and f.code in hold:
                f.extra.setdefault("review_reason", "speaker_uncertain")
    if classification is not None:
        extra["call_type_confidence"] = round(classification.call_type_confidence, 3)
        if classification.cues:
            extra["cues"] = list(classification.cues)
    report = Report(call_id=transcript.call_id, score=round(s.score, 1), red_line=s.red_line,
                    rules=findings, transcript=transcript,
                    call_type=classification.call_type if classification else None,
                    complaint_type=classification.complaint_type if classification else None,
                    complaint_confidence=(None if classification is None or
                                          classification.complaint_confidence is None
                                          else round(classification.complaint_confidence, 3)),
                    extra=extra)
    return report


SPEAKER_UNCERTAIN = ("坐席/客户的区分不确定（单声道录音），涉及说话人的不合格项需人工确认 / "
                     "speaker separation uncertain")


def speaker_review_reasons(transcript: Transcript) -> list[str]:
    """Why the transcript's speaker labels must be checked by a person (empty when they can be
    trusted): the transcriber's ``diagnostics["needs_review"]`` for a mono call whose
    separation or role assignment is uncertain, with its ``review_reasons`` (top level or under
    ``speaker_separation``)."""
    diag = transcript.diagnostics or {}
    sep = diag.get("speaker_separation") if isinstance(diag.get("speaker_separation"),
                                                       dict) else {}
    if not (diag.get("needs_review") or sep.get("needs_review")):
        return []
    reasons: list[str] = []
    for src in (diag.get("review_reasons"), sep.get("review_reasons")):
        if isinstance(src, (list, tuple)):
            reasons += [str(r) for r in src if str(r) not in reasons]
    return reasons or [SPEAKER_UNCERTAIN]


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    return Matcher()


# Re-exported for callers that want to catch configuration problems.
ConfigError = ConfigError
