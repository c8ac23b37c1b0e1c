"""The frames that data-quality checks validate, and the table that records their results.

Checks themselves (Great Expectations suites) live in `checks/`; this module only reads the working
database, so it can be tested and reused without Dagster or GX.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pandas as pd

from newsdag.cleaning import header_value
from newsdag.store import TABLES, write
from newsdag.warehouse import table_exists

def raw_profile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per raw input: whether its bytes decoded as text and its header date token (None when it has none)."""
    frame = con.execute("SELECT source_path, reason IS DISTINCT FROM 'undecodable' AS decoded, text FROM raw_files "
                        "ORDER BY source_path").df()
    frame["header_date"] = [header_value(t) if isinstance(t, str) else None for t in frame.pop("text")]
    return frame


def body_profile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per dated, decodable raw file: its body length after cleaning (0 when nothing was left)."""
    frame = con.execute(
        """
        SELECT source_path, length(trim(body)) AS body_chars FROM articles
        UNION ALL
        SELECT source_path, 0 FROM rejected_files WHERE reason = 'empty_body'
        ORDER BY source_path
        """
    ).df()
    frame["body_chars"] = frame["body_chars"].astype("int64")
    return frame


def articles_profile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Article ids, dates, body lengths and languages."""
    rows = con.execute(
        "SELECT article_id, source_path, published_date, length(trim(body)) AS body_chars, language FROM articles "
        "ORDER BY 2"
    ).fetchall()  # python dates: any year fits, unlike nanosecond timestamps
    return pd.DataFrame(rows, columns=["article_id", "source_path", "published_date", "body_chars", "language"])


def accounting(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many times each raw file appears across articles and rejected_files (must be exactly once)."""
    return con.execute(
        """
        WITH seen AS (SELECT source_path FROM articles UNION ALL SELECT source_path FROM rejected_files)
        SELECT coalesce(r.source_path, s.source_path) AS source_path,
               count(s.source_path) AS times_accounted, bool_or(r.source_path IS NOT NULL) AS is_raw_file
        FROM raw_files r FULL OUTER JOIN seen s USING (source_path)
        GROUP BY 1 ORDER BY 1
        """
    ).df()


def _days_filter(column: str, days) -> tuple[str, list]:
    """A WHERE clause limiting `column` to `days` (None: every day)."""
    if days is None:
        return "", []
    return f"WHERE {column} IN (SELECT unnest(?::DATE[]))", [[str(d) for d in days]]


def mentions_profile(con: duckdb.DuckDBPyConnection, days=None) -> pd.DataFrame:
    """Each mention (of `days`, or all) with its actor and whether its article is a non-canonical duplicate."""
    where, params = _days_filter("m.published_date", days)
    return con.execute(
        f"""
        SELECT m.article_id, m.actor, m.entity_text, d.article_id IS NOT NULL AS from_duplicate
        FROM entity_mentions m LEFT JOIN article_duplicates d USING (article_id) {where}
        ORDER BY m.article_id, m.start_char, m.entity_text
        """, params
    ).df()


def daily_reconciliation(con: duckdb.DuckDBPyConnection, days=None) -> pd.DataFrame:
    """Daily counts (of `days`, or all) next to a recount from entity_mentions, per (day, actor, actor_type, actor_code)."""
    where_m, params_m = _days_filter("published_date", days)
    where_d, params_d = _days_filter("day", days)
    return con.execute(
        f"""
        WITH recount AS (
            SELECT published_date AS day, actor, actor_type, actor_code, count(*) AS mentions,
                   count(DISTINCT article_id) AS articles
            FROM entity_mentions {where_m} GROUP BY ALL),
        daily AS (SELECT * FROM actor_mentions_daily {where_d})
        SELECT coalesce(d.day, r.day)::VARCHAR || ' ' || coalesce(d.actor, r.actor) AS key,
               coalesce(d.mentions, 0) AS mentions, coalesce(r.mentions, 0) AS recounted_mentions,
               coalesce(d.articles, 0) AS articles, coalesce(r.articles, 0) AS recounted_articles
        FROM daily d
        FULL OUTER JOIN recount r ON d.day = r.day AND d.actor = r.actor AND d.actor_type = r.actor_type
                                   AND d.actor_code IS NOT DISTINCT FROM r.actor_code
        ORDER BY 1, coalesce(d.actor_type, r.actor_type)
        """, params_m + params_d
    ).df()


def inconsistencies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every way the tables disagree with each other (no rows when they are consistent), one row each:
    `kind` and `key` (an article id, a day, or a 'day actor' key), with `consistent` false.

    - a mention whose article is missing, is a non-canonical duplicate, or is dated another day;
    - a day whose mentions or counts were built from other articles than its current ones;
    - daily counts that differ from a recount of entity_mentions.
    """
    from newsdag import pipeline  # (pipeline does not import this module)

    for table in ("articles", "article_duplicates", "entity_mentions", "actor_mentions_daily"):  # an empty build
        con.execute(TABLES[table].create_sql())
    rows = con.execute(
        """
        SELECT CASE WHEN a.article_id IS NULL THEN 'mention_of_missing_article'
                    WHEN d.article_id IS NOT NULL THEN 'mention_of_duplicate_article'
                    ELSE 'mention_dated_another_day' END, m.article_id
        FROM (SELECT DISTINCT article_id, published_date FROM entity_mentions) m
        LEFT JOIN articles a USING (article_id) LEFT JOIN article_duplicates d USING (article_id)
        WHERE a.article_id IS NULL OR d.article_id IS NOT NULL OR a.published_date <> m.published_date
        ORDER BY 1, 2
        """).fetchall()
    rows += [("day_built_from_other_articles", day.isoformat()) for day in pipeline.days_built_from_other_inputs(con)]
    recount = daily_reconciliation(con)
    differs = recount[(recount["mentions"] != recount["recounted_mentions"])
                      | (recount["articles"] != recount["recounted_articles"])]
    rows += [("daily_count_differs_from_recount", key) for key in differs["key"]]
    return pd.DataFrame({"kind": pd.Series([k for k, _ in rows], dtype=object),
                         "key": pd.Series([v for _, v in rows], dtype=object),
                         "consistent": pd.Series([False] * len(rows), dtype=bool)})


DQ_COLUMNS = TABLES["data_quality_results"].column_names


def record_results(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Append check results to `data_quality_results` (history is kept)."""
    con.execute(TABLES["data_quality_results"].create_sql())
    have = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() "
                                      "WHERE table_name = 'data_quality_results' AND schema_name = 'main' "
                                      "AND database_name = current_database()").fetchall()}
    for column, (sql_type, _) in TABLES["data_quality_results"].columns.items():
        if column not in have:  # a working database from an older version
            con.execute(f'ALTER TABLE data_quality_results ADD COLUMN "{column}" {sql_type}')
    frame = pd.DataFrame(
        [{**r, "sample": json.dumps(r.get("sample") or [], default=str),
          "details": json.dumps(r.get("details") or [], default=str)} for r in rows], columns=DQ_COLUMNS
    )
    frame["checked_at"] = pd.to_datetime(frame["checked_at"])
    write(con, "data_quality_results", frame)


def frame_fingerprint(frame: pd.DataFrame) -> bytes:
    """A frame's columns and row hashes: hash it once, however many checks validate it."""
    return repr(list(frame.columns)).encode("utf-8") + pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()


def input_digest(fingerprint: bytes, *params: object) -> str:
    """sha256 of a check's input rows (`frame_fingerprint`) and parameters (same digest, same result)."""
    digest = hashlib.sha256(repr(params).encode("utf-8"))
    digest.update(fingerprint)
    return digest.hexdigest()


def previous_result(con: duckdb.DuckDBPyConnection, check_name: str, asset: str, digest: str) -> dict | None:
    """The latest recorded result of this check on exactly this input, if any."""
    if not table_exists(con, "data_quality_results"):
        return None
    try:
        row = con.execute(
            "SELECT run_id, passed, failing_rows, sample, details FROM data_quality_results "
            "WHERE check_name = ? AND asset = ? AND input_digest = ? ORDER BY checked_at DESC LIMIT 1",
            [check_name, asset, digest]).fetchone()
    except duckdb.BinderException:  # a file from before input_digest existed
        return None
    if row is None:
        return None
    return {"run_id": row[0], "passed": bool(row[1]), "failing_rows": int(row[2] or 0),
            "sample": json.loads(row[3] or "[]"), "details": json.loads(row[4] or "[]")}


def failing_error_checks(con: duckdb.DuckDBPyConnection, days: list[str] | None = None) -> list[tuple[str, int, str | None]]:
    """(check, failing rows, where) of every ERROR check whose latest result failed: publishing waits for them.

    A check on an unpartitioned table has one latest result. A check on a per-day table has one per day:
    the newest result whose days (`partition`: a day or "first..last") include that day, so a failure on
    some days stays until those days pass again, whatever other days were checked since. `days` are the
    days that still have data (ISO dates); a failure only on days outside them no longer counts. `where`
    is None for an unpartitioned check, else the failing days as "first..last" (or one day)."""
    if not table_exists(con, "data_quality_results"):
        return []
    rows = con.execute(
        "SELECT check_name, asset, partition, passed, failing_rows FROM data_quality_results "
        "WHERE severity = 'ERROR' ORDER BY checked_at DESC, rowid DESC").fetchall()
    latest_whole: dict[tuple[str, str], tuple[bool, int]] = {}
    newer: dict[tuple[str, str], list[tuple[str, str]]] = {}   # days checked by newer results
    per_day: dict[tuple[str, str], tuple[set[str], int]] = {}  # failing days not checked since, failing rows
    for check, asset, partition, passed, failing_rows in rows:
        key = (check, asset)
        if partition is None:  # an unpartitioned check: its newest result decides
            latest_whole.setdefault(key, (bool(passed), int(failing_rows or 0)))
            continue
        first, _, last = partition.partition("..")
        last = last or first
        checked_since = newer.setdefault(key, [])
        if not passed:
            still = {d for d in _days_between(first, last, days) if not any(a <= d <= b for a, b in checked_since)}
            if still:
                failing_days, total = per_day.get(key, (set(), 0))
                per_day[key] = (failing_days | still, total + int(failing_rows or 0))
        checked_since.append((first, last))
    failing = [(check, rows_, None) for (check, _), (passed, rows_) in latest_whole.items() if not passed]
    for (check, _), (failing_days, rows_) in per_day.items():
        first, last = min(failing_days), max(failing_days)
        failing.append((check, rows_, first if first == last else f"{first}..{last}"))
    return sorted(failing, key=lambda f: (f[0], f[2] or ""))


def _days_between(first: str, last: str, days: list[str] | None) -> list[str]:
    """The days first..last (ISO dates) among `days`, or every calendar day between them when None."""
    if days is not None:
        return [d for d in days if first <= d <= last]
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
