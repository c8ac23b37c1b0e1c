"""DuckDB I/O: the pipeline's working database and the analysts' published file."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Iterator

import duckdb

log = logging.getLogger(__name__)

# The contract tables analysts rely on: column -> (type, comment). Order is the column order.
TABLES: dict[str, dict] = {
    "articles": {
        "comment": "One row per accepted raw file (duplicates included; see article_duplicates).",
        "columns": {
            "article_id": ("VARCHAR", "Stable id of the article: first 16 hex digits of sha256 of source_path."),
            "source_path": ("VARCHAR", "Path of the raw file, relative to the raw directory, with / separators."),
            "published_date": ("DATE", "Publication day: from the ' date YYYY-MM-DD' header, or read from the page text."),
            "date_source": ("VARCHAR", "Where published_date came from: 'header' (the ' date YYYY-MM-DD' line), "
                                       "'page_text' (a date written in scraped page text) or 'html' (the HTML page's "
                                       "metadata or text, read by htmldate)."),
            "title": ("VARCHAR", "Headline when the page has one, else NULL."),
            "body": ("VARCHAR", "Article text after removing page chrome and boilerplate."),
            "word_count": ("BIGINT", "Number of words (\\w+ tokens) in body."),
            "content_hash": ("VARCHAR", "sha256 of the raw file's bytes (of the record's payload for a WARC record)."),
            "url": ("VARCHAR", "The page's canonical URL when it states one, else the URL it was fetched from "
                               "(WARC-Target-URI); NULL for plain text files."),
            "site": ("VARCHAR", "Host of url, lower-cased, without a leading 'www.'; NULL when the URL is unknown."),
            "language": ("VARCHAR", "ISO 639-1 code of the body's language (py3langid), 'und' when too short to tell. "
                                    "Only articles in the spaCy model's language go to NER."),
            "source_format": ("VARCHAR", "How the raw input was read: 'text' (plain text file), 'html' (an HTML "
                                         "file) or 'warc' (a response record of a web archive)."),
        },
    },
    "rejected_files": {
        "comment": "Quarantine: one row per raw file that did not become an article, with the reason.",
        "columns": {
            "source_path": ("VARCHAR", "Path of the raw file, relative to the raw directory, with / separators."),
            "reason": ("VARCHAR", "Reason code: malformed_date_header, missing_date, empty_body, undecodable, unreadable."),
            "detail": ("VARCHAR", "Human-readable explanation, quoting the offending value where there is one."),
            "content_hash": ("VARCHAR", "sha256 of the raw file's bytes (empty if unreadable)."),
        },
    },
    "article_duplicates": {
        "comment": "Each non-canonical article and the canonical article of its duplicate group.",
        "columns": {
            "article_id": ("VARCHAR", "The duplicate article (not processed by NER)."),
            "duplicate_of": ("VARCHAR", "The canonical article of its group (earliest date, then smallest source_path)."),
            "similarity": ("DOUBLE", "Verified word-shingle similarity (0-1) that linked it to its group."),
        },
    },
    "entity_mentions": {
        "comment": "One row per named-entity mention in a canonical (non-duplicate) article, mapped to its actor.",
        "columns": {
            "article_id": ("VARCHAR", "Article the mention is in."),
            "published_date": ("DATE", "Publication day of the article."),
            "actor": ("VARCHAR", "Canonical actor name (aliases, demonyms, titles and short names resolved)."),
            "actor_type": ("VARCHAR", "person, organization, place or group (or another NER label, lower-cased)."),
            "entity_text": ("VARCHAR", "The mention as written in the body."),
            "entity_label": ("VARCHAR", "spaCy NER label: PERSON, ORG, GPE, NORP, ..."),
            "start_char": ("BIGINT", "Offset of the mention's first character in articles.body."),
            "end_char": ("BIGINT", "Offset just past the mention's last character in articles.body."),
        },
    },
    "actor_mentions_daily": {
        "comment": "Per day and actor: mentions and distinct articles; mentions add up to entity_mentions rows.",
        "columns": {
            "day": ("DATE", "Publication day."),
            "actor": ("VARCHAR", "Canonical actor name."),
            "actor_type": ("VARCHAR", "Actor type, as in entity_mentions."),
            "mentions": ("BIGINT", "Number of entity_mentions rows for this actor on this day."),
            "articles": ("BIGINT", "Number of distinct canonical articles mentioning this actor on this day."),
        },
    },
    "data_quality_results": {
        "comment": "Every data-quality check result, appended run after run (the quality history).",
        "columns": {
            "checked_at": ("TIMESTAMP", "When the check ran (UTC)."),
            "run_id": ("VARCHAR", "Dagster run id."),
            "check_name": ("VARCHAR", "What was checked, e.g. date_headers_well_formed, bodies_not_empty."),
            "asset": ("VARCHAR", "The asset (table) the check is attached to."),
            "partition": ("VARCHAR", "Day (or first..last range of days) a per-day check ran on; NULL for whole-table checks."),
            "passed": ("BOOLEAN", "Whether every expectation of the check held."),
            "severity": ("VARCHAR", "ERROR checks block publishing when they fail; WARN checks only report."),
            "failing_rows": ("BIGINT", "Number of rows (files, articles, mentions...) that failed."),
            "sample": ("VARCHAR", "JSON list of up to 10 failing paths or ids."),
            "input_digest": ("VARCHAR", "sha256 of the checked rows and the check's parameters: a check whose input "
                                        "is unchanged reuses the result recorded with the same digest."),
            "details": ("VARCHAR", "JSON list, one entry per expectation: type, success, unexpected count and values."),
        },
    },
}


class WarehouseBusy(RuntimeError):
    """The database file stayed locked by another process."""


def connect(path: Path, *, read_only: bool = False, wait_seconds: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting (with back-off) while another process holds its lock."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise WarehouseBusy(f"{path} is locked by another process: {exc}") from None
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


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


def create_sql(table: str, schema: str | None = None, *, replace: bool = True) -> str:
    """CREATE [OR REPLACE | IF NOT EXISTS] TABLE statement of a contract table."""
    spec = TABLES[table]
    cols = ", ".join(f'"{c}" {t}' for c, (t, _) in spec["columns"].items())
    name = f"{schema}.{table}" if schema else table
    return f"CREATE OR REPLACE TABLE {name} ({cols})" if replace else f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


def column_list(table: str) -> str:
    """The contract table's columns, quoted, in order: for INSERT ... SELECT statements."""
    return ", ".join(f'"{c}"' for c in TABLES[table]["columns"])


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
                             actor, actor_type, mentions, articles FROM actor_mentions_daily"""

# Views for the common questions, created in the published file (name -> (comment, SQL)).
VIEWS: dict[str, tuple[str, str]] = {
    "top_actors_daily": (
        "The 10 most-mentioned actors of each day, ranked (ties broken by actor name).",
        f"SELECT * FROM ({RANKED_DAILY_SQL}) WHERE rank <= 10",
    ),
    "actor_mentions_weekly": (
        "Mentions and distinct articles per ISO week (starting Monday) and actor.",
        """SELECT date_trunc('week', published_date)::DATE AS week_start, actor, actor_type,
                  count(*) AS mentions, count(DISTINCT article_id) AS articles
           FROM entity_mentions GROUP BY ALL""",
    ),
    "actor_daily_series": (
        "Every actor on every day of the corpus's date range, with 0 on days without mentions: "
        "filter on actor for a gap-free daily series.",
        """WITH days AS (
             SELECT unnest(generate_series(min(day), max(day), INTERVAL 1 DAY))::DATE AS day FROM actor_mentions_daily),
           actors AS (SELECT DISTINCT actor, actor_type FROM actor_mentions_daily)
           SELECT d.day, a.actor, a.actor_type, coalesce(m.mentions, 0) AS mentions, coalesce(m.articles, 0) AS articles
           FROM actors a CROSS JOIN days d
           LEFT JOIN actor_mentions_daily m ON m.day = d.day AND m.actor = a.actor AND m.actor_type = a.actor_type""",
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
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    for leftover in db_path.parent.glob(f".{db_path.name}.*.tmp*"):  # left by a run that was killed
        leftover.unlink(missing_ok=True)
    con = connect(work_db)
    try:
        con.execute(f"ATTACH {_sql_string(str(tmp))} AS pub (STORAGE_VERSION {_sql_string(storage_version)})")
        con.execute("BEGIN TRANSACTION")  # one commit to the new file, not one per statement
        for table, spec in TABLES.items():
            con.execute(create_sql(table, "pub"))
            if table_exists(con, table):
                con.execute(f"INSERT INTO pub.{table} SELECT {column_list(table)} FROM main.{table}")
            con.execute(f"COMMENT ON TABLE pub.{table} IS {_sql_string(spec['comment'])}")
            for column, (_, comment) in spec["columns"].items():
                con.execute(f'COMMENT ON COLUMN pub.{table}."{column}" IS {_sql_string(comment)}')
        home = con.execute("SELECT current_database()").fetchone()[0]
        con.execute("USE pub")  # views bind to the published tables, not the working ones
        for view, (comment, sql) in VIEWS.items():
            con.execute(f"CREATE VIEW pub.main.{view} AS {sql}")
            con.execute(f"COMMENT ON VIEW pub.main.{view} IS {_sql_string(comment)}")
        con.execute("COMMIT")
        con.execute(f'USE "{home}"')
        con.execute("DETACH pub")
    finally:
        con.close()
    os.replace(tmp, db_path)
    return db_path


def published_tables(db_path: Path) -> list[tuple[str, int, str]]:
    """(table, rows, comment) of each table in the analysts' file."""
    with session(db_path, read_only=True) as con:
        return [(t, con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0], c)
                for t, c in con.execute("SELECT table_name, comment FROM duckdb_tables() ORDER BY table_name").fetchall()]
