"""The generated corpus: reproducible, both parties' words, agent templates apart from the caller's."""
from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from classifiers import model as M

GEN = Path(M.PACKAGE) / "corpus" / "make_corpus.py"


def _generator():
    """A fresh copy of the generator module (it keeps homophone tables in module globals)."""
    spec = importlib.util.spec_from_file_location("make_corpus_under_test", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rows():
    return [json.loads(x) for x in M.CORPUS.read_text("utf-8").splitlines() if x.strip()]


def test_shipped_corpus_is_reproducible(capsys):
    assert _generator().main(["--check"]) == 0
    assert "reproducible" in capsys.readouterr().out


def test_agent_templates_do_not_change_the_callers_words(rows):
    """The agent's side has its own random generator: rewriting its templates leaves the
    customer's words (and the voice calls rendered from them) as they are."""
    gen = _generator()
    gen.A_REPAIR = ["好的，收到。", "行，我记下了。", "明白。"]
    gen.A_GREET = ["喂。"]
    fresh = gen.generate()
    assert [e["turns"] for e in fresh] == [e["turns"] for e in rows]
    assert [e["agent_turns"] for e in fresh] != [e["agent_turns"] for e in rows]


def test_examples_carry_agent_turns_and_some_have_none(rows):
    assert all(isinstance(e["agent_turns"], list) for e in rows)
    empty = sum(not e["agent_turns"] for e in rows) / len(rows)
    assert 0.05 < empty < 0.2        # text-only examples: the model must work without the agent
    text = "".join(t for e in rows for t in e["agent_turns"])
    for word in ("师傅", "公众号", "抱歉", "感谢您的建议", "不属于物业"):
        assert word in text


def test_agent_decided_calls_share_the_callers_templates(rows):
    """Repair and inquiry callers of the 'question' family speak alike; the agent differs."""
    fam = [e for e in rows if e.get("agent_decides")]
    assert Counter((e["agent_decides"], e["call_type"]) for e in fam)[("question", "inquiry")] >= 50
    opening = lambda e: e["turns"][0][:4]  # noqa: E731
    rep = {opening(e) for e in fam if e["agent_decides"] == "question" and e["call_type"] == "repair"}
    inq = {opening(e) for e in fam if e["agent_decides"] == "question" and e["call_type"] == "inquiry"}
    assert len(rep & inq) >= 3
    complaints = [e for e in fam if e["call_type"] == "complaint"]
    assert complaints and all(e["for_complaint_type"] is False for e in complaints)
    assert all(M.example_from_dict(e).for_complaint_type is False for e in complaints)
