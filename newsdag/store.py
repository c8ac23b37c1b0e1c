"""The state store: every table of the working database and of the analysts' file, defined once.

A table is its name, a comment, its columns (SQL type and meaning, in order), its key and whether it is
published. From these one definition come the working database's DDL (created once per session by
:func:`create_all`), the published file's tables and COMMENTs (warehouse.publish), Dagster's column
schemas (assets/metadata.py) and the Parquet state of the distributed mode (lake). Rows are written
through :func:`write`, which registers the frame under an explicit name: no SQL reads a Python local.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping, Sequence

import duckdb
import pandas as pd


@dataclass(frozen=True)
class Table:
    """One table: name, comment, columns (name -> (SQL type, comment)), key columns, published or not."""

    name: str
    comment: str
    columns: Mapping[str, tuple[str, str]]
    key: tuple[str, ...] = ()
    published: bool = False
    history: bool = False   # kept when the working schema changes (everything else is derived: rebuilt)
    day_column: str | None = None   # the DATE column that partitions it by day in the lake (distributed mode)

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    @property
    def column_list(self) -> str:
        """The columns, quoted, in order: for INSERT ... SELECT statements."""
        return ", ".join(f'"{c}"' for c in self.columns)

    def create_sql(self, *, replace: bool = False) -> str:
        """CREATE [OR REPLACE] TABLE (IF NOT EXISTS) statement (the name is the code's own constant)."""
        cols = ", ".join(f'"{c}" {t}' for c, (t, _) in self.columns.items())
        key = f", PRIMARY KEY ({', '.join(self.key)})" if self.key else ""
        return (f"CREATE OR REPLACE TABLE {self.name} ({cols}{key})" if replace
                else f"CREATE TABLE IF NOT EXISTS {self.name} ({cols}{key})")


# The published tables (the contract analysts rely on): column -> (type, comment), in column order.
_PUBLISHED: dict[str, dict] = {
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
            "reason": ("VARCHAR", "Reason code: malformed_date_header, missing_date, empty_body, undecodable, unreadable, "
                                  "too_large, symlink_loop, outside_raw_dir, dangling_link, not_a_regular_file, "
                                  "unreadable_directory, ..."),
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
            "actor_code": ("VARCHAR", "ISO 3166-1 alpha-3 code of a country actor (historical states keep theirs: "
                                      "SUN, DDR, YUG), from pycountry's data or the alias file; NULL for other actors."),
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
            "actor_code": ("VARCHAR", "ISO 3166-1 alpha-3 code of a country actor, as in entity_mentions; else NULL."),
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


# The pipeline's own tables in the working database (never published).
_WORKING = (
    Table("build_state", "Bookkeeping of the working database: key -> value (schema version, parse rules...).",
          {"key": ("VARCHAR", "What is recorded."), "value": ("VARCHAR", "Its value.")}, key=("key",), history=True),
    Table("raw_files", "Every raw file (or WARC record) by content hash, decoded; the input of the parse step.", {
        "source_path": ("VARCHAR", "Path relative to the raw directory, / separators (a WARC record: <file>#<offset>)."),
        "content_hash": ("VARCHAR", "sha256 of the file's bytes (of the record's payload)."),
        "size_bytes": ("BIGINT", "Size in bytes."),
        "text": ("VARCHAR", "Decoded text; NULL when the file could not be read or decoded."),
        "error": ("VARCHAR", "Why it could not be read or decoded, else NULL."),
        "reason": ("VARCHAR", "Quarantine reason code when it cannot become an article, else NULL."),
        "source_format": ("VARCHAR", "'text', 'html' or 'warc'."),
        "url": ("VARCHAR", "WARC-Target-URI of a WARC record, else NULL."),
        "fetched_date": ("DATE", "WARC-Date of a WARC record (an upper bound for its publication date), else NULL."),
    }),
    Table("dedup_signatures", "MinHash signatures kept between runs, by body hash and parameters.", {
        "signature_key": ("VARCHAR", "Hash of the body and the MinHash parameters."),
        "signature": ("BLOB", "The signature (uint32 array)."),
    }, key=("signature_key",)),
    Table("day_inputs", "Each day's input digest: its canonical articles and the settings that read them.", {
        "day": ("DATE", "Publication day."), "digest": ("VARCHAR", "Digest of the day's inputs."),
        "articles": ("BIGINT", "Canonical articles of the day."),
    }, key=("day",)),
    Table("day_builds", "What each per-day table of each day was built from.", {
        "table_name": ("VARCHAR", "entities, entity_mentions or actor_mentions_daily."),
        "day": ("DATE", "Publication day."),
        "digest": ("VARCHAR", "day_inputs.digest it was built from ('empty': a day that has no articles now)."),
        "context": ("VARCHAR", "Mention tables: digest of the entities of the days around it that resolved its actors."),
    }, key=("table_name", "day")),
    Table("ner_cache_keys", "Texts already read by a model for a set of labels.", {
        "body_hash": ("VARCHAR", "sha256 of the body."), "model": ("VARCHAR", "Model name==version."),
        "labels": ("VARCHAR", "Comma-separated labels."),
    }, key=("body_hash", "model", "labels")),
    Table("ner_cache", "The entities each model found in each text (by body hash).", {
        "body_hash": ("VARCHAR", "sha256 of the body."), "model": ("VARCHAR", "Model name==version."),
        "labels": ("VARCHAR", "Comma-separated labels."), "entity_text": ("VARCHAR", "The entity as written."),
        "entity_label": ("VARCHAR", "NER label."), "start_char": ("BIGINT", "Offset in the body."),
        "end_char": ("BIGINT", "Offset just past it."),
    }),
    Table("ner_canonical", "Scratch table of the entities step: the run's canonical articles and their cache state.", {
        "article_id": ("VARCHAR", "Article."), "published_date": ("DATE", "Its day."),
        "body_hash": ("VARCHAR", "sha256 of its body."), "cached": ("BOOLEAN", "Read before by this model."),
    }),
    Table("entities", "Named entities in each day's canonical articles (model language only).", {
        "article_id": ("VARCHAR", "Article the entity is in."), "published_date": ("DATE", "Its day."),
        "entity_text": ("VARCHAR", "The entity as written."), "entity_label": ("VARCHAR", "spaCy NER label."),
        "start_char": ("BIGINT", "Offset of its first character in articles.body."),
        "end_char": ("BIGINT", "Offset just past its last character."),
    }, day_column="published_date"),
)

# The per-day tables: the column that partitions each by day in the lake.
_DAY_COLUMNS = {"entity_mentions": "published_date", "actor_mentions_daily": "day"}

TABLES: Mapping[str, Table] = MappingProxyType({
    **{t.name: t for t in _WORKING[:2]},
    **{name: Table(name, spec["comment"], spec["columns"], published=True,
                   history=name == "data_quality_results", day_column=_DAY_COLUMNS.get(name))
       for name, spec in _PUBLISHED.items()},
    **{t.name: t for t in _WORKING[2:]},
})
PUBLISHED: Mapping[str, Table] = MappingProxyType({n: t for n, t in TABLES.items() if t.published})
DERIVED: tuple[str, ...] = tuple(n for n, t in TABLES.items() if not t.history)


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that does not exist yet (once per session)."""
    for table in TABLES.values():
        con.execute(table.create_sql())


def ddl() -> list[str]:
    """Every table's CREATE statement (the distributed mode creates them in memory)."""
    return [t.create_sql() for t in TABLES.values()]


_names = itertools.count()


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame) -> Iterator[None]:
    """Make each frame readable by SQL under the given name for the duration of the block."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, *, replace_all: bool = False,
          replace: tuple[str, Sequence] | None = None, ignore_existing: bool = False) -> int:
    """Insert `frame`'s rows (its columns named as the table's; missing ones NULL) into `table`.

    replace_all: delete every row first. replace=(column, values): delete the rows whose `column` is one
    of `values` first (e.g. ("day", days) or ("source_path", paths)). ignore_existing: skip rows whose key
    exists (INSERT OR IGNORE). Run it inside the step's transaction. Returns the rows inserted."""
    spec = TABLES[table]  # a KeyError for a name that is not one of ours: never formatted from input
    if replace_all:
        con.execute(f"DELETE FROM {table}")
    elif replace is not None:
        column, values = replace
        if column not in spec.columns:
            raise KeyError(f"{table} has no column {column!r}")
        sql_type = spec.columns[column][0]
        con.execute(f'DELETE FROM {table} WHERE "{column}" IN (SELECT unnest($values::{sql_type}[]))',
                    {"values": list(values)})
    if not len(frame):
        return 0
    cols = [c for c in spec.columns if c in frame.columns]
    names = ", ".join(f'"{c}"' for c in cols)
    select = ", ".join(f'"{c}"::{spec.columns[c][0]}' for c in cols)
    name = f"_incoming_{next(_names)}"
    with registered(con, **{name: frame}):
        con.execute(f"INSERT {'OR IGNORE ' if ignore_existing else ''}INTO {table} "
                    f"({names}) SELECT {select} FROM {name}")
    return len(frame)


def days_param(days: Iterable[dt.date | str]) -> list[dt.date]:
    """Days as a sorted list of dates: the value of a `$days::DATE[]` parameter."""
    return sorted({pd.Timestamp(d).date() for d in days})
