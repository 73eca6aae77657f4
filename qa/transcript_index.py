"""Keeping the transcript search index in step with the stored utterances.

* :func:`index_call` — after a call's utterances are written (analysis or re-analysis), in the
  same transaction: the call's hits are searchable the moment its results are;
* :func:`reindex` — rebuild the whole index from the stored utterances
  (``hotline-qa search reindex``), batch by batch, each batch read and written in one
  transaction so a call re-analysed meanwhile is never indexed with its old words;
* :func:`ensure_current` — at start-up: rebuild when the index was written by another
  tokenizer version (or never, right after the migration).

Removing rows needs nothing here: the index rows go with their utterances (a trigger on
SQLite, a cascading foreign key on PostgreSQL; ``models.search_index``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from models import Utterance, get_engine
from models import search_index as idx
from qa.search import TOKENIZER_VERSION, index_sounds, index_words

log = logging.getLogger("hotline_qa.search")

__all__ = ["ReindexResult", "ensure_current", "index_call", "is_current", "reindex", "rows_of"]


def rows_of(utterances) -> list[idx.Row]:
    """Index rows of ``(utterance_id, call_id, idx, speaker, text)`` tuples."""
    return [(uid, cid, i, spk, index_words(t or ""), index_sounds(t or ""))
            for uid, cid, i, spk, t in utterances]


def index_call(s: Session, call_id: str) -> int:
    """Index the stored utterances of ``call_id`` (in ``s``'s transaction). Returns how many."""
    s.flush()
    pairs = s.execute(select(Utterance.id, Utterance.call_id, Utterance.idx, Utterance.speaker,
                             Utterance.text).where(Utterance.call_id == call_id)).all()
    n = idx.write(s.connection(), rows_of(pairs))
    idx.stamp_if_only(s.connection(), call_id, TOKENIZER_VERSION)
    return n


def is_current(conn: Connection) -> bool:
    return idx.version(conn) == TOKENIZER_VERSION


@dataclass(frozen=True)
class ReindexResult:
    utterances: int
    seconds: float
    size_bytes: int | None


def reindex(engine: Engine | str, *, batch: int = idx.BATCH,
            progress: Callable[[int], None] | None = None) -> ReindexResult:
    """Rebuild the index from every stored utterance; the tokenizer version is recorded at
    the end (a search meanwhile finds what is indexed so far)."""
    engine = get_engine(engine) if isinstance(engine, str) else engine
    t0 = time.perf_counter()
    with engine.begin() as conn:
        idx.set_version(conn, 0)
        idx.clear(conn)
    last, done = 0, 0
    lock = " FOR SHARE" if engine.dialect.name == "postgresql" else ""
    while True:
        with engine.begin() as conn:  # read and write one batch in one transaction
            pairs = conn.execute(text(
                f"SELECT id, call_id, idx, speaker, text FROM utterances WHERE id > :last ORDER BY id LIMIT :n{lock}"),
                {"last": last, "n": batch}).all()
            if not pairs:
                break
            done += idx.write(conn, rows_of(pairs))
        last = pairs[-1][0]
        if progress:
            progress(done)
    with engine.begin() as conn:
        idx.finish(conn)
        idx.set_version(conn, TOKENIZER_VERSION)
        size = idx.size_bytes(conn)
    seconds = time.perf_counter() - t0
    log.info("search index rebuilt: %d utterances in %.1f s", done, seconds)
    return ReindexResult(done, seconds, size)


def ensure_current(engine: Engine | str) -> ReindexResult | None:
    """Rebuild the index if it was built by another tokenizer version; ``None`` if current."""
    engine = get_engine(engine) if isinstance(engine, str) else engine
    with engine.connect() as conn:
        if is_current(conn):
            return None
        empty = conn.execute(text("SELECT 1 FROM utterances LIMIT 1")).first() is None
    if empty:
        with engine.begin() as conn:
            idx.finish(conn)  # the GIN indexes of an interrupted rebuild come back
            idx.set_version(conn, TOKENIZER_VERSION)
        return ReindexResult(0, 0.0, None)
    log.warning("搜索索引版本不符，正在重建 / the search index is out of date: rebuilding")
    return reindex(engine)
