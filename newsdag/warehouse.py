"""DuckDB I/O: the pipeline's working database and the analysts' published file."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Iterator

import duckdb

from newsdag.store import PUBLISHED, TABLES as ALL_TABLES

log = logging.getLogger(__name__)

# The published tables (the contract analysts rely on), as the state store defines them.
TABLES = PUBLISHED


class WarehouseBusy(RuntimeError):
    """The database file stayed locked by another process."""


DUCKDB_MAGIC = b"DUCK"      # a DuckDB database file has these 4 bytes at offset 8
WORK_DIR = ".newsdag"       # the pipeline's own files, beside the analysts' file
WORK_SUFFIX = ".work.duckdb"


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` is a regular file that starts like a DuckDB database (b"DUCK" at offset 8)."""
    try:
        with open(path, "rb") as f:
            return f.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def check_publish_target(db_path: Path) -> None:
    """Refuse to replace an existing file that is not a DuckDB database (a one-line ValueError)."""
    db_path = Path(db_path)
    if db_path.is_dir():
        raise ValueError(f"--db {db_path} is a directory, not a DuckDB file")
    if (db_path.exists() or db_path.is_symlink()) and not is_duckdb_file(db_path):
        raise ValueError(f"--db {db_path} exists and is not a DuckDB database: refusing to overwrite it "
                         "(move it away or choose another --db)")


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"


def _is_stale_wal_error(exc: BaseException) -> bool:
    text = str(exc)
    return "WAL" in text and ("does not match" in text or "replaying WAL" in text)


def move_aside_wal(path: Path, why: str) -> Path | None:
    """Rename `<path>.wal` to `<path>.wal.stale-<time>` (kept for inspection); None when there is none."""
    wal = Path(f"{path}.wal")
    if not wal.exists():
        return None
    aside = Path(f"{wal}.stale-{_stamp()}")
    try:
        os.replace(wal, aside)
    except FileNotFoundError:
        return None
    log.warning("newsdag: moved the stale write-ahead log %s aside to %s (%s)", wal, aside.name, why)
    return aside


def recover_stale_wal(path: Path) -> bool:
    """When `<path>.wal` exists and DuckDB says it does not belong to `path` (an analyst's read-write session
    on an earlier published file wrote it and crashed), move it aside. True when something was moved."""
    path = Path(path)
    if not Path(f"{path}.wal").exists() or not path.is_file():
        return False
    try:
        duckdb.connect(str(path), read_only=True).close()
        return False
    except duckdb.Error as exc:
        if not _is_stale_wal_error(exc):
            return False
    return move_aside_wal(path, "it does not match the database file: it was left by a read-write session "
                                "on an earlier version of the file") is not None


def is_work_db(path: Path) -> bool:
    """Whether `path` is a pipeline working database (`<dir>/.newsdag/<name>.work.duckdb`): derived data only."""
    path = Path(path)
    return path.parent.name == WORK_DIR and path.name.endswith(WORK_SUFFIX)


def _published_of(work_db: Path) -> Path:
    return work_db.parent.parent / work_db.name[: -len(WORK_SUFFIX)]


def _adopt_legacy_work_db(path: Path) -> None:
    """Earlier versions named the working database after the stem of the published file (`x.work.duckdb` for
    both `x.duckdb` and `x.db`); the first run under the new name takes it over instead of rebuilding."""
    published = _published_of(path)
    legacy = path.parent / f"{published.stem}{WORK_SUFFIX}"
    if path.exists() or legacy == path or not legacy.is_file() or published.stem == published.name:
        return
    if (path.parent.parent / published.stem).exists():  # the legacy name is the working db of a file named so
        return
    for suffix in ("", ".wal"):
        if Path(f"{legacy}{suffix}").exists():
            os.replace(f"{legacy}{suffix}", f"{path}{suffix}")
    log.info("newsdag: renamed the working database %s to %s (named after the full file name now)", legacy.name,
             path.name)


def _copy_table(src: duckdb.DuckDBPyConnection, dst: duckdb.DuckDBPyConnection, table: str,
                batch_rows: int = 50_000) -> int:
    """Copy a contract table's rows from one connection to another through Arrow record batches
    (`table` is one of the code's own TABLES, never input; no file path goes into SQL)."""
    columns = TABLES[table].column_list
    reader = src.cursor().sql(f"SELECT {columns} FROM main.{table}").to_arrow_reader(batch_rows)
    n = 0
    for batch in reader:
        dst.register("newsdag_batch", batch)
        try:
            dst.execute(f"INSERT INTO main.{table} ({columns}) SELECT * FROM newsdag_batch")
        finally:
            dst.unregister("newsdag_batch")
        n += batch.num_rows
    return n


def rebuild_work_db(path: Path, error: BaseException | str) -> None:
    """Replace a working database that cannot be opened with an empty one (everything in it is derived
    from the raw files and is rebuilt by the next steps), keeping the data-quality history: from the
    damaged file when it can still be read, else from the published file. The damaged file is kept
    as `<name>.corrupt-<time>`."""
    path = Path(path)
    reason = " ".join(str(error).split())[:300]
    aside = path.with_name(f"{path.name}.corrupt-{_stamp()}")
    os.replace(path, aside)
    if Path(f"{path}.wal").exists():
        os.replace(f"{path}.wal", f"{aside}.wal")
    kept, source = 0, None
    con = duckdb.connect(str(path))
    try:
        con.execute(ALL_TABLES["data_quality_results"].create_sql())
        for candidate in (aside, _published_of(path)):
            if not candidate.is_file() or not is_duckdb_file(candidate):
                continue
            try:
                old = duckdb.connect(str(candidate), read_only=True)
            except duckdb.Error:
                continue
            try:
                if table_exists(old, "data_quality_results"):
                    with transaction(con):
                        kept = _copy_table(old, con, "data_quality_results")
                    source = candidate
                    break
            except duckdb.Error:
                continue
            finally:
                old.close()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    log.warning("newsdag: the working database %s could not be opened (%s): moved it aside to %s and started a new "
                "one, rebuilt from the raw files by this run; kept %d data-quality results%s", path, reason, aside.name,
                kept, f" (from {source})" if source else " (no readable history)")


def connect(path: Path, *, read_only: bool = False, wait_seconds: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting (with back-off) while another process holds its lock.

    A write-ahead log that does not match the file (left by a crashed read-write session on an earlier
    published file) is moved aside, and a working database that cannot be opened is rebuilt (both logged)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_work_db(path):
            _adopt_legacy_work_db(path)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    recovered = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            locked = isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()
            if locked and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if locked:
                raise WarehouseBusy(f"{path} is locked by another process: {exc}") from None
            if recovered or not path.is_file():
                raise
            recovered = True
            if _is_stale_wal_error(exc) and move_aside_wal(path, "it does not match the database file"):
                continue
            if is_work_db(path) and not read_only:
                rebuild_work_db(path, exc)
                continue
            raise


@contextlib.contextmanager
def session(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed on exit."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error: readers and crashes never see half a step."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()", [table]
    ).fetchone()[0])


def _sql_string(value: str) -> str:
    """A SQL string literal (for DDL such as COMMENT ON and ATTACH, which take no parameters)."""
    return "'" + value.replace("'", "''") + "'"



# Each day's actors ranked by mentions (ties broken by name): the view analysts query and the
# CLI summary / UI table share this one definition.
RANKED_DAILY_SQL = """SELECT day, row_number() OVER (PARTITION BY day ORDER BY mentions DESC, actor) AS rank,
                             actor, actor_type, actor_code, mentions, articles FROM actor_mentions_daily"""

# Views for the common questions, created in the published file (name -> (comment, SQL)).
VIEWS: dict[str, tuple[str, str]] = {
    "top_actors_daily": (
        "The 10 most-mentioned actors of each day, ranked (ties broken by actor name).",
        f"SELECT * FROM ({RANKED_DAILY_SQL}) WHERE rank <= 10",
    ),
    "actor_mentions_weekly": (
        "Mentions and distinct articles per ISO week (starting Monday) and actor.",
        """SELECT date_trunc('week', published_date)::DATE AS week_start, actor, actor_type, actor_code,
                  count(*) AS mentions, count(DISTINCT article_id) AS articles
           FROM entity_mentions GROUP BY ALL""",
    ),
    "actor_daily_series": (
        "Every actor on every day of the corpus's date range, with 0 on days without mentions: "
        "filter on actor for a gap-free daily series.",
        """WITH days AS (
             SELECT unnest(generate_series(min(day), max(day), INTERVAL 1 DAY))::DATE AS day FROM actor_mentions_daily),
           actors AS (SELECT DISTINCT actor, actor_type, actor_code FROM actor_mentions_daily)
           SELECT d.day, a.actor, a.actor_type, a.actor_code, coalesce(m.mentions, 0) AS mentions, coalesce(m.articles, 0) AS articles
           FROM actors a CROSS JOIN days d
           LEFT JOIN actor_mentions_daily m ON m.day = d.day AND m.actor = a.actor AND m.actor_type = a.actor_type""",
    ),
    "actor_forms": (
        "Which surface forms became each actor (the audit trail of name resolution): per actor and form as "
        "written, with its NER label, the mentions and the first and last day it was seen. A wrong merge is "
        "split, or a missed one added, with a row in the alias file.",
        """SELECT actor, actor_type, actor_code, entity_text AS surface_form, entity_label AS label,
                  count(*) AS mentions, min(published_date) AS first_day, max(published_date) AS last_day
           FROM entity_mentions GROUP BY ALL""",
    ),
    "rejections_by_reason": (
        "How many raw files were quarantined for each reason.",
        "SELECT reason, count(*) AS files FROM rejected_files GROUP BY reason",
    ),
    "latest_data_quality": (
        "The result of each data-quality check in the latest run that ran it.",
        """SELECT * EXCLUDE (rn) FROM (
             SELECT *, row_number() OVER (PARTITION BY check_name, partition ORDER BY checked_at DESC) AS rn
             FROM data_quality_results) WHERE rn = 1""",
    ),
}


def publish(work_db: Path, db_path: Path, storage_version: str) -> Path:
    """Write the analysts' file as a fresh copy next to it, then rename it into place atomically.

    Analysts holding the old file open keep reading the old snapshot; new connections see the new one.
    The copy is written through its own connection (rows streamed as Arrow batches from the working
    database): no path or name is ever formatted into SQL. It is checkpointed and closed before the
    rename, so it has no write-ahead log of its own, and a `<db>.wal` left beside the old file (by an
    analyst's read-write session that crashed) is moved aside: it would make the new file unreadable.
    """
    db_path = Path(db_path)
    check_publish_target(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    for leftover in db_path.parent.iterdir():  # left by a run that was killed (no glob: the name may hold [*?)
        if leftover.name.startswith(f".{db_path.name}.") and ".tmp" in leftover.name[len(db_path.name) + 2:]:
            leftover.unlink(missing_ok=True)
    log.info("publish: writing a fresh copy of the analysts' file beside %s", db_path)
    src = connect(work_db)
    try:
        dst = duckdb.connect(str(tmp), config={"storage_compatibility_version": storage_version})
        try:
            with transaction(dst):  # one commit to the new file, not one per statement
                for table, spec in TABLES.items():  # names and comments: the code's own constants
                    dst.execute(spec.create_sql(replace=True))
                    if table_exists(src, table):
                        _copy_table(src, dst, table)
                    dst.execute(f"COMMENT ON TABLE main.{table} IS {_sql_string(spec.comment)}")
                    for column, (_, comment) in spec.columns.items():
                        dst.execute(f'COMMENT ON COLUMN main.{table}."{column}" IS {_sql_string(comment)}')
                for view, (comment, sql) in VIEWS.items():
                    dst.execute(f"CREATE VIEW main.{view} AS {sql}")
                    dst.execute(f"COMMENT ON VIEW main.{view} IS {_sql_string(comment)}")
            dst.execute("CHECKPOINT")
        finally:
            dst.close()
    finally:
        src.close()
    if Path(f"{tmp}.wal").exists():  # never expected after CHECKPOINT and close; never publish one
        raise RuntimeError(f"the new copy {tmp} kept a write-ahead log after its checkpoint; not published")
    why = "the new file replaces the one it was written for"
    move_aside_wal(db_path, why)
    os.replace(tmp, db_path)
    move_aside_wal(db_path, why)  # written in between by a session on the old file
    return db_path


def published_tables(db_path: Path) -> list[tuple[str, int, str]]:
    """(table, rows, comment) of each table in the analysts' file."""
    with session(db_path, read_only=True) as con:
        comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'").fetchall())
        return [(t, con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0], comments[t])  # t: from TABLES
                for t in sorted(TABLES) if t in comments]
