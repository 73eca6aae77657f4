"""The rule catalogue: one module per family, one class per rule (RULES.md).

:func:`rule_classes` discovers every :class:`~qa.rules.base.Rule` subclass defined in the
modules of this package and returns them in catalogue order (``CATALOGUE``). Codes not in
the catalogue (rules added later) follow, sorted by code.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache

from qa.rules.base import Rule, RuleContext

# RULES.md order: every report lists the codes in this order.
CATALOGUE: tuple[str, ...] = (
    "GR01", "GR02", "GR03", "PO01", "PO02", "PO03", "PO04", "PO05", "PO06",
    "LI01", "LI02", "LI03", "SV01", "SV02", "SV03", "SV04", "SV05", "SV06", "SV07", "SV08",
    "CL01", "CL02", "VO01", "VO02", "CP01", "CP02", "CP03", "CP04",
)

__all__ = ["CATALOGUE", "Rule", "RuleContext", "red_line_codes", "rule_classes", "rule_class"]


@lru_cache(maxsize=1)
def _discover() -> tuple[type[Rule], ...]:
    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj is not Rule and obj.code \
                    and obj.__module__ == module.__name__:
                if obj.code in found and found[obj.code] is not obj:
                    raise RuntimeError(f"rule code {obj.code} defined twice: "
                                       f"{found[obj.code].__module__}, {obj.__module__}")
                found[obj.code] = obj
    order = {c: i for i, c in enumerate(CATALOGUE)}
    return tuple(sorted(found.values(), key=lambda r: (order.get(r.code, len(order)), r.code)))


def rule_classes() -> tuple[type[Rule], ...]:
    """Every rule class, in catalogue order."""
    return _discover()


def red_line_codes() -> frozenset[str]:
    """Codes of the rules whose class is marked ``red_line`` (禁止行为): the one list of red
    lines. A scoring form that names no ``red_lines`` takes these (the shipped form does);
    an admin's form that names them replaces them (adds and removes)."""
    return frozenset(r.code for r in _discover() if r.red_line)


def rule_class(code: str) -> type[Rule]:
    """The rule class of ``code``. Raises ``KeyError`` for an unknown code."""
    for r in _discover():
        if r.code == code:
            return r
    raise KeyError(code)
