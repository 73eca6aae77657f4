"""Loading and validating the rule configuration (``qa/config/rules.yaml``).

The shipped file declares every configuration key of every rule with its default. An
override (a mapping or a YAML file of the same shape, only the keys to change) is merged over
it. Validation is strict: an unknown rule code, an unknown key, a value of the wrong type, an
empty phrase list or an unknown ``@name`` reference raises :class:`ConfigError` naming the
exact place.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config" / "rules.yaml"


class ConfigError(ValueError):
    """The rule configuration is improper (the message says where and why)."""


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping with 'phrases' and/or 'rules'")
    return data


@lru_cache(maxsize=1)
def _defaults() -> dict:
    return _read_yaml(DEFAULT_CONFIG_PATH)


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    return type(v).__name__


def _check_value(where: str, default: Any, value: Any) -> Any:
    want, got = _type_name(default), _type_name(value)
    if want != got:
        raise ConfigError(f"{where}: expected a {want}, got {got} {value!r}")
    if want == "list":
        if not value:
            raise ConfigError(f"{where}: must not be empty")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.replace("*", "").strip():
                raise ConfigError(f"{where}[{i}]: each phrase must be a non-empty string, "
                                  f"got {item!r}")
    # levels in dBFS (VO01) are negative by nature: only a non-negative setting refuses one
    if want == "number" and value < 0 <= default:
        raise ConfigError(f"{where}: must not be negative, got {value!r}")
    return value


def _resolve(where: str, items: list[str], shared: Mapping[str, list[str]]) -> tuple[str, ...]:
    out: list[str] = []
    for i, item in enumerate(items):
        if item.startswith("@"):
            name = item[1:]
            if name not in shared:
                raise ConfigError(f"{where}[{i}]: unknown phrase list {item!r} "
                                  f"(known: {', '.join(sorted(shared))})")
            out.extend(shared[name])
        else:
            out.append(item)
    return tuple(dict.fromkeys(out))


def load_config(override: Mapping | str | Path | None = None,
                codes_keys: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, dict]:
    """The validated configuration: ``{CODE: {key: value}}`` with phrase lists resolved.

    ``override``: a mapping or YAML path of the same shape as ``rules.yaml``.
    ``codes_keys``: the config keys each rule declares (default: the rule catalogue's).
    Raises :class:`ConfigError`.
    """
    if codes_keys is None:
        from qa.rules import rule_classes
        codes_keys = {r.code: tuple(r.config_keywords) for r in rule_classes()}
    base = copy.deepcopy(_defaults())
    if override is not None:
        src = str(override) if isinstance(override, (str, Path)) else "config"
        over = _read_yaml(Path(override)) if isinstance(override, (str, Path)) else override
        if not isinstance(over, Mapping):
            raise ConfigError(f"{src}: must be a mapping")
        unknown = set(over) - {"phrases", "rules"}
        if unknown:
            raise ConfigError(f"{src}: unknown section(s) {sorted(unknown)}; "
                              f"expected 'phrases' and/or 'rules'")
        for name, items in (over.get("phrases") or {}).items():
            default = base["phrases"].get(name, ["x"])
            base["phrases"][name] = _check_value(f"phrases.{name}", default, items)
        for code, keys in (over.get("rules") or {}).items():
            if code not in base.get("rules", {}):
                raise ConfigError(f"rules.{code}: unknown rule code")
            if not isinstance(keys, Mapping):
                raise ConfigError(f"rules.{code}: must be a mapping of settings")
            for k, v in keys.items():
                if k not in base["rules"][code]:
                    raise ConfigError(f"rules.{code}.{k}: unknown setting (known: "
                                      f"{', '.join(sorted(base['rules'][code])) or 'none'})")
                base["rules"][code][k] = _check_value(f"rules.{code}.{k}",
                                                      base["rules"][code][k], v)
    shared = base.get("phrases") or {}
    for name, items in shared.items():
        _check_value(f"phrases.{name}", ["x"], items)
    rules = base.get("rules") or {}
    out: dict[str, dict] = {}
    for code, declared in codes_keys.items():
        given = rules.get(code)
        if given is None:
            if declared:
                raise ConfigError(f"rules.{code}: missing from the configuration")
            given = {}
        missing = [k for k in declared if k not in given]
        if missing:
            raise ConfigError(f"rules.{code}: missing default for {missing}")
        extra = [k for k in given if k not in declared]
        if extra:
            raise ConfigError(f"rules.{code}.{extra[0]}: not a setting of {code}")
        cfg = {}
        for k, v in given.items():
            if isinstance(v, list):
                cfg[k] = _resolve(f"rules.{code}.{k}", v, shared)
            else:
                cfg[k] = v
        out[code] = cfg
    unknown_codes = set(rules) - set(codes_keys)
    if unknown_codes:
        raise ConfigError(f"rules.{sorted(unknown_codes)[0]}: unknown rule code")
    return out
