"""The pipeline's state as Parquet files under a storage root, for runs spread over several machines.

In distributed mode (a storage root is set) no step opens a DuckDB file for writing: each step gets an
in-memory DuckDB database loaded from the Parquet tables under the root, runs the same core function
as in local mode, and writes back the tables it changed (each file replaced whole: written next to
it, then renamed). Only the writer step (`load_into`) builds a DuckDB file from the Parquet, and
`warehouse.publish` turns that into the analysts' file.

The root is a local folder by default; any fsspec URL (`s3://bucket/newsdag`, `memory://x`) in
principle: DuckDB reads and writes through the registered fsspec filesystem.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Iterator

import duckdb

log = logging.getLogger("newsdag")


def _fs(root: str):
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(root))
    return fs, path.rstrip("/")


def _is_local(fs) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,))


def _url(fs, path: str) -> str:
    if _is_local(fs):
        return path
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    return f"{protocol}://{path}"


# A table name: what the steps create (lower-case identifiers). A file under the root whose name is not
# one is ignored, so no name read from storage can change the meaning of a statement.
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _tables(fs, base: str) -> dict[str, str]:
    """table name -> path of its Parquet file (only names that are plain identifiers)."""
    if not fs.exists(f"{base}/tables"):
        return {}
    found = {Path(p).name[: -len(".parquet")]: p for p in fs.ls(f"{base}/tables", detail=False)
             if p.endswith(".parquet")}
    for name in [n for n in found if not _TABLE_NAME.fullmatch(n)]:
        log.warning("lake: ignoring %r under %s: not a table name", found.pop(name), base)
    return found


def _write_parquet(con: duckdb.DuckDBPyConnection, table: str, fs, path: str, batch_rows: int = 100_000) -> None:
    """Stream a table to a Parquet file through Arrow (no path in SQL: COPY takes no parameters)."""
    import pyarrow.parquet as pq

    reader = con.cursor().sql(f'SELECT * FROM main."{table}"').to_arrow_reader(batch_rows)  # table: a checked identifier
    with fs.open(path, "wb") as f, pq.ParquetWriter(f, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def _digest(con: duckdb.DuckDBPyConnection, table: str) -> tuple:
    """Cheap content fingerprint of a table: row count and an order-independent hash of its rows."""
    return con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" t').fetchone()


def _main_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND NOT temporary").fetchall() if _TABLE_NAME.fullmatch(t)]


def _load(con: duckdb.DuckDBPyConnection, fs, tables: dict[str, str], ddl) -> None:
    """Create the tables with `ddl` (keys and constraints: Parquet keeps only columns), then fill every
    table from its Parquet file; a table the DDL does not know is created from the file's columns."""
    for statement in ddl:
        con.execute(statement)
    existing = set(_main_tables(con))
    for table, path in sorted(tables.items()):
        if table in existing:
            con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM read_parquet(?)', [_url(fs, path)])
        else:
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_parquet(?)', [_url(fs, path)])


def open_memory(root: str, ddl: list[str] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding every table under `root`, created with `ddl` first."""
    fs, base = _fs(root)
    con = duckdb.connect(":memory:")
    if not _is_local(fs):
        con.register_filesystem(fs)
    _load(con, fs, _tables(fs, base), ddl)
    return con


@contextlib.contextmanager
def session(root: str, ddl: list[str] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A step's view of the state: loaded from Parquet, changed tables written back on success."""
    fs, base = _fs(root)
    con = open_memory(root, ddl)
    before = {t: _digest(con, t) for t in _main_tables(con)}
    try:
        yield con
        fs.makedirs(f"{base}/tables", exist_ok=True)
        after = _main_tables(con)
        for table in after:
            if before.get(table) == _digest(con, table):
                continue
            final = f"{base}/tables/{table}.parquet"
            tmp = f"{base}/tables/.{table}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            _write_parquet(con, table, fs, tmp)
            fs.mv(tmp, final)  # a rename on a local disk: readers see the old file or the new one
        for table in set(before) - set(after):  # dropped by the step (its file may never have been written)
            if fs.exists(f"{base}/tables/{table}.parquet"):
                fs.rm(f"{base}/tables/{table}.parquet")
    finally:
        con.close()


def load_into(root: str, db_path: Path, ddl: list[str] = ()) -> None:
    """The writer step: replace the DuckDB file `db_path` with the Parquet tables under `root`."""
    from newsdag.warehouse import connect, transaction

    fs, base = _fs(root)
    con = connect(db_path)
    try:
        if not _is_local(fs):
            con.register_filesystem(fs)
        with transaction(con):
            tables = _tables(fs, base)
            for table in _main_tables(con):
                con.execute(f'DROP TABLE "{table}"')
            _load(con, fs, tables, ddl)
        log.info("writer: loaded %d tables from %s into %s", len(tables), root, db_path)
    finally:
        con.close()
