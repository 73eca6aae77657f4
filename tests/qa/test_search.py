"""Transcript search: tokens, the query language, highlighting, and the two index engines
(SQLite FTS5, PostgreSQL tsvector) giving the hits that plain substring / same-sound matching
over the texts gives."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import select, text

from qa.search import (Query, QueryError, Term, highlight, index_sounds, index_words, parse_query,
                       sounds_of)


def test_tokens_are_bigrams_then_the_last_character():
    assert index_words("漏水了！") == ["漏水", "水了", "了"]
    assert index_words("A座") == ["a座", "座"]
    assert index_words("，。") == []
    assert index_sounds("漏水") == ["nou0sui", "sui"]  # l/n and sh/s folded


def test_spoken_and_written_digits_sound_the_same():
    assert sounds_of("幺三九") == sounds_of("139") == sounds_of("一三九")
    assert sounds_of("两栋") == sounds_of("2栋")


def test_query_language():
    q = parse_query('漏水  "卫生 间" 师傅|维修工 -已修好')
    assert [t.alternatives for t in q.terms] == [("漏水",), ("卫生间",), ("师傅", "维修工"),
                                                 ("已修好",)]
    assert [t.negate for t in q.terms] == [False, False, False, True]
    assert parse_query("漏水，").terms[0].alternatives == ("漏水",)
    with pytest.raises(QueryError):
        parse_query("- -")


@pytest.mark.parametrize("bad, message", [("", "请输入"), ("，。！", "请输入"),
                                          ("-漏水", "不能只有排除词"),
                                          ("漏" * 51, "太长"),
                                          (" ".join("词" + str(i) for i in range(11)), "太多")])
def test_bad_queries_say_why(bad, message):
    with pytest.raises(QueryError, match=message):
        parse_query(bad)


def test_highlight_exact_and_by_sound():
    h = highlight("喂，我家楼水了，卫生间。", parse_query("漏水 卫生间", sound=True))
    assert h.found and h.fuzzy
    assert [t for t, hit in h.segments if hit] == ["楼水", "卫生间"]
    assert "".join(t for t, _ in h.segments) == "喂，我家楼水了，卫生间。"
    exact = highlight("我家漏水了", parse_query("漏水", sound=True))
    assert exact.found and not exact.fuzzy and exact.spans == ((2, 4),)
    assert not highlight("我家楼水了", parse_query("漏水")).found  # no sound: not found
    # a hit across punctuation keeps the punctuation inside the span
    assert highlight("物业，费用", parse_query("业费")).spans == ((1, 4),)


# --- both engines against the texts -----------------------------------------------------------

WORDS = ["漏水", "楼水", "物业费", "物业会", "师傅", "维修", "卫生间", "电梯", "没办法", "经理",
         "您好", "投诉", "停车", "吵", "A座", "1栋", "一栋", "十栋", "是", "事"]


def _texts(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    filler = "我家的了在这个那么请问一下好吧啊，。？"
    out = []
    for _ in range(n):
        parts = [rng.choice(WORDS) if rng.random() < 0.5 else rng.choice(filler)
                 for _ in range(rng.randint(1, 9))]
        out.append("".join(parts))
    return out


def _has(text: str, term, sound: bool) -> bool:
    """Plain matching over the text: a substring, or (``sound``) the same syllables."""
    return highlight(text, Query((Term(term.alternatives),), sound)).found


def _expected(texts: dict[int, str], q) -> set[int]:
    return {i for i, t in texts.items()
            if all(_has(t, term, q.sound) != term.negate for term in q.terms)}


QUERIES = [("漏水", False), ("漏水", True), ("物业费", True), ("物业费", False), ("吵", False),
           ("师傅 维修", False), ("师傅|经理", False), ("漏水 -师傅", True), ("栋", False),
           ("一栋", True), ("a座", False), ("卫生间 -电梯 -停车", False), ("十栋", True),
           ('"没 办法"', False)]


def test_both_engines_give_the_hits_of_the_texts(db_url):
    from models import Call, Utterance, make_engine, session_scope
    from models import search_index
    from qa import transcript_index

    texts = _texts(400)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        call = Call(id="c-1", content_sha256="a" * 64, source_path="/x", filename="x.mp3")
        call.utterances = [Utterance(idx=i, speaker="customer" if i % 2 else "agent",
                                     start=i, end=i + 1, text=t) for i, t in enumerate(texts)]
        s.add(call)
        s.flush()
        assert transcript_index.index_call(s, "c-1") == 400
    with session_scope(engine) as s:
        by_id = dict(s.execute(select(Utterance.id, Utterance.text)).all())
        assert transcript_index.is_current(s.connection())  # a new database: stamped
        for qtext, sound in QUERIES:
            q = parse_query(qtext, sound=sound)
            ids = search_index.matching_ids(engine.dialect.name, q.groups())
            got = set(s.scalars(select(Utterance.id).where(Utterance.id.in_(ids))))
            assert got == _expected(by_id, q), (qtext, sound)
            assert got or qtext in ("a座",), qtext  # every query finds something
    # the rows go with their utterances (re-analysis) and with the call
    with session_scope(engine) as s:
        s.execute(text("DELETE FROM utterances WHERE idx < 100"))
    table = search_index.FTS if engine.dialect.name == "sqlite" else search_index.PG_TABLE
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 300
    with session_scope(engine) as s:
        s.delete(s.get(Call, "c-1"))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    engine.dispose()


def test_reindex_rebuilds_from_the_utterances(db_url):
    from models import Call, Utterance, make_engine, session_scope
    from models import search_index
    from qa import transcript_index

    engine = make_engine(db_url)
    with session_scope(engine) as s:  # stored without the index (as before the migration)
        call = Call(id="c-2", content_sha256="b" * 64, source_path="/y", filename="y.mp3")
        call.utterances = [Utterance(idx=i, speaker="agent", start=i, end=i + 1, text=t)
                           for i, t in enumerate(_texts(50, seed=5))]
        s.add(call)
    with engine.connect() as conn:
        assert not transcript_index.is_current(conn)
    result = transcript_index.ensure_current(engine)
    assert result is not None and result.utterances == 50
    assert transcript_index.ensure_current(engine) is None  # current now: nothing to do
    with session_scope(engine) as s:
        q = parse_query("漏水|物业费")
        ids = search_index.matching_ids(engine.dialect.name, q.groups())
        got = set(s.scalars(select(Utterance.id).where(Utterance.id.in_(ids))))
        by_id = dict(s.execute(select(Utterance.id, Utterance.text)).all())
        assert got == _expected(by_id, q) and got
    engine.dispose()


def test_upgrade_from_0005_indexes_the_calls_already_stored(db_url):
    from alembic import command

    import models
    from models import search_index
    from qa import transcript_index

    command.downgrade(models.db.alembic_config(db_url), "0005")
    assert not set(models.db.table_names(db_url)) & {"monitors", "topic_names", "search_state"}
    engine = models.make_engine(db_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO calls (id, content_sha256, source_path, filename, size_bytes, "
                       "media_type, metadata, status, needs_review, review_pending, created_at, "
                       "updated_at) VALUES ('old', :sha, '/o', 'o.mp3', 0, 'audio', '{}', "
                       "'done', false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                  {"sha": "c" * 64})
        c.execute(text("INSERT INTO utterances (call_id, idx, speaker, start, \"end\", text) "
                       "VALUES ('old', 0, 'customer', 1.0, 2.0, '我家卫生间漏水了')"))
    models.upgrade(db_url)
    with engine.connect() as c:
        assert search_index.version(c) == 0  # created empty, to be built
    assert transcript_index.ensure_current(engine).utterances == 1
    q = parse_query("漏水")
    with engine.connect() as c:
        ids = search_index.matching_ids(engine.dialect.name, q.groups())
        assert c.execute(select(ids.subquery().c.id)).scalars().all() == [
            c.execute(text("SELECT id FROM utterances WHERE call_id = 'old'")).scalar()]
    command.downgrade(models.db.alembic_config(db_url), "0005")
    assert not set(models.db.table_names(db_url)) & {search_index.STATE, search_index.FTS,
                                                     search_index.PG_TABLE}
    engine.dispose()
