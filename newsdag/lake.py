"""The pipeline's state as Parquet files under a storage root, for runs spread over several machines.

In distributed mode (a storage root is set) no step opens a DuckDB file for writing: each step gets an
in-memory DuckDB database loaded from the Parquet tables under the root, runs the same core function
as in local mode, and writes back what it changed. Only the writer step (`load_into`) builds a DuckDB
file from the Parquet, and `warehouse.publish` turns that into the analysts' file.

Layout under the root::

    tables/<table>.parquet                          a table without a day column (store.Table.day_column)
    tables/<table>/day=YYYY-MM-DD/part.parquet      a per-day table: one file per day that has rows

A step may ask for some days only (`session(root, ddl, days=...)`): the per-day tables are then loaded
for those days alone (only their files are opened), the other tables whole. On success each changed
table is written back: a plain table whole, a per-day table day by day (only the days whose rows
changed; a day left without rows loses its folder). Every file is written next to its final name, then
renamed, so a reader sees the old file or the new one. A step may not write rows of a day it did not
load while the lake holds that day (it would overwrite rows it never read): that is a ValueError, and
nothing is written. A flat `tables/<table>.parquet` of a table that is now per-day (written by an older
version) is read as that table's rows and replaced by the per-day layout the next time the table changes.

`write_frame`, `read_frame` and `remove_tree` keep other files that steps exchange (NER chunks...) under
the same root.

The root is a local folder by default; any fsspec URL (`s3://bucket/newsdag`, `memory://x`) in
principle: DuckDB reads and writes through the registered fsspec filesystem.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import duckdb
import pandas as pd

from newsdag import store

log = logging.getLogger("newsdag")

_PART = "part.parquet"            # the one file of a day's folder
_DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")
# Options of every read: no columns made up from `key=value` folder names (a root such as /data/run=3/
# would otherwise add a `run` column), and files written by different versions read by column name.
_READ = "read_parquet(?, union_by_name = true, hive_partitioning = false)"


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


def _tmp_name(folder: str, name: str) -> str:
    """A temporary file beside `folder/name` (hidden: listings skip it)."""
    return f"{folder}/.{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


# A table name: what the steps create (lower-case identifiers). A file under the root whose name is not
# one is ignored, so no name read from storage can change the meaning of a statement.
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _day_column(table: str) -> str | None:
    """The column that partitions `table` by day in the lake, or None (a table stored whole)."""
    spec = store.TABLES.get(table)
    column = spec.day_column if spec is not None else None
    return column if column and _TABLE_NAME.fullmatch(column) else None


def _parse_day(folder: str) -> dt.date | None:
    """The day of a `day=YYYY-MM-DD` folder name, or None for any other name."""
    match = _DAY_FOLDER.fullmatch(folder)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


@dataclass
class _Listing:
    """What the lake holds: the flat Parquet files and the day files of the per-day tables."""

    flat: dict[str, str] = field(default_factory=dict)                   # table -> tables/<table>.parquet
    parts: dict[str, dict[dt.date, str]] = field(default_factory=dict)   # per-day table -> day -> its file

    def day_path(self, base: str, table: str, day: dt.date) -> str:
        return f"{base}/tables/{table}/day={day.isoformat()}"


def _list(fs, base: str) -> _Listing:
    """One listing of `tables/` (names that are not plain identifiers or day folders are ignored)."""
    listing = _Listing()
    folder = f"{base}/tables"
    if not fs.exists(folder):
        return listing
    for path in sorted(fs.find(folder, maxdepth=3)):
        if not path.startswith(folder + "/"):
            log.warning("lake: ignoring %r: not under %s", path, folder)
            continue
        parts = path[len(folder) + 1:].split("/")
        if parts[-1].startswith("."):  # a writer's temporary file
            continue
        if len(parts) == 1 and parts[0].endswith(".parquet") and _TABLE_NAME.fullmatch(parts[0][:-len(".parquet")]):
            listing.flat[parts[0][:-len(".parquet")]] = path
        elif len(parts) == 3 and parts[2] == _PART and _TABLE_NAME.fullmatch(parts[0]) and _day_column(parts[0]):
            day = _parse_day(parts[1])
            if day is None:
                log.warning("lake: ignoring %r under %s: not a day=YYYY-MM-DD folder", parts[1], f"{folder}/{parts[0]}")
            else:
                listing.parts.setdefault(parts[0], {})[day] = path
        else:
            log.warning("lake: ignoring %r under %s: not a table file", "/".join(parts), folder)
    return listing


def _write_parquet(con: duckdb.DuckDBPyConnection, table: str, fs, path: str, batch_rows: int = 100_000) -> None:
    """Stream a table to a Parquet file through Arrow (no path in SQL: COPY takes no parameters)."""
    import pyarrow.parquet as pq

    reader = con.cursor().sql(f'SELECT * FROM main."{table}"').to_arrow_reader(batch_rows)  # table: a checked identifier
    with fs.open(path, "wb") as f, pq.ParquetWriter(f, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def _write_days(reader, column: str, fs, folder_of) -> int:
    """Write the rows of `reader` (sorted by `column`, a DATE) as one file per day, each to a temporary
    name in `folder_of(day)` then renamed to part.parquet. Returns the number of files written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    written = 0
    open_day = None  # [day, tmp path, final path, file, writer] of the day being written

    def finish(keep: bool) -> None:
        nonlocal open_day, written
        _, tmp, final, f, writer = open_day
        open_day = None
        try:
            writer.close()
        finally:
            f.close()
        if keep:
            fs.mv(tmp, final)  # a rename on a local disk: readers see the old file or the new one
            written += 1
        elif fs.exists(tmp):
            fs.rm(tmp)

    try:
        for batch in reader:
            days = batch.column(column)
            for day in pc.unique(days).to_pylist():  # in order of first appearance: the sort order
                if open_day is not None and open_day[0] != day:
                    finish(True)
                if open_day is None:
                    folder = folder_of(day)
                    fs.makedirs(folder, exist_ok=True)
                    tmp = _tmp_name(folder, _PART)
                    f = fs.open(tmp, "wb")
                    open_day = [day, tmp, f"{folder}/{_PART}", f, pq.ParquetWriter(f, reader.schema)]
                open_day[4].write_batch(batch.filter(pc.equal(days, pa.scalar(day, days.type))))
        if open_day is not None:
            finish(True)
    finally:
        if open_day is not None:
            finish(False)
    return written


def _digest(con: duckdb.DuckDBPyConnection, table: str) -> tuple:
    """Cheap content fingerprint of a table: row count and an order-independent hash of its rows."""
    return tuple(con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" t').fetchall()[0])


def _day_digests(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dict:
    """The fingerprint of each day's rows of a per-day table: day -> (count, hash); None: rows without a day."""
    return {day: (n, h) for day, n, h in con.execute(
        f'SELECT "{column}", count(*), bit_xor(hash(t)) FROM "{table}" t GROUP BY 1').fetchall()}


def _main_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND NOT temporary").fetchall() if _TABLE_NAME.fullmatch(t)]


@dataclass
class _Loaded:
    """What a step's database was loaded from."""

    listing: _Listing
    days: frozenset[dt.date] | None            # the days asked for (None: every day)
    legacy: dict[str, set[dt.date]] = field(default_factory=dict)  # per-day table -> days only its flat file has
    day_files: int = 0
    table_files: int = 0

    def lake_days(self, table: str) -> set[dt.date]:
        return set(self.listing.parts.get(table, {})) | self.legacy.get(table, set())

    def loaded_days(self, table: str) -> set[dt.date]:
        return self.lake_days(table) if self.days is None else set(self.days)


def _fill(con: duckdb.DuckDBPyConnection, table: str, existing: set[str], select: str, params: list) -> None:
    if table in existing:
        con.execute(f'INSERT INTO "{table}" BY NAME {select}', params)
    else:  # a table the DDL does not know: created from the file's columns
        con.execute(f'CREATE TABLE "{table}" AS {select}', params)
        existing.add(table)


def _load(con: duckdb.DuckDBPyConnection, fs, listing: _Listing, ddl, days: frozenset[dt.date] | None) -> _Loaded:
    """Create the tables with `ddl` (keys and constraints: Parquet keeps only columns), then fill them from
    the lake: the tables stored whole entirely, the per-day tables for `days` (None: every day)."""
    loaded = _Loaded(listing, days)
    for statement in ddl:
        con.execute(statement)
    existing = set(_main_tables(con))
    for table in sorted(set(listing.flat) | set(listing.parts)):
        column = _day_column(table)
        if column is None:
            _fill(con, table, existing, f"SELECT * FROM {_READ}", [_url(fs, listing.flat[table])])
            loaded.table_files += 1
            continue
        parts = listing.parts.get(table, {})
        paths = [_url(fs, p) for d, p in sorted(parts.items()) if days is None or d in days]
        if paths:
            _fill(con, table, existing, f"SELECT * FROM {_READ}", [paths])
            loaded.day_files += len(paths)
        if table in listing.flat:  # written by an older version: its rows of the days that have no day file
            url = _url(fs, listing.flat[table])
            found = {d for (d,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM {_READ} WHERE "{column}" IS NOT NULL', [[url]]).fetchall()}
            loaded.legacy[table] = found - set(parts)
            wanted = sorted(loaded.legacy[table] if days is None else loaded.legacy[table] & days)
            if wanted:
                _fill(con, table, existing,
                      f'SELECT * FROM {_READ} WHERE "{column}" IN (SELECT unnest(?::DATE[]))', [[url], wanted])
                loaded.table_files += 1
    return loaded


def _open(root: str, ddl, days) -> tuple[duckdb.DuckDBPyConnection, object, str, _Loaded]:
    fs, base = _fs(root)
    wanted = None if days is None else frozenset(store.days_param(days))
    con = duckdb.connect(":memory:")
    try:
        if not _is_local(fs):
            con.register_filesystem(fs)
        loaded = _load(con, fs, _list(fs, base), ddl, wanted)
    except BaseException:
        con.close()
        raise
    return con, fs, base, loaded


def open_memory(root: str, ddl: list[str] = (), days: Iterable[dt.date | str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the tables under `root` (the per-day tables for `days` only, when
    given), created with `ddl` first."""
    return _open(root, ddl, days)[0]


@dataclass
class _DayPlan:
    """What to do with one per-day table on write-back."""

    write: list[dt.date]            # days written from the step's rows
    remove: list[dt.date]           # day folders removed (no rows any more)
    convert: list[dt.date]          # days copied from the old flat file (not loaded by the step)
    drop_flat: bool                 # remove the old flat file afterwards


def _plan_days(con: duckdb.DuckDBPyConnection, fs, base: str, loaded: _Loaded, table: str, column: str,
               before: dict) -> _DayPlan | None:
    now = _day_digests(con, table, column)
    if now.get(None):
        raise ValueError(f"lake: {table} has {now[None][0]} rows without a {column}: every row of a per-day "
                         "table needs a day")
    in_lake = loaded.lake_days(table)
    if loaded.days is not None:
        unread = sorted(d for d in now if d not in loaded.days and (
            d in in_lake or fs.exists(f"{loaded.listing.day_path(base, table, d)}/{_PART}")))
        if unread:
            raise ValueError(f"lake: the step left rows of {table} for {', '.join(map(str, unread[:5]))}"
                             f"{' ...' if len(unread) > 5 else ''}, days it did not load while the lake holds "
                             "them: writing them would overwrite rows it never read (load those days too)")
    loaded_days = loaded.loaded_days(table)
    changed = {d for d in loaded_days | set(now) if before.get(d) != now.get(d)}
    if not changed:
        return None
    parts = loaded.listing.parts.get(table, {})
    legacy = loaded.legacy.get(table, set()) if table in loaded.listing.flat else set()
    return _DayPlan(
        write=sorted(d for d in changed | (legacy & loaded_days) if d in now),
        remove=sorted(d for d in changed if d not in now and d in parts),
        convert=sorted(legacy - loaded_days),
        drop_flat=table in loaded.listing.flat)


@contextlib.contextmanager
def session(root: str, ddl: list[str] = (), days: Iterable[dt.date | str] | None = None
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A step's view of the state: loaded from Parquet (the per-day tables for `days` only, when given),
    what changed written back on success (see the module's docstring)."""
    con, fs, base, loaded = _open(root, ddl, days)
    written = {"day files": 0, "days removed": 0, "table files": 0}
    try:
        flat_before, days_before = {}, {}
        for table in _main_tables(con):
            column = _day_column(table)
            if column is None:
                flat_before[table] = _digest(con, table)
            else:
                days_before[table] = _day_digests(con, table, column)
        yield con
        after = _main_tables(con)
        # First decide everything (a refused write-back leaves the lake as it was), then write.
        flat = [t for t in after if _day_column(t) is None and flat_before.get(t) != _digest(con, t)]
        plans = {}
        for table in after:
            column = _day_column(table)
            if column is not None:
                plan = _plan_days(con, fs, base, loaded, table, column, days_before.get(table, {}))
                if plan is not None:
                    plans[table] = plan
        fs.makedirs(f"{base}/tables", exist_ok=True)
        for table in flat:
            tmp = _tmp_name(f"{base}/tables", table)
            _write_parquet(con, table, fs, tmp)
            fs.mv(tmp, f"{base}/tables/{table}.parquet")  # a rename on a local disk: old file or new one
            written["table files"] += 1
        for table, plan in plans.items():
            column = _day_column(table)
            folder_of = lambda day, table=table: loaded.listing.day_path(base, table, day)  # noqa: E731
            if plan.write:
                reader = con.cursor().sql(
                    f'SELECT * FROM main."{table}" WHERE "{column}" IN (SELECT unnest(?::DATE[])) ORDER BY "{column}"',
                    params=[plan.write]).to_arrow_reader(100_000)
                written["day files"] += _write_days(reader, column, fs, folder_of)
            if plan.convert:
                reader = con.cursor().sql(
                    f'SELECT * FROM {_READ} WHERE "{column}" IN (SELECT unnest(?::DATE[])) ORDER BY "{column}"',
                    params=[[_url(fs, loaded.listing.flat[table])], plan.convert]).to_arrow_reader(100_000)
                written["day files"] += _write_days(reader, column, fs, folder_of)
            for day in plan.remove:
                fs.rm(folder_of(day), recursive=True)
                written["days removed"] += 1
            if plan.drop_flat:  # its rows are all in day files now
                fs.rm(loaded.listing.flat[table])
        for table in (set(flat_before) | set(days_before)) - set(after):  # dropped by the step
            for path in (f"{base}/tables/{table}.parquet", f"{base}/tables/{table}"):
                if fs.exists(path):
                    fs.rm(path, recursive=True)
    finally:
        con.close()
        log.info("lake: %s: read %d day files and %d table files%s; wrote %d day files (%d days removed) and "
                 "%d table files", root, loaded.day_files, loaded.table_files,
                 "" if loaded.days is None else f" for {len(loaded.days)} days", written["day files"],
                 written["days removed"], written["table files"])


def load_into(root: str, db_path: Path, ddl: list[str] = ()) -> None:
    """The writer step: replace the DuckDB file `db_path` with every table under `root` (every day)."""
    from newsdag.warehouse import connect, transaction

    fs, base = _fs(root)
    con = connect(db_path)
    try:
        if not _is_local(fs):
            con.register_filesystem(fs)
        with transaction(con):
            listing = _list(fs, base)
            for table in _main_tables(con):
                con.execute(f'DROP TABLE "{table}"')
            loaded = _load(con, fs, listing, ddl, None)
        log.info("writer: loaded %d tables (%d day files) from %s into %s",
                 len(set(listing.flat) | set(listing.parts)), loaded.day_files, root, db_path)
    finally:
        con.close()


def _path(root: str, relpath: str) -> tuple[object, str]:
    """The filesystem and full path of `relpath` under `root`: a relative path of plain names, outside
    `tables/` (the state's own files)."""
    parts = str(relpath).split("/")
    if (not relpath or "\\" in relpath
            or any(p in ("", ".", "..") for p in parts) or parts[0] == "tables"):
        raise ValueError(f"lake: {relpath!r} is not a relative path of plain names under the storage root "
                         "(no '..', no leading '/', not under tables/)")
    fs, base = _fs(root)
    return fs, f"{base}/{'/'.join(parts)}"


def write_frame(root: str, relpath: str, frame: pd.DataFrame) -> str:
    """Write `frame` as Parquet to `relpath` under `root` (folders created; written to a temporary name,
    then renamed). Returns the file's path (a URL for a remote root)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, path = _path(root, relpath)
    folder, name = path.rsplit("/", 1)
    fs.makedirs(folder, exist_ok=True)
    tmp = _tmp_name(folder, name)
    table = pa.Table.from_pandas(frame)
    try:
        with fs.open(tmp, "wb") as f:
            pq.write_table(table, f)
        fs.mv(tmp, path)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise
    return _url(fs, path)


def read_frame(root: str, relpath: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The frame `write_frame` wrote to `relpath` under `root`, or only its `columns` (FileNotFoundError when
    there is none)."""
    import pyarrow.parquet as pq

    fs, path = _path(root, relpath)
    with fs.open(path, "rb") as f:
        return pq.read_table(f, columns=columns).to_pandas()


def remove_tree(root: str, relpath: str) -> None:
    """Remove the file or folder `relpath` under `root` (nothing to do when it does not exist)."""
    fs, path = _path(root, relpath)
    if fs.exists(path):
        fs.rm(path, recursive=True)
