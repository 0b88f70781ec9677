"""Bulk writes and set membership that cost a few round trips whatever their size.

A feed's commit writes hundreds of thousands of rows (records, their tokens, change entries, links, their history)
and looks records up by long lists of keys. On PostgreSQL, an ``INSERT`` of many rows (or an ``IN`` list of many
keys) is a new statement text each time, which the driver parses again and the server plans again; so there:

* rows are written with ``COPY`` (:func:`insert_rows`), and new rows' keys are drawn from the table's own sequence
  first (:func:`new_keys`), so they can be copied with their keys and nothing needs ``RETURNING``;
* membership is ``column = ANY(:keys)`` with the keys as one array parameter (:func:`among`): one statement text,
  prepared once, whatever the number of keys.

SQLite, in process, has no round trips to save: there rows go to the driver's ``executemany`` of one prepared
``INSERT`` as plain tuples (without SQLAlchemy's work per row), new keys follow the largest key (as SQLite's own
choice would), and membership is chunked ``IN`` lists. Values pass through each column's own bind processing on both
databases (the UTC timestamps are converted exactly as an ``INSERT`` would).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

# Keys per membership test: SQLite's ``IN`` lists stay well inside its variable limit; PostgreSQL takes one array.
SQLITE_CHUNK = 500
POSTGRES_CHUNK = 50_000


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def chunk_size(conn: Connection) -> int:
    """How many keys one :func:`among` test should carry on this database."""
    return POSTGRES_CHUNK if is_postgres(conn) else SQLITE_CHUNK


def chunks(conn: Connection, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``items`` in slices of :func:`chunk_size`, for one :func:`among` test each."""
    size = chunk_size(conn)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(conn: Connection, column: ColumnElement[Any], keys: Sequence[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``keys``: ``= ANY(array)`` on PostgreSQL, ``IN (...)`` elsewhere."""
    if is_postgres(conn):
        return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
    return column.in_(list(keys))


def among_param(postgres: bool, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """:func:`among` with the keys left as the parameter ``name``, for a statement built once and run many times with
    other keys (nothing to build or check per key; on SQLite the list expands when run, at most one chunk)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def new_keys(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` fresh values for ``table``'s integer primary key ``pk``, ascending, for rows about to be inserted
    in this transaction.

    PostgreSQL draws them from the key's sequence. SQLite gives a new row the largest key plus one; inside a write
    transaction (which holds the database's only write lock) the next ``count`` keys are exactly those.
    """
    if count <= 0:
        return []
    if is_postgres(conn):
        query = text("SELECT nextval(pg_get_serial_sequence(:table, 'pk')) FROM generate_series(1, :count)")
        return sorted(int(k) for k in conn.execute(query, {"table": table.name, "count": count}).scalars())
    last = conn.execute(select(func.max(table.c.pk))).scalar_one()
    start = int(last or 0) + 1
    return list(range(start, start + count))


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: ``COPY`` on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    names = list(rows[0])
    processors = [_processor(conn, table, name) for name in names]
    if not is_postgres(conn):
        # One prepared INSERT run by the driver over plain tuples (SQLAlchemy's per-row work skipped).
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=names)
        order = [names.index(name) for name in compiled.positiontup or ()]
        assert sorted(order) == list(range(len(names))), "every column is bound once"
        conn.exec_driver_sql(str(compiled), [tuple(v[i] for i in order) for v in _tuples(rows, names, processors)])
        return
    from psycopg import sql  # noqa: PLC0415  (the PostgreSQL driver, loaded only where it is used)

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in names)
    )
    driver = conn.connection.driver_connection
    assert driver is not None, "an open connection has its driver connection"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for values in _tuples(rows, names, processors):
            copy.write_row(values)


def _processor(conn: Connection, table: Table, name: str) -> Callable[[Any], Any] | None:
    column = table.c[name]
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor


def _tuples(
    rows: Iterable[Mapping[str, Any]], names: Sequence[str], processors: Sequence[Callable[[Any], Any] | None]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(
            value if p is None else p(value) for value, p in zip((row[n] for n in names), processors, strict=True)
        )
