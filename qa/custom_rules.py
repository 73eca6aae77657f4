"""Rules as data: supervisors' own checks, and edits of the built-in rules' settings.

A **rule document** (YAML or JSON) is one of two kinds.

*Custom rule* — an own code in the custom namespace (``X001`` … ``X999``)::

    code: X001
    name: 漏水来电告知24小时报修电话
    message: 漏水报修未告知24小时报修电话        # the fail message (default: 未做到：<name>)
    red_line: false                            # a confirmed fail makes the month C
    weight: 5                                  # deduction unless the scoring form names X001
    applies_when:                              # optional; false → n/a
      phrase: {phrases: [漏水, 渗水, 滴水], speaker: customer}
    passes_when:                               # true → pass, false → fail
      phrase: {phrases: [二十四小时, 24小时报修], speaker: agent}

*Override* — a built-in rule's phrase lists and thresholds (``qa/config/rules.yaml``),
changed without a release::

    override: SV04
    settings:
      thanks_phrases: {add: [感谢您的耐心]}     # add / remove, or a list that replaces
      # last_turns: 3                          # a number replaces

Conditions (each a mapping with one key; lists of conditions under ``all``/``any``):

``all: [c, …]`` / ``any: [c, …]`` / ``not: c``
    combination.
``phrase: {phrases, match, speaker, in, exclude, min_count}``
    some utterance of ``speaker`` (``agent`` default, ``customer``, ``any``) within ``in``
    contains a phrase. ``match``: ``sound`` (default: also by toneless pinyin and with ASR
    tolerance, as the built-in rules match), ``exact`` (the characters). Phrases use the
    built-in syntax (``*`` a gap of up to 8 characters, ``@name`` a shared list of
    ``rules.yaml``). ``exclude``: phrases that veto an overlapping match.
``meaning: {examples, act, threshold, speaker, in}``
    an utterance *means* what the example sentences mean: the dialogue-act layer
    (:mod:`classifiers.acts`) gives each utterance a probability of ``act`` (named, or read
    from the examples: the act the model finds most probable in them); at least
    ``threshold`` (0.5) counts. Without an act model, or where the examples mean no known
    act, the examples are matched by sound instead.
``speaker: agent`` (or ``{is: agent, in: …}``)
    the speaker says anything (within ``in``).
``sequence: [c1, c2, …]``
    every condition holds and their evidence comes in this order in time (c1 before c2).
``silence: {min_seconds, except}``
    dead air: a gap of at least ``min_seconds`` between the end of one utterance and the
    start of the next; a gap right after an utterance with an ``except`` phrase (a wait the
    agent announced or the caller asked for: 稍等, 我查一下) does not count.
``speech_rate: {speaker, above, below, any_utterance}``
    the speaker's characters per second over their speech (``any_utterance``: in some one
    utterance of at least 1 s) is above / below the bounds (both: between them).
``talk_ratio: {speaker, above, below}``
    the speaker's share of all speech time.
``interruption: {by, min_count, min_overlap_seconds}``
    ``by`` starts speaking while the other side is still talking, at least ``min_count``
    times (default 1), overlapping by at least ``min_overlap_seconds`` (0.3).
``call_type: [complaint, …]`` / ``complaint_type: [vent, …]``
    the classifier's decision (no classification: the rule is n/a).
``metadata: {key, equals | in | above | below | exists}``
    a PBX metadata field (``ring_seconds``, ``hangup_by``, ``agent_group``, ``estate`` …).

``in`` (a position window): ``first_seconds`` / ``last_seconds`` of the call,
``first_turns`` / ``last_turns`` of that speaker, ``opening_seconds`` (the agent's opening
turn, as GR02/GR03 read it).

:func:`parse_document` validates a document and raises :class:`RuleDocumentError` listing
every mistake with where it is; :class:`RuleSet` is what :func:`qa.engine.analyze` runs.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Iterable, Mapping

import yaml

from qa.records import Evidence, Finding, Transcript, Utterance
from qa.rules.base import Rule, RuleContext

__all__ = ["CUSTOM_CODE", "CONDITIONS", "CustomRule", "RuleDocument", "RuleDocumentError",
           "RuleSet", "evaluate_document", "needs_acts", "parse_document"]

CUSTOM_CODE = re.compile(r"^X\d{3}$")
SPEAKERS = ("agent", "customer", "any")
MATCHES = ("sound", "exact")
WINDOWS = ("first_seconds", "last_seconds", "first_turns", "last_turns", "opening_seconds")
CONDITIONS = ("all", "any", "not", "phrase", "meaning", "speaker", "sequence", "silence",
              "speech_rate", "talk_ratio", "interruption", "call_type", "complaint_type",
              "metadata")
_CUSTOM_KEYS = {"code", "name", "message", "red_line", "weight", "description",
                "applies_when", "passes_when", "na_message"}
_OVERRIDE_KEYS = {"override", "settings", "description"}
_MAX_DEPTH = 12
_PUNCT = re.compile(r"[\s，。！？、；：,.!?;:…~～“”\"'（）()]+")


class RuleDocumentError(ValueError):
    """A rule document is improper: ``errors`` lists every problem, each naming where."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class _Undecidable(Exception):
    """A condition cannot be judged on this call (e.g. no call type): the rule is n/a."""


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class RuleDocument:
    """A validated rule document (see the module docstring)."""

    kind: str                       # "custom" | "override"
    code: str
    name: str
    red_line: bool
    weight: float | None
    text: str
    data: dict = field(compare=False, hash=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True, ensure_ascii=False)
                              .encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def settings(self) -> dict[str, Any]:
        """An override's settings resolved against the shipped defaults (full values)."""
        if self.kind != "override":
            return {}
        from qa.configuration import _defaults
        base = _defaults()["rules"][self.code]
        out = {}
        for k, v in (self.data.get("settings") or {}).items():
            out[k] = _edited(base[k], v) if isinstance(v, Mapping) else v
        return out

    def compile(self) -> Rule:
        """The executable rule: a :class:`CustomRule`, or the built-in class with the
        override's settings over the shipped configuration."""
        if self.kind == "custom":
            return CustomRule(self)
        from qa.configuration import load_config
        from qa.rules import rule_class
        cls = rule_class(self.code)
        cfg = load_config({"rules": {self.code: self.settings()}})
        return cls(**cfg[self.code])


def parse_document(source: str | bytes | Mapping) -> RuleDocument:
    """Validate a rule document given as YAML/JSON text or a mapping.

    Raises :class:`RuleDocumentError` naming every problem (``where: 中文 / English``).
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if isinstance(source, str):
        text = source
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise RuleDocumentError([f"文档: 不是合法的 YAML/JSON（{exc}） / not valid YAML"]
                                    ) from exc
    else:
        data = copy.deepcopy(dict(source)) if isinstance(source, Mapping) else source
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False) \
            if isinstance(data, Mapping) else ""
    if not isinstance(data, Mapping):
        raise RuleDocumentError(["文档: 必须是一个映射，含 code/name/passes_when（自定义规则）"
                                 "或 override/settings（修改内置规则） / must be a mapping"])
    if _too_big(data):
        raise RuleDocumentError([f"文档: 过大（超过 {_MAX_NODES} 个条目，或用 YAML 别名层层展开）"
                                 f"，请拆成几条规则 / document too large"])
    data = dict(data)
    errors: list[str] = []
    if "override" in data:
        _check_override(data, errors)
        if errors:
            raise RuleDocumentError(errors)
        from qa.rules import rule_class
        cls = rule_class(data["override"])
        return RuleDocument("override", cls.code, cls.name, cls.red_line, None, text, data)
    _check_custom(data, errors)
    if errors:
        raise RuleDocumentError(errors)
    w = data.get("weight")
    return RuleDocument("custom", data["code"], str(data["name"]).strip(),
                        bool(data.get("red_line", False)),
                        None if w is None else float(w), text, data)


_MAX_NODES = 5000


def _too_big(data: Any) -> bool:
    """Whether ``data`` holds more than ``_MAX_NODES`` values, counting a YAML alias each time
    it is used (an alias bomb expands to billions while its text is a few lines)."""
    stack, seen = [data], 0
    while stack:
        v = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            return True
        if isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _edited(default: list[str], change: Mapping) -> list[str]:
    """A built-in phrase list with an override's ``remove`` taken out and ``add`` appended."""
    items = [p for p in default if p not in (change.get("remove") or [])]
    return items + [p for p in (change.get("add") or []) if p not in items]


def _check_override(data: dict, errors: list[str]) -> None:
    from qa.configuration import ConfigError, _defaults, load_config
    for k in sorted(set(data) - _OVERRIDE_KEYS):
        errors.append(f"{k}: 未知的键（修改内置规则只能有 override、settings、description）"
                      f" / unknown key")
    code = data.get("override")
    defaults = _defaults().get("rules", {})
    if not isinstance(code, str) or code not in defaults:
        errors.append(f"override: 没有这条内置规则 {code!r}（应为 GR01…CP04 之一）"
                      f" / unknown built-in rule")
        return
    settings = data.get("settings")
    if not isinstance(settings, Mapping) or not settings:
        errors.append(f"settings: 必须列出要修改的设置（{code} 可改: "
                      f"{', '.join(defaults[code]) or '无'}） / settings must be a mapping")
        return
    resolved: dict[str, Any] = {}
    for k, v in settings.items():
        where = f"settings.{k}"
        if k not in defaults[code]:
            errors.append(f"{where}: {code} 没有这个设置（可改: {', '.join(defaults[code])}）"
                          f" / unknown setting")
            continue
        default = defaults[code][k]
        if isinstance(v, Mapping):
            if not isinstance(default, list):
                errors.append(f"{where}: 只有短语列表可以用 add/remove；这里应是一个数值"
                              f" / add/remove apply to phrase lists only")
                continue
            bad = set(v) - {"add", "remove"}
            if bad or not v:
                errors.append(f"{where}: 只能有 add 和/或 remove / only add and remove")
                continue
            for op in ("add", "remove"):
                if op in v:
                    _phrase_list(v[op], f"{where}.{op}", errors)
            missing = [p for p in (v.get("remove") or []) if p not in default]
            if missing:
                errors.append(f"{where}.remove: 这些短语不在内置列表中: {', '.join(missing)}"
                              f" / not in the built-in list")
            left = _edited(default, v)
            if not left:
                errors.append(f"{where}: 删除后列表为空 / the list would be empty")
            resolved[k] = left
        else:
            resolved[k] = v
    if not errors:
        try:
            load_config({"rules": {code: resolved}})
        except ConfigError as exc:
            errors.append(f"settings: 设置值不合适（类型或取值不对） / {exc}")


def _check_custom(data: dict, errors: list[str]) -> None:
    for k in sorted(set(data) - _CUSTOM_KEYS):
        errors.append(f"{k}: 未知的键（可用: {', '.join(sorted(_CUSTOM_KEYS))}） / unknown key")
    code = data.get("code")
    if code is None:
        errors.append("code: 缺少规则编号（自定义编号为 X001…X999） / missing code")
    elif not isinstance(code, str) or not CUSTOM_CODE.match(code):
        errors.append(f"code: 自定义规则编号须为 X 加三位数字（如 X001），不能是 {code!r}；"
                      f"修改内置规则请用 override / custom codes are X001…X999")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("name: 缺少中文名称 / missing name")
    for key in ("message", "description", "na_message"):
        if key in data and not isinstance(data[key], str):
            errors.append(f"{key}: 必须是文字 / must be text")
    if "red_line" in data and not isinstance(data["red_line"], bool):
        errors.append("red_line: 必须是 true 或 false / must be true or false")
    if "weight" in data:
        w = data["weight"]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= 100:
            errors.append(f"weight: 扣分须为 0 到 100 之间的数，不能是 {w!r} / 0–100")
    if "passes_when" not in data:
        errors.append("passes_when: 缺少合格条件 / missing the pass condition")
    for key in ("applies_when", "passes_when"):
        if key in data:
            _check_condition(data[key], key, errors, 0)


def _phrase_list(v: Any, where: str, errors: list[str]) -> bool:
    if not isinstance(v, list) or not v:
        errors.append(f"{where}: 必须是非空的短语列表 / must be a non-empty list of phrases")
        return False
    ok = True
    for i, p in enumerate(v):
        if not isinstance(p, str) or not p.replace("*", "").strip():
            errors.append(f"{where}[{i}]: 每个短语须是非空文字，不能是 {p!r} / empty phrase")
            ok = False
        elif p.startswith("@"):
            from qa.configuration import _defaults
            if p[1:] not in (_defaults().get("phrases") or {}):
                errors.append(f"{where}[{i}]: 没有名为 {p} 的共享短语表 / unknown list")
                ok = False
    return ok


def _number(d: Mapping, key: str, where: str, errors: list[str], lo: float = 0,
            hi: float | None = None, required: bool = False) -> None:
    if key not in d:
        if required:
            errors.append(f"{where}.{key}: 缺少 / missing")
        return
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or \
            (hi is not None and v > hi):
        rng = f"{lo:g} 到 {hi:g}" if hi is not None else f"不小于 {lo:g}"
        errors.append(f"{where}.{key}: 须为{rng}的数，不能是 {v!r} / out of range")


def _keys(d: Mapping, allowed: set[str], where: str, errors: list[str]) -> None:
    for k in sorted(set(d) - allowed, key=str):
        errors.append(f"{where}.{k}: 未知的设置（可用: {', '.join(sorted(allowed))}）"
                      f" / unknown setting")


def _check_speaker(d: Mapping, key: str, where: str, errors: list[str],
                   allowed=SPEAKERS) -> None:
    if key in d and d[key] not in allowed:
        errors.append(f"{where}.{key}: 须为 {' / '.join(allowed)}，不能是 {d[key]!r}"
                      f" / unknown speaker")


def _check_window(d: Mapping, where: str, errors: list[str]) -> None:
    if "in" not in d:
        return
    w = d["in"]
    if not isinstance(w, Mapping) or len(w) != 1 or next(iter(w)) not in WINDOWS:
        errors.append(f"{where}.in: 须为 {' / '.join(WINDOWS)} 之一（如 in: {{last_turns: 2}}）"
                      f" / one position window")
        return
    _number(w, next(iter(w)), f"{where}.in", errors, lo=0)


def _check_condition(c: Any, where: str, errors: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        errors.append(f"{where}: 条件嵌套过深（最多 {_MAX_DEPTH} 层） / nested too deeply")
        return
    if not isinstance(c, Mapping) or len(c) != 1:
        errors.append(f"{where}: 每个条件是只有一个键的映射（{', '.join(CONDITIONS)}）"
                      f" / a condition has exactly one key")
        return
    op, arg = next(iter(c.items()))
    w = f"{where}.{op}"
    if op not in CONDITIONS:
        errors.append(f"{w}: 未知的条件（可用: {', '.join(CONDITIONS)}） / unknown condition")
    elif op in ("all", "any", "sequence"):
        if not isinstance(arg, list) or not arg or (op == "sequence" and len(arg) < 2):
            need = "至少两个" if op == "sequence" else "至少一个"
            errors.append(f"{w}: 须为{need}条件的列表 / a list of conditions")
            return
        for i, sub in enumerate(arg):
            _check_condition(sub, f"{w}[{i}]", errors, depth + 1)
    elif op == "not":
        _check_condition(arg, w, errors, depth + 1)
    elif op == "phrase":
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"phrases", "match", "speaker", "in", "exclude", "min_count"}, w, errors)
        if "phrases" not in arg:
            errors.append(f"{w}.phrases: 缺少短语列表 / missing phrases")
        else:
            _phrase_list(arg["phrases"], f"{w}.phrases", errors)
        if "exclude" in arg:
            _phrase_list(arg["exclude"], f"{w}.exclude", errors)
        if arg.get("match", "sound") not in MATCHES:
            errors.append(f"{w}.match: 须为 sound（按读音，默认）或 exact（按字），"
                          f"不能是 {arg['match']!r}；按含义请用 meaning / sound or exact")
        _check_speaker(arg, "speaker", w, errors)
        _check_window(arg, w, errors)
        _number(arg, "min_count", w, errors, lo=1)
    elif op == "meaning":
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"examples", "act", "threshold", "speaker", "in"}, w, errors)
        if "examples" not in arg and "act" not in arg:
            errors.append(f"{w}: 须给出例句 examples 或话语行为 act / examples or act")
        if "examples" in arg:
            _phrase_list(arg["examples"], f"{w}.examples", errors)
        if "act" in arg:
            from classifiers.acts import ACTS
            if arg["act"] not in ACTS:
                errors.append(f"{w}.act: 没有这种话语行为 {arg['act']!r}（可用: "
                              f"{', '.join(ACTS)}） / unknown act")
        _number(arg, "threshold", w, errors, lo=0, hi=1)
        _check_speaker(arg, "speaker", w, errors)
        _check_window(arg, w, errors)
    elif op == "speaker":
        if isinstance(arg, str):
            arg = {"is": arg}
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"is", "in"}, w, errors)
        if "is" not in arg:
            errors.append(f"{w}.is: 缺少说话人 / missing speaker")
        _check_speaker(arg, "is", w, errors)
        _check_window(arg, w, errors)
    elif op == "silence":
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"min_seconds", "except"}, w, errors)
        _number(arg, "min_seconds", w, errors, lo=0.1, required=True)
        if "except" in arg:
            _phrase_list(arg["except"], f"{w}.except", errors)
    elif op in ("speech_rate", "talk_ratio"):
        if not _mapping(arg, w, errors):
            return
        allowed = {"speaker", "above", "below"} | ({"any_utterance"} if op == "speech_rate"
                                                   else set())
        _keys(arg, allowed, w, errors)
        hi = 1 if op == "talk_ratio" else None
        _number(arg, "above", w, errors, lo=0, hi=hi)
        _number(arg, "below", w, errors, lo=0, hi=hi)
        if "above" not in arg and "below" not in arg:
            errors.append(f"{w}: 须给出 above 和/或 below / above and/or below")
        _check_speaker(arg, "speaker", w, errors, ("agent", "customer"))
        if "any_utterance" in arg and not isinstance(arg["any_utterance"], bool):
            errors.append(f"{w}.any_utterance: 须为 true 或 false / true or false")
    elif op == "interruption":
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"by", "min_count", "min_overlap_seconds"}, w, errors)
        _check_speaker(arg, "by", w, errors, ("agent", "customer"))
        _number(arg, "min_count", w, errors, lo=1)
        _number(arg, "min_overlap_seconds", w, errors, lo=0)
    elif op in ("call_type", "complaint_type"):
        from classifiers.records import CALL_TYPES, COMPLAINT_TYPES
        known = CALL_TYPES if op == "call_type" else COMPLAINT_TYPES
        vals = [arg] if isinstance(arg, str) else arg
        if not isinstance(vals, list) or not vals:
            errors.append(f"{w}: 须为类型列表（{', '.join(known)}） / a list of types")
            return
        for v in vals:
            if v not in known:
                errors.append(f"{w}: 未知类型 {v!r}（可用: {', '.join(known)}） / unknown type")
    elif op == "metadata":
        if not _mapping(arg, w, errors):
            return
        _keys(arg, {"key", "equals", "in", "above", "below", "exists"}, w, errors)
        if not isinstance(arg.get("key"), str) or not arg.get("key"):
            errors.append(f"{w}.key: 缺少元数据字段名（如 ring_seconds、hangup_by）"
                          f" / missing key")
        tests = [k for k in ("equals", "in", "above", "below", "exists") if k in arg]
        if not tests:
            errors.append(f"{w}: 须给出 equals / in / above / below / exists 之一"
                          f" / a comparison")
        for k in ("above", "below"):
            if k in arg and (isinstance(arg[k], bool) or not isinstance(arg[k], (int, float))):
                errors.append(f"{w}.{k}: 须为数值 / must be a number")
        if "in" in arg and (not isinstance(arg["in"], list) or not arg["in"]):
            errors.append(f"{w}.in: 须为非空列表 / a non-empty list")
        if "exists" in arg and not isinstance(arg["exists"], bool):
            errors.append(f"{w}.exists: 须为 true 或 false / true or false")


def _mapping(arg: Any, where: str, errors: list[str]) -> bool:
    if not isinstance(arg, Mapping):
        errors.append(f"{where}: 须为设置的映射（如 {{phrases: [...]}}） / must be a mapping")
        return False
    return True


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Result:
    """A condition's value, how sure, and the utterances that show it."""

    value: bool
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    times: list[float] = field(default_factory=list)   # start times of the true evidence


def _speaker_dependent(c: Any) -> bool:
    if not isinstance(c, Mapping) or len(c) != 1:
        return False
    op, arg = next(iter(c.items()))
    if op in ("all", "any", "sequence"):
        return any(_speaker_dependent(x) for x in arg)
    if op == "not":
        return _speaker_dependent(arg)
    if op in ("phrase", "meaning"):
        return arg.get("speaker", "agent") != "any"
    if op == "speaker":
        return (arg if isinstance(arg, str) else arg.get("is")) != "any"
    return op in ("speech_rate", "talk_ratio", "interruption")


class CustomRule(Rule):
    """A rule compiled from a custom rule document (one instance per document)."""

    family = "custom"

    def __init__(self, doc: RuleDocument) -> None:   # noqa: D107 - no config keywords
        self.doc = doc
        self.config = {}
        self.code = doc.code                      # type: ignore[misc]
        self.name = doc.name                      # type: ignore[misc]
        self.red_line = doc.red_line              # type: ignore[misc]
        d = doc.data
        self.fail_message = d.get("message") or f"未做到：{doc.name}"  # type: ignore[misc]
        self.speaker_dependent = (_speaker_dependent(d.get("applies_when"))  # type: ignore
                                  or _speaker_dependent(d.get("passes_when")))
        self._meaning_acts: dict[int, str | None] = {}

    def doc_text(self) -> str:
        return self.doc.data.get("description") or self.doc.name

    def evaluate(self, ctx: RuleContext) -> Finding:
        d = self.doc.data
        try:
            applies = self._eval(d["applies_when"], ctx) if "applies_when" in d else None
            if applies is not None and not applies.value:
                return self.na(d.get("na_message") or "不适用 / does not apply",
                               applies.confidence)
            passes = self._eval(d["passes_when"], ctx)
        except _Undecidable as exc:
            return self.na(str(exc))
        conf = passes.confidence if applies is None else min(applies.confidence,
                                                             passes.confidence)
        if passes.value:
            return self.passed(conf, passes.evidence[:5])
        ev = passes.evidence[:5] or self._fallback_evidence(ctx)
        return self.failed(ev, conf)

    @staticmethod
    def _fallback_evidence(ctx: RuleContext) -> list[Evidence]:
        utts = ctx.agent or ctx.transcript.utterances
        return [Evidence.from_utterance(utts[-1])] if utts else []

    # ---- conditions ----------------------------------------------------------------------
    def _eval(self, c: Mapping, ctx: RuleContext) -> _Result:
        op, arg = next(iter(c.items()))
        return getattr(self, f"_op_{op}")(arg, ctx)

    def _op_all(self, arg: list, ctx: RuleContext) -> _Result:
        results = []
        for sub in arg:
            r = self._eval(sub, ctx)
            if not r.value:
                return r
            results.append(r)
        return _Result(True, min(r.confidence for r in results),
                       [e for r in results for e in r.evidence],
                       [t for r in results for t in r.times])

    def _op_any(self, arg: list, ctx: RuleContext) -> _Result:
        results = [self._eval(sub, ctx) for sub in arg]
        true = [r for r in results if r.value]
        if true:
            best = max(true, key=lambda r: r.confidence)
            return _Result(True, best.confidence, best.evidence,
                           sorted(t for r in true for t in r.times))
        return _Result(False, min(r.confidence for r in results),
                       [e for r in results for e in r.evidence][:3])

    def _op_not(self, arg: Mapping, ctx: RuleContext) -> _Result:
        r = self._eval(arg, ctx)
        return _Result(not r.value, r.confidence, r.evidence,
                       [e.start for e in r.evidence] if not r.value else [])

    def _op_sequence(self, arg: list, ctx: RuleContext) -> _Result:
        parts = [self._eval(sub, ctx) for sub in arg]
        for r in parts:
            if not r.value:
                return r
        t = float("-inf")
        for i, r in enumerate(parts):
            later = [x for x in sorted(r.times) if x > t or (i == 0 and x >= t)]
            if not later:
                return _Result(False, min(p.confidence for p in parts),
                               [e for p in parts for e in p.evidence][:3])
            t = later[0]
        return _Result(True, min(p.confidence for p in parts),
                       [e for p in parts for e in p.evidence],
                       [min(parts[0].times)])

    @staticmethod
    def _scope(arg: Mapping, ctx: RuleContext, key: str = "speaker") -> list[Utterance]:
        who = arg.get(key, "agent") if not isinstance(arg, str) else arg
        utts = ctx.transcript.utterances if who == "any" else ctx.transcript.by(who)
        w = arg.get("in") if isinstance(arg, Mapping) else None
        if not w:
            return list(utts)
        kind, n = next(iter(w.items()))
        if kind == "opening_seconds":
            return ctx.opening(float(n)) if who == "agent" else \
                [u for u in utts if u.start <= (utts[0].start + n if utts else 0)]
        if kind == "first_turns":
            return list(utts[:int(n)])
        if kind == "last_turns":
            return list(utts[-int(n):]) if int(n) else []
        if kind == "first_seconds":
            return [u for u in utts if u.start < n]
        all_utts = ctx.transcript.utterances
        end = max((u.end for u in all_utts), default=0.0)
        return [u for u in utts if u.end > end - n]

    @staticmethod
    def _looked(scope: list[Utterance], arg: Mapping) -> list[Evidence]:
        if not scope:
            return []
        w = arg.get("in") or {}
        u = scope[0] if any(k.startswith(("first", "opening")) for k in w) else scope[-1]
        return [Evidence.from_utterance(u)]

    def _op_phrase(self, arg: Mapping, ctx: RuleContext) -> _Result:
        scope = self._scope(arg, ctx)
        kw: dict[str, Any] = {"exact_only": arg.get("match") == "exact"}
        if arg.get("exclude"):
            kw["exclude"] = _resolved(arg["exclude"])
        ms = ctx.find(scope, _resolved(arg["phrases"]), **kw)
        if len(ms) >= int(arg.get("min_count", 1)):
            return _Result(True, max(m.confidence for m in ms),
                           [m.evidence() for m in ms], [m.start for m in ms])
        return _Result(False, ctx.absence_confidence(scope), self._looked(scope, arg))

    def _op_meaning(self, arg: Mapping, ctx: RuleContext) -> _Result:
        scope = self._scope(arg, ctx)
        act = arg.get("act") or self._act_of_examples(arg, ctx)
        thr = float(arg.get("threshold", 0.5))
        if act is not None and ctx.has_acts:
            hits = ctx.with_act(scope, act, thr)
            if hits:
                return _Result(True, hits[0][1], [Evidence.from_utterance(u) for u, _ in hits],
                               [u.start for u, _ in hits])
            best = max((ctx.act(u, act) for u in scope), default=0.0)
            return _Result(False, max(0.5, 1.0 - best), self._looked(scope, arg))
        if "examples" not in arg:
            raise _Undecidable(f"没有话语行为模型，无法判断“{act}” / no act model")
        return self._op_phrase({**arg, "phrases": arg["examples"]}, ctx)

    def _act_of_examples(self, arg: Mapping, ctx: RuleContext) -> str | None:
        key = id(arg)
        if key not in self._meaning_acts:
            self._meaning_acts[key] = act_of_examples(
                ctx.tagger, arg.get("examples") or [],
                "customer" if arg.get("speaker") == "customer" else "agent")
        return self._meaning_acts[key]

    def _op_speaker(self, arg: Any, ctx: RuleContext) -> _Result:
        who = arg if isinstance(arg, str) else arg["is"]
        scope = self._scope({"speaker": who, **({} if isinstance(arg, str) else arg)}, ctx)
        scope = [u for u in scope if u.text.strip()]
        return _Result(bool(scope), 0.95, [Evidence.from_utterance(u) for u in scope[:1]],
                       [u.start for u in scope])

    def _op_silence(self, arg: Mapping, ctx: RuleContext) -> _Result:
        utts = sorted(ctx.transcript.utterances, key=lambda u: u.start)
        allowed = _resolved(arg.get("except") or ())
        need = float(arg["min_seconds"])
        gaps = []
        last_end, last_u = None, None
        for u in utts:
            if last_end is not None and u.start - last_end >= need:
                excused = bool(allowed) and last_u is not None and \
                    bool(ctx.matcher.find(last_u, allowed))
                if not excused:
                    gaps.append((last_u, last_end, u.start))
            if last_end is None or u.end > last_end:
                last_end, last_u = u.end, u
        if gaps:
            return _Result(True, 0.95, [Evidence(g[0].speaker, round(g[1], 2), round(g[2], 2),
                                                 f"静音 {g[2] - g[1]:.0f} 秒") for g in gaps],
                           [g[1] for g in gaps])
        return _Result(False, 0.95)

    @staticmethod
    def _bounds(value: float, arg: Mapping) -> bool:
        return ("above" not in arg or value > arg["above"]) and \
            ("below" not in arg or value < arg["below"])

    def _op_speech_rate(self, arg: Mapping, ctx: RuleContext) -> _Result:
        utts = [u for u in ctx.transcript.by(arg.get("speaker", "agent")) if u.duration > 0]
        if arg.get("any_utterance"):
            hits = [u for u in utts if u.duration >= 1.0
                    and self._bounds(_chars(u.text) / u.duration, arg)]
            return _Result(bool(hits), 0.9, [Evidence.from_utterance(u, f"语速 {_chars(u.text) / u.duration:.1f} 字/秒：{u.text}") for u in hits[:3]],
                           [u.start for u in hits])
        secs = sum(u.duration for u in utts)
        if secs <= 0:
            raise _Undecidable("该说话人没有讲话，无法计算语速 / no speech")
        rate = sum(_chars(u.text) for u in utts) / secs
        ok = self._bounds(rate, arg)
        return _Result(ok, 0.9, [Evidence(utts[0].speaker, round(utts[0].start, 2),
                                          round(utts[-1].end, 2), f"平均语速 {rate:.1f} 字/秒")],
                       [utts[0].start] if ok else [])

    def _op_talk_ratio(self, arg: Mapping, ctx: RuleContext) -> _Result:
        utts = ctx.transcript.utterances
        total = sum(u.duration for u in utts)
        if total <= 0:
            raise _Undecidable("通话没有讲话，无法计算讲话占比 / no speech")
        mine = [u for u in utts if u.speaker == arg.get("speaker", "agent")]
        ratio = sum(u.duration for u in mine) / total
        ok = self._bounds(ratio, arg)
        ev = [Evidence(arg.get("speaker", "agent"), 0.0, round(max(u.end for u in utts), 2),
                       f"讲话占比 {ratio:.0%}")]
        return _Result(ok, 0.9, ev, [0.0] if ok else [])

    def _op_interruption(self, arg: Mapping, ctx: RuleContext) -> _Result:
        by = arg.get("by", "agent")
        other = "customer" if by == "agent" else "agent"
        overlap = float(arg.get("min_overlap_seconds", 0.3))
        theirs = ctx.transcript.by(other)
        hits = [u for u in ctx.transcript.by(by)
                if any(o.start < u.start and u.start <= o.end - overlap for o in theirs)]
        ok = len(hits) >= int(arg.get("min_count", 1))
        return _Result(ok, 0.85, [Evidence.from_utterance(u, f"插话：{u.text}")
                                  for u in hits[:3]], [u.start for u in hits] if ok else [])

    def _op_call_type(self, arg: Any, ctx: RuleContext) -> _Result:
        if ctx.classification is None:
            raise _Undecidable("通话类型未知（未分类），本条无法判断 / call type unknown")
        vals = [arg] if isinstance(arg, str) else arg
        c = ctx.classification
        return _Result(c.call_type in vals, float(c.call_type_confidence or 0.9))

    def _op_complaint_type(self, arg: Any, ctx: RuleContext) -> _Result:
        if ctx.classification is None:
            raise _Undecidable("投诉类型未知（未分类），本条无法判断 / complaint type unknown")
        vals = [arg] if isinstance(arg, str) else arg
        c = ctx.classification
        conf = c.complaint_confidence if c.complaint_confidence is not None else 0.9
        return _Result(c.complaint_type in vals, float(conf))

    def _op_metadata(self, arg: Mapping, ctx: RuleContext) -> _Result:
        v = ctx.metadata.get(arg["key"])
        ok = True
        if "exists" in arg:
            ok = (v is not None) == arg["exists"]
        if "equals" in arg:
            ok = ok and v is not None and str(v) == str(arg["equals"])
        if "in" in arg:
            ok = ok and v is not None and str(v) in {str(x) for x in arg["in"]}
        if "above" in arg or "below" in arg:
            num = ctx.meta_float(arg["key"])
            if num is None:
                raise _Undecidable(f"元数据 {arg['key']} 缺失或不是数值 / metadata missing")
            ok = ok and self._bounds(num, arg)
        return _Result(ok, 0.98)


def _chars(text: str) -> int:
    return len(_PUNCT.sub("", text))


def _resolved(items: Iterable[str]) -> tuple[str, ...]:
    """``items`` with each ``@name`` replaced by the shared list (cached per list)."""
    return _resolve_cached(tuple(items))


@lru_cache(maxsize=4096)
def _resolve_cached(items: tuple[str, ...]) -> tuple[str, ...]:
    from qa.configuration import _defaults, _resolve
    return _resolve("phrases", list(items), _defaults().get("phrases") or {})


def act_of_examples(tagger: Any, examples: list[str], speaker: str = "agent",
                    min_mean: float = 0.5) -> str | None:
    """The dialogue act the model finds most probable across ``examples`` (mean
    probability at least ``min_mean``), or ``None`` (no model, or no act fits them)."""
    probs = getattr(tagger, "probabilities", None)
    if not examples or not callable(probs):
        return None
    rows = probs(list(examples), speaker)
    if not rows:
        return None
    acts = {a for r in rows for a in r}
    means = {a: sum(r.get(a, 0.0) for r in rows) / len(rows) for a in acts}
    best = max(means, key=lambda a: means[a], default=None)
    return best if best is not None and means[best] >= min_mean else None


# --------------------------------------------------------------------------- rule sets


class RuleSet:
    """The rules :func:`qa.engine.analyze` runs: the built-in catalogue with the overrides
    applied, then the custom rules in code order (at most one document per code)."""

    def __init__(self, documents: Iterable[RuleDocument] = ()) -> None:
        docs: dict[str, RuleDocument] = {}
        for d in documents:
            if d.code in docs:
                raise RuleDocumentError([f"{d.code}: 同一编号只能有一个生效的文档"
                                         f" / one active document per code"])
            docs[d.code] = d
        self.documents = tuple(sorted(docs.values(), key=lambda d: d.code))

    @classmethod
    def from_documents(cls, docs: Iterable[RuleDocument]) -> "RuleSet":
        return cls(docs)

    @cached_property
    def key(self) -> str:
        h = hashlib.sha256()
        for d in self.documents:
            h.update(f"{d.code}:{d.sha256};".encode())
        return h.hexdigest()[:16]

    @property
    def custom_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.documents if d.kind == "custom")

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        return {d.code: d.settings() for d in self.documents if d.kind == "override"}

    @property
    def red_lines(self) -> frozenset[str]:
        return frozenset(d.code for d in self.documents if d.kind == "custom" and d.red_line)

    @property
    def weights(self) -> dict[str, float]:
        return {d.code: float(d.weight or 0.0) for d in self.documents if d.kind == "custom"}

    def config(self) -> dict[str, Any] | None:
        """The override mapping for :func:`qa.engine.build_rules` (``None``: none)."""
        return {"rules": self.overrides} if self.overrides else None

    @cached_property
    def custom_rules(self) -> tuple[Rule, ...]:
        return tuple(d.compile() for d in self.documents if d.kind == "custom")

    def form(self, form):
        """``form`` (a :class:`~qa.scoring.ScoringForm`) with the custom codes' default
        weights where it names none, and their red lines added."""
        if not self.custom_codes:
            return form
        weights = {**self.weights, **dict(form.weights)}
        return replace(form, weights=weights, red_lines=frozenset(form.red_lines)
                       | self.red_lines)


def evaluate_document(doc: RuleDocument, transcript: Transcript | Mapping, *,
                      call_type: str | None = None, complaint_type: str | None = None,
                      tagger: Any = None, rule: Rule | None = None) -> Finding:
    """One document's finding on one call (the dry run). ``call_type``/``complaint_type``:
    the call's stored classification (``None``: unclassified). ``tagger``: the act model
    (``None``: the shipped one when a ``meaning`` condition needs it). ``rule``: the
    compiled document, to reuse over many calls."""
    from classifiers.records import Classification
    from qa.acts import default_tagger
    if not isinstance(transcript, Transcript):
        transcript = Transcript.from_dict(dict(transcript))
    cls = None if call_type is None else Classification(call_type, 1.0, complaint_type,
                                                        None if complaint_type is None
                                                        else 1.0)
    if tagger is None and needs_acts(doc):
        tagger = default_tagger()
    from qa.engine import _matcher
    ctx = RuleContext(transcript, cls, _matcher(), tagger)
    rule = rule or doc.compile()
    try:
        return rule.run(ctx)
    except Exception as exc:  # noqa: BLE001 - a dry run reports, never crashes the batch
        return Finding(doc.code, "n/a", 0.0,
                       extra={"note": f"规则执行出错 / rule error: {exc}"})


def needs_acts(doc: RuleDocument) -> bool:
    """Whether evaluating ``doc`` reads dialogue acts (built-in rules do)."""
    if doc.kind == "override":
        return True

    def walk(c: Any) -> bool:
        if not isinstance(c, Mapping) or len(c) != 1:
            return False
        op, arg = next(iter(c.items()))
        if op in ("all", "any", "sequence"):
            return any(walk(x) for x in arg)
        return walk(arg) if op == "not" else op == "meaning"
    return walk(doc.data.get("applies_when")) or walk(doc.data.get("passes_when"))
