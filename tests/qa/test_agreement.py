"""qa.agreement: Cohen's kappa and percent agreement on hand-made labels (values worked out in
the comments), the degenerate cases, the panel summary and the seeded random draw."""
from __future__ import annotations

import random

import pytest

from qa.agreement import (Agreement, cohen_kappa, compare, mean, overturn_rate, panel,
                          population_hash, random_draw)


def test_kappa_on_hand_made_labels():
    # a: p p f f ; b: p f f f  → p_o = 3/4; p_e = 2/4·1/4 + 2/4·3/4 = 1/2 → κ = 0.5
    assert cohen_kappa(["pass", "pass", "fail", "fail"],
                       ["pass", "fail", "fail", "fail"]) == pytest.approx(0.5)
    # three labels: a p p f n n n, b p f f n n p
    # p_o = 4/6; a: p 2, f 1, n 3; b: p 2, f 2, n 2 → p_e = (4 + 2 + 6)/36 = 1/3
    # κ = (2/3 − 1/3)/(2/3) = 0.5
    a = ["pass", "pass", "fail", "n/a", "n/a", "n/a"]
    b = ["pass", "fail", "fail", "n/a", "n/a", "pass"]
    assert cohen_kappa(a, b) == pytest.approx(0.5)
    # perfect agreement with two labels: κ = 1; perfect disagreement p f / f p: κ = −1
    assert cohen_kappa(["pass", "fail"], ["pass", "fail"]) == pytest.approx(1.0)
    assert cohen_kappa(["pass", "fail"], ["fail", "pass"]) == pytest.approx(-1.0)


def test_degenerate_cases():
    # no items: nothing to say
    assert cohen_kappa([], []) is None
    assert compare([], []) == Agreement(n=0, agree=0, percent=None, kappa=None)
    # one and the same label throughout on both sides: p_e = 1, κ undefined; 100 % agreement
    ag = compare(["pass"] * 5, ["pass"] * 5)
    assert ag.kappa is None and ag.percent == 100.0 and ag.n == ag.agree == 5
    assert compare(["n/a"], ["n/a"]).kappa is None
    # one side constant, the other not: defined, p_o = p_e → κ = 0 (no better than chance)
    ag = compare(["pass"] * 4, ["pass", "pass", "pass", "fail"])
    assert ag.kappa == pytest.approx(0.0) and ag.percent == 75.0
    # both constant on different labels: p_o = 0 = p_e → κ = 0
    assert compare(["pass"] * 3, ["fail"] * 3).kappa == pytest.approx(0.0)
    # items one side did not rate are left out
    ag = compare(["pass", None, "fail"], ["pass", "fail", None])
    assert (ag.n, ag.agree, ag.kappa) == (1, 1, None)
    with pytest.raises(ValueError):
        cohen_kappa(["pass"], ["pass", "fail"])
    with pytest.raises(ValueError):
        cohen_kappa(["pass"], ["maybe"])


def test_panel_pairs_means_and_machine():
    ratings = {"x": {1: "pass", 2: "fail", 3: "pass", 4: "pass"},
               "y": {1: "pass", 2: "fail", 3: "fail", 4: "pass"},
               "z": {1: "pass", 2: "pass", 3: "pass", 4: "pass"}}
    machine = {1: "pass", 2: "fail", 3: "pass", 4: "pass"}
    p = panel(ratings, machine)
    pairs = {(q["a"], q["b"]): q for q in p["pairs"]}
    # x–y: p_o 3/4; x p 3 f 1, y p 2 f 2 → p_e = (6 + 2)/16 = 1/2 → κ 0.5
    assert pairs[("x", "y")]["kappa"] == pytest.approx(0.5)
    # x–z and y–z: z constant → κ 0
    assert pairs[("x", "z")]["kappa"] == pytest.approx(0.0)
    assert pairs[("y", "z")]["kappa"] == pytest.approx(0.0)
    assert p["mean_kappa"] == pytest.approx(0.5 / 3)
    assert p["mean_percent"] == pytest.approx((75 + 75 + 50) / 3)
    m = {q["rater"]: q for q in p["machine"]}
    assert m["x"]["kappa"] == pytest.approx(1.0) and m["x"]["percent"] == 100.0
    assert p["machine_mean_kappa"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    # a panel where every kappa is undefined: means are None, percent still there
    p = panel({"a": {1: "n/a"}, "b": {1: "n/a"}})
    assert p["mean_kappa"] is None and p["mean_percent"] == 100.0 and "machine" not in p
    assert mean([None, None]) is None and mean([1.0, None, 0.0]) == 0.5


def test_overturn_rate():
    assert overturn_rate(0, 0) == (None, None)
    assert overturn_rate(3, 1) == (75.0, 25.0)


def test_random_draw_is_seeded_sorted_and_recorded():
    ids = [f"c-{i:03d}" for i in range(50)]
    shuffled = random.Random(9).sample(ids, len(ids))
    draw = random_draw(shuffled, 5, seed=123)
    assert draw == random_draw(ids, 5, seed=123) == random.Random(123).sample(sorted(ids), 5)
    assert random_draw(ids, 5, seed=124) != draw
    assert sorted(random_draw(ids[:3], 10, seed=1)) == ids[:3]  # fewer: all of them
    assert population_hash(shuffled) == population_hash(ids) != population_hash(ids[1:])
    with pytest.raises(ValueError):
        random_draw(ids, 0, seed=1)
