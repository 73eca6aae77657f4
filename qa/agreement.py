"""Agreement between raters: Cohen's kappa and percent agreement, for calibration sessions
(supervisors with each other and with the machine) and the agreement page.

Pure computation on plain labels (``pass``/``fail``/``n/a``): no database. Cohen's kappa is
scikit-learn's :func:`sklearn.metrics.cohen_kappa_score` (imported where used). Kappa is
undefined when the chance agreement is 1 (both raters gave one and the same label to every
item): it is then ``None`` and only the percent agreement says anything.

Example::

    >>> a = compare(["pass", "fail", "pass", "pass"], ["pass", "fail", "fail", "pass"])
    >>> a.n, a.agree, a.percent, round(a.kappa, 3)
    (4, 3, 75.0, 0.5)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Hashable, Iterable, Mapping, Sequence

LABELS = ("pass", "fail", "n/a")


@dataclass(frozen=True)
class Agreement:
    """How two raters agree on the items both rated: ``n`` items, ``agree`` of them the same,
    ``percent`` (0-100, ``None`` for no items), Cohen's ``kappa`` (``None``: no items, or
    undefined because every label of both raters is the same)."""

    n: int
    agree: int
    percent: float | None
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohen_kappa(a: Sequence[str], b: Sequence[str],
                labels: Sequence[str] = LABELS) -> float | None:
    """Cohen's kappa of two equally long label sequences; ``None`` where it is undefined (no
    items, or a chance agreement of 1: both raters used one and the same label throughout).

    Raises:
        ValueError: the sequences differ in length, or a label is not in ``labels``.
    """
    if len(a) != len(b):
        raise ValueError("两组评分数目不同 / the two sequences differ in length")
    if not a:
        return None
    unknown = (set(a) | set(b)) - set(labels)
    if unknown:
        raise ValueError(f"未知的评分 / unknown labels: {sorted(unknown)}")
    if len(set(a)) == 1 and set(a) == set(b):
        return None  # p_e = 1: 0/0
    from sklearn.metrics import cohen_kappa_score
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = cohen_kappa_score(list(a), list(b), labels=list(labels),
                              replace_undefined_by=math.nan)
    k = float(k)
    return None if math.isnan(k) else k


def compare(a: Sequence[str | None], b: Sequence[str | None],
            labels: Sequence[str] = LABELS) -> Agreement:
    """Agreement of two raters over paired items; pairs where either label is ``None`` (not
    rated) are left out."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    agree = sum(x == y for x, y in pairs)
    return Agreement(n=len(pairs), agree=agree,
                     percent=round(100.0 * agree / len(pairs), 1) if pairs else None,
                     kappa=cohen_kappa(xs, ys, labels))


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the defined values (``None`` when none is)."""
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def panel(ratings: Mapping[Hashable, Mapping[Hashable, str]],
          machine: Mapping[Hashable, str] | None = None,
          labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """Agreement of a panel of raters over items: ``ratings[rater][item] = label``, optionally
    with the machine's ``machine[item] = label``.

    Returns ``pairs`` (each pair of raters: ``a``, ``b`` and their :class:`Agreement`),
    ``mean_kappa`` / ``mean_percent`` over the pairs (Light's kappa: the mean of the pairs'
    defined kappas), and with ``machine``: ``machine`` (each rater against the machine) and
    ``machine_mean_kappa`` / ``machine_mean_percent``.
    """
    raters = list(ratings)
    items = sorted({i for r in raters for i in ratings[r]}, key=str)
    out: dict[str, Any] = {"pairs": []}
    for ra, rb in combinations(raters, 2):
        ag = compare([ratings[ra].get(i) for i in items], [ratings[rb].get(i) for i in items],
                     labels)
        out["pairs"].append({"a": ra, "b": rb, **ag.to_dict()})
    out["mean_kappa"] = mean(p["kappa"] for p in out["pairs"])
    out["mean_percent"] = mean(p["percent"] for p in out["pairs"])
    if machine is not None:
        out["machine"] = []
        for r in raters:
            ag = compare([ratings[r].get(i) for i in items], [machine.get(i) for i in items],
                         labels)
            out["machine"].append({"rater": r, **ag.to_dict()})
        out["machine_mean_kappa"] = mean(m["kappa"] for m in out["machine"])
        out["machine_mean_percent"] = mean(m["percent"] for m in out["machine"])
    return out


def overturn_rate(upheld: int, overturned: int) -> tuple[float | None, float | None]:
    """For reviewed machine fails: (agreement %, overturn %) — ``None`` when none was
    reviewed."""
    n = upheld + overturned
    if not n:
        return None, None
    return round(100.0 * upheld / n, 1), round(100.0 * overturned / n, 1)


def random_draw(population: Iterable[str], size: int, seed: int) -> list[str]:
    """``size`` ids drawn without replacement from ``population`` (taken sorted, so the order
    the ids come in does not matter) by ``random.Random(seed)``: the same population, size
    and seed always give the same draw, in the same order. All of them when there are fewer.

    Raises:
        ValueError: ``size`` under 1.
    """
    import random
    if size < 1:
        raise ValueError("抽样数量至少为 1 / size must be at least 1")
    pool = sorted(set(population))
    return random.Random(seed).sample(pool, min(size, len(pool)))


def population_hash(population: Iterable[str]) -> str:
    """SHA-256 of the sorted ids, one a line: what a recorded draw was made from."""
    import hashlib
    return hashlib.sha256("\n".join(sorted(set(population))).encode()).hexdigest()
