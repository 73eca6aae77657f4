"""The transcript search index in the database: its tables, writing rows, and the match SQL.

Two engines, one behaviour (the tokens come from ``qa.search``; this module only stores and
matches them):

SQLite
    an FTS5 table ``utterance_fts(words, sounds)`` whose rowid is the utterance id; a trigger
    removes an utterance's row when the utterance goes (a re-analysis replaces the utterances;
    a deleted call takes them with it through the foreign-key cascade).
PostgreSQL
    a table ``utterance_search(utterance_id, call_id, idx, speaker, words tsvector, sounds
    tsvector)`` with a GIN index on each ``tsvector`` and a foreign key to ``utterances``
    that cascades deletes. The utterance's call, position and speaker are copied in, so a
    search counts and orders its hits without visiting the utterances (only the page shown
    reads them: twice as fast at 100 000 calls). The ``tsvector`` values are written as
    literals (``'漏水':1 '水管':2``) and matched with ``tsquery`` literals, so no
    text-search configuration or locale decides what a token is.

A term is a phrase of tokens (FTS5 ``"漏水 水管"``, ``tsquery`` ``'漏水' <-> '水管'``) or, for
one character, a prefix (``"漏" *``, ``'漏':*``); a term matches when any of its clauses does;
all positive terms must match and no negated one. ``search_state`` records the version of the
tokens the index was built with, so an index written by another version is rebuilt.

The index objects are not ORM tables: :func:`include_name` keeps them out of Alembic's
comparison of the ORM with the database.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, String, column, text
from sqlalchemy.sql.elements import TextClause

FTS = "utterance_fts"
PG_TABLE = "utterance_search"
STATE = "search_state"
_FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")
OBJECTS = frozenset({FTS, PG_TABLE, STATE, *(FTS + s for s in _FTS_SHADOWS)})
BATCH = 5000
MAX_POSITION = 16383  # tsvector positions stop here

#: ``(utterance_id, call_id, idx, speaker, words tokens, sounds tokens)``
Row = tuple[int, str, int, str, Sequence[str], Sequence[str]]
#: ``(negate, [(column, tokens, prefix), ...])`` per term
Group = tuple[bool, Sequence[Any]]


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:  # noqa: ARG001
    """Alembic ``include_name`` hook: the search index's tables are not ORM tables."""
    return not (type_ == "table" and name in OBJECTS)


# --- schema -------------------------------------------------------------------------------------

def create(conn: Connection) -> None:
    """Create the index objects for the connection's dialect (used by the migration)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"CREATE VIRTUAL TABLE {FTS} USING fts5(words, sounds, "
                          "tokenize = 'unicode61 remove_diacritics 0')"))
        conn.execute(text(f"CREATE TRIGGER utterances_search_delete AFTER DELETE ON utterances "
                          f"BEGIN DELETE FROM {FTS} WHERE rowid = old.id; END"))
    else:
        conn.execute(text(
            f"CREATE TABLE {PG_TABLE} (utterance_id INTEGER PRIMARY KEY "
            "REFERENCES utterances (id) ON DELETE CASCADE, "
            "words TSVECTOR NOT NULL, sounds TSVECTOR NOT NULL)"))
        add_hit_columns(conn)
        _pg_gin(conn)
    conn.execute(text(f"CREATE TABLE {STATE} (name VARCHAR(64) PRIMARY KEY, "
                      "value VARCHAR(200) NOT NULL)"))
    conn.execute(text(f"INSERT INTO {STATE} (name, value) VALUES ('tokenizer_version', '0')"))


def add_hit_columns(conn: Connection) -> None:
    """PostgreSQL: the utterance's call, position and speaker in the index table (migration
    0008; a no-op where they are there or on SQLite, whose FTS rowid joins the utterances
    directly)."""
    if conn.dialect.name == "sqlite":
        return
    conn.execute(text(f"ALTER TABLE {PG_TABLE} ADD COLUMN IF NOT EXISTS call_id VARCHAR(64), "
                      "ADD COLUMN IF NOT EXISTS idx INTEGER, "
                      "ADD COLUMN IF NOT EXISTS speaker VARCHAR(16)"))


def drop(conn: Connection) -> None:
    """Remove the index objects (the migration's downgrade)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {STATE}"))
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS utterances_search_delete"))
        conn.execute(text(f"DROP TABLE IF EXISTS {FTS}"))
    else:
        conn.execute(text(f"DROP TABLE IF EXISTS {PG_TABLE}"))


def version(conn: Connection) -> int:
    """The tokenizer version the index was built with (0: never built)."""
    v = conn.execute(text(f"SELECT value FROM {STATE} WHERE name = 'tokenizer_version'")).scalar()
    return int(v or 0)


def stamp_if_only(conn: Connection, call_id: str, v: int) -> None:
    """Record version ``v`` on a never-built index when ``call_id``'s utterances (just
    indexed) are the only ones stored: the index is then complete (a new database)."""
    conn.execute(text(
        f"UPDATE {STATE} SET value = :v WHERE name = 'tokenizer_version' AND value = '0' "
        "AND NOT EXISTS (SELECT 1 FROM utterances WHERE call_id <> :cid)"),
        {"v": str(v), "cid": call_id})


def set_version(conn: Connection, v: int) -> None:
    conn.execute(text(f"UPDATE {STATE} SET value = :v WHERE name = 'tokenizer_version'"),
                 {"v": str(v)})


# --- writing ------------------------------------------------------------------------------------

def _tsvector(tokens: Sequence[str]) -> str:
    return " ".join(f"'{t}':{min(i + 1, MAX_POSITION)}" for i, t in enumerate(tokens))


def write(conn: Connection, rows: Iterable[Row]) -> int:
    """Write (or replace) the index rows of utterances. Returns the number written."""
    rows = list(rows)
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    if conn.dialect.name == "sqlite":
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            conn.execute(text(f"DELETE FROM {FTS} WHERE rowid IN "
                              f"({', '.join(str(int(x)) for x in chunk)})"))
        conn.execute(text(f"INSERT INTO {FTS} (rowid, words, sounds) VALUES (:id, :w, :s)"),
                     [{"id": r[0], "w": " ".join(r[4]), "s": " ".join(r[5])} for r in rows])
    else:
        conn.execute(text(
            f"INSERT INTO {PG_TABLE} (utterance_id, call_id, idx, speaker, words, sounds) "
            "VALUES (:id, :c, :i, :sp, CAST(:w AS tsvector), CAST(:s AS tsvector)) "
            "ON CONFLICT (utterance_id) DO UPDATE SET call_id = excluded.call_id, "
            "idx = excluded.idx, speaker = excluded.speaker, words = excluded.words, "
            "sounds = excluded.sounds"),
            [{"id": r[0], "c": r[1], "i": r[2], "sp": r[3], "w": _tsvector(r[4]),
              "s": _tsvector(r[5])} for r in rows])
    return len(rows)


def _pg_gin(conn: Connection) -> None:
    for col in ("words", "sounds"):
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{PG_TABLE}_{col} ON {PG_TABLE} "
                          f"USING gin ({col})"))


def clear(conn: Connection) -> None:
    """Empty the index before a rebuild. PostgreSQL's GIN indexes go too (building them
    once over the loaded table is several times faster than inserting into them row by
    row); :func:`finish` makes them again."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DELETE FROM {FTS}"))
    else:
        conn.execute(text(f"TRUNCATE {PG_TABLE}"))
        for col in ("words", "sounds"):
            conn.execute(text(f"DROP INDEX IF EXISTS ix_{PG_TABLE}_{col}"))


def finish(conn: Connection) -> None:
    """After a rebuild: merge SQLite's segments; make PostgreSQL's GIN indexes (with memory
    for the sort, this transaction only) and refresh the planner's statistics."""
    if conn.dialect.name == "sqlite":
        optimize(conn)
        return
    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    _pg_gin(conn)
    optimize(conn)


def optimize(conn: Connection) -> None:
    """Merge the index's segments (SQLite) / refresh planner statistics (PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {FTS} ({FTS}) VALUES ('optimize')"))
    else:
        conn.execute(text(f"ANALYZE {PG_TABLE}"))


def size_bytes(conn: Connection) -> int | None:
    """The index's size on disk where the engine says (``None`` where it does not)."""
    if conn.dialect.name == "sqlite":
        try:
            return int(conn.execute(text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE :p"), {"p": FTS + "%"}).scalar()
                or 0)
        except Exception:  # noqa: BLE001 - dbstat is an optional SQLite extension
            return None
    return int(conn.execute(text(f"SELECT pg_total_relation_size('{PG_TABLE}')")).scalar())


# --- matching -----------------------------------------------------------------------------------

def _fts_phrase(col: str, tokens: Sequence[str], prefix: bool) -> str:
    phrase = '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'
    return f"{{{col}}} : {phrase}{' *' if prefix else ''}"


def _pg_query(tokens: Sequence[str], prefix: bool) -> str:
    quoted = ["'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in tokens]
    return quoted[0] + ":*" if prefix else " <-> ".join(quoted)


def _match(dialect: str, groups: Sequence[Group], columns: str) -> TextClause:
    if dialect == "sqlite":
        pos = [" OR ".join(_fts_phrase(*c) for c in cl) for neg, cl in groups if not neg]
        expr = " AND ".join(f"({p})" for p in pos)
        for neg, cl in groups:
            if neg:
                expr = f"({expr}) NOT ({' OR '.join(_fts_phrase(*c) for c in cl)})"
        if columns == "id":
            return text(f"SELECT rowid AS id FROM {FTS} WHERE {FTS} MATCH :m").bindparams(m=expr)
        return text(f"SELECT u.id AS id, u.call_id AS call_id, u.idx AS idx, u.speaker AS "
                    f"speaker FROM {FTS} JOIN utterances u ON u.id = {FTS}.rowid "
                    f"WHERE {FTS} MATCH :m").bindparams(m=expr)
    params: dict[str, str] = {}
    parts = []
    for neg, cl in groups:
        alts = []
        for col, tokens, prefix in cl:
            key = f"q{len(params)}"
            params[key] = _pg_query(tokens, prefix)
            alts.append(f"{col} @@ CAST(:{key} AS tsquery)")
        parts.append(("NOT " if neg else "") + "(" + " OR ".join(alts) + ")")
    cols = ("utterance_id AS id" if columns == "id" else
            "utterance_id AS id, call_id, idx, speaker")
    return text(f"SELECT {cols} FROM {PG_TABLE} WHERE " + " AND ".join(parts)).bindparams(
        **params)


def matching_ids(dialect: str, groups: Sequence[Group]):
    """A ``SELECT`` of the ids of utterances that match ``groups`` (see the module
    docstring), usable in ``Utterance.id.in_(...)``."""
    return _match(dialect, groups, "id").columns(column("id", Integer))


def hits(dialect: str, groups: Sequence[Group]):
    """The utterances that match ``groups`` as a subquery ``(id, call_id, idx, speaker)``
    (PostgreSQL reads them from the index table alone; SQLite joins the FTS rowids to the
    utterances), to join to the calls."""
    return _match(dialect, groups, "hits").columns(
        column("id", Integer), column("call_id", String), column("idx", Integer),
        column("speaker", String)).subquery("h")
