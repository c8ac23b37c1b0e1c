"""The chain's steps as plain functions over the working DuckDB database (no Dagster here).

Each step reads its inputs from the working database, writes its output table(s) in one
transaction, and returns a small dict of figures for the caller to report.
"""

from __future__ import annotations

import hashlib
import logging
import re

import duckdb
import pandas as pd

from newsdag import actors, cleaning, dedup, ner, reading
from newsdag.settings import Settings
from newsdag.warehouse import RANKED_DAILY_SQL, replace_table, replace_table_sql, transaction

log = logging.getLogger("newsdag")

_WORD = re.compile(r"\w+")


def article_id_for(source_path: str) -> str:
    """Stable article id: first 16 hex digits of sha256 of the relative source path."""
    return hashlib.sha256(source_path.encode("utf-8")).hexdigest()[:16]


def build_raw_files(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Inventory every raw file: path, content hash, decoded text or the reason it cannot be read."""
    paths = reading.list_raw_files(settings.raw_dir)
    log.info("raw files: reading %d files under %s", len(paths), settings.raw_dir)
    rows = []
    for i, path in enumerate(paths, 1):
        rows.append(reading.read_raw_file(path, settings.raw_dir))
        if i % 5000 == 0:
            log.info("raw files: read %d/%d", i, len(paths))
    frame = pd.DataFrame(
        {
            "source_path": [r.source_path for r in rows],
            "content_hash": [r.content_hash for r in rows],
            "size_bytes": [r.size_bytes for r in rows],
            "text": [r.text for r in rows],
            "error": [r.error for r in rows],
        }
    )
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TABLE raw_files (source_path VARCHAR, content_hash VARCHAR, size_bytes BIGINT, "
            "text VARCHAR, error VARCHAR)"
        )
        con.execute("INSERT INTO raw_files SELECT * FROM frame")
    return {"files": len(frame), "undecodable": int(frame["error"].notna().sum()), "bytes": int(frame["size_bytes"].sum())}


def build_cleaned(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Parse and clean every decoded file into `articles`; quarantine the rest in `rejected_files`."""
    raw = con.execute("SELECT source_path, content_hash, text, error FROM raw_files ORDER BY source_path").df()
    texts = [t for t in raw["text"] if isinstance(t, str)]
    recurring = cleaning.find_recurring_lines(texts)
    log.info("cleaning: %d files, %d recurring boilerplate lines found", len(raw), len(recurring))
    accepted, rejected = [], []
    for row in raw.itertuples(index=False):
        if row.text is None or (isinstance(row.text, float)):
            reason = "unreadable" if str(row.error).startswith("cannot read") else "undecodable"
            rejected.append((row.source_path, reason, row.error, row.content_hash))
            continue
        result = cleaning.parse_document(row.text, recurring)
        if isinstance(result, cleaning.Rejected):
            rejected.append((row.source_path, result.reason, result.detail, row.content_hash))
            continue
        accepted.append(
            (
                article_id_for(row.source_path),
                row.source_path,
                result.published_date,
                result.date_source,
                result.title,
                result.body,
                len(_WORD.findall(result.body)),
                row.content_hash,
            )
        )
    articles = pd.DataFrame(
        accepted,
        columns=["article_id", "source_path", "published_date", "date_source", "title", "body", "word_count", "content_hash"],
    )
    rejected_frame = pd.DataFrame(rejected, columns=["source_path", "reason", "detail", "content_hash"])
    replace_table(con, "articles", articles)
    replace_table(con, "rejected_files", rejected_frame)
    by_reason = rejected_frame["reason"].value_counts().sort_index().to_dict()
    log.info("cleaning: %d articles accepted, %d files rejected %s", len(articles), len(rejected_frame), by_reason)
    return {"articles": len(articles), "rejected": len(rejected_frame), "rejected_by_reason": by_reason}


def build_duplicates(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Collapse exact and near duplicates: each non-canonical article points at its canonical one."""
    articles = con.execute("SELECT article_id, source_path, published_date, body FROM articles").df()
    log.info("dedup: comparing %d articles", len(articles))
    dups = dedup.find_duplicates(articles)
    replace_table(con, "article_duplicates", dups)
    log.info("dedup: %d duplicates in %d groups", len(dups), dups["duplicate_of"].nunique())
    return {"duplicates": len(dups), "groups": int(dups["duplicate_of"].nunique()), "canonical": len(articles) - len(dups)}


CANONICAL_ARTICLES_SQL = (
    "SELECT a.article_id, sha256(a.body) AS body_hash FROM articles a "
    "WHERE a.article_id NOT IN (SELECT article_id FROM article_duplicates)"
)

NER_CACHE_DDL = [
    "CREATE TABLE IF NOT EXISTS ner_cache_keys (body_hash VARCHAR, model VARCHAR, labels VARCHAR, "
    "PRIMARY KEY (body_hash, model, labels))",
    "CREATE TABLE IF NOT EXISTS ner_cache (body_hash VARCHAR, model VARCHAR, labels VARCHAR, entity_text VARCHAR, "
    "entity_label VARCHAR, start_char BIGINT, end_char BIGINT)",
]


def build_entities(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Run spaCy NER over canonical articles into `entities` (raw mentions before actor resolution).

    NER output is cached by (body hash, model name and version, labels): an article whose text was
    already read by the same model for the same labels is not read again.
    """
    model = ner.model_version(settings.spacy_model)
    labels = ",".join(sorted(settings.labels))
    for ddl in NER_CACHE_DDL:
        con.execute(ddl)
    key = [model, labels]
    # hash every canonical body and look it up in the cache once; the counts, the NER input and
    # the final join all read this (a plain table: the NER input streams through a second cursor,
    # which cannot see another connection's temp tables)
    con.execute(
        f"CREATE OR REPLACE TABLE ner_canonical AS SELECT c.article_id, c.body_hash, EXISTS ("
        f"  SELECT 1 FROM ner_cache_keys k WHERE k.body_hash = c.body_hash AND k.model = ? AND k.labels = ?"
        f") AS cached FROM ({CANONICAL_ARTICLES_SQL}) c", key)
    total, todo = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT cached) FROM ner_canonical").fetchone()
    todo_sql = ("SELECT c.article_id, a.body, c.body_hash FROM ner_canonical c JOIN articles a USING (article_id) "
                "WHERE NOT c.cached ORDER BY c.article_id")
    log.info("ner: %d canonical articles, %d not read before by %s (labels %s)", total, todo, model, labels)

    hashes: dict[str, str] = {}

    def rows():
        cursor = con.cursor()
        cursor.execute(todo_sql)
        while batch := cursor.fetchmany(1000):
            for article_id, body, body_hash in batch:
                hashes[article_id] = body_hash
                yield article_id, body

    def progress(done: int, of: int | None) -> None:
        log.info("ner: %d/%s articles", done, of)

    found = ner.extract_entities(
        rows(), settings.spacy_model, settings.labels, batch_size=settings.batch_size,
        n_process=settings.n_process, total=todo, progress=progress,
    )
    found.insert(0, "body_hash", found.pop("article_id").map(hashes))
    done = pd.DataFrame({"body_hash": sorted(set(hashes.values()))})
    with transaction(con):
        con.execute("INSERT OR IGNORE INTO ner_cache_keys SELECT body_hash, ?, ? FROM done", key)
        con.execute("INSERT INTO ner_cache SELECT body_hash, ?, ?, entity_text, entity_label, start_char, end_char "
                    "FROM found", key)
        con.execute(
            "CREATE OR REPLACE TABLE entities (article_id VARCHAR, entity_text VARCHAR, entity_label VARCHAR, "
            "start_char BIGINT, end_char BIGINT)"
        )
        con.execute(
            "INSERT INTO entities SELECT c.article_id, n.entity_text, n.entity_label, n.start_char, n.end_char "
            "FROM ner_canonical c JOIN ner_cache n ON n.body_hash = c.body_hash AND n.model = ? "
            "AND n.labels = ? ORDER BY c.article_id, n.start_char", key)
    n = con.execute("SELECT count(*) FROM entities").fetchone()[0]
    con.execute("DROP TABLE ner_canonical")
    return {"entities": n, "articles": total, "articles_read": todo, "articles_cached": total - todo, "model": model}


# A wire dateline opening the body: 'NEW YORK, March 2 - ', 'PALO ALTO, Calif., March 4 - '. It says
# where a story was filed, not who is in it, so entities inside it are not counted as mentions.
WIRE_DATELINE = r"^[A-Z][A-Z.&/ -]*[A-Z.](, [A-Z][A-Za-z.]*( [A-Z][A-Za-z.]*)?)?,? [A-Z][a-z]{2,8}\.? [0-9]{1,2} - "


def build_mentions(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Map every entity outside the wire dateline to its canonical actor into `entity_mentions`."""
    raw = con.execute(
        "SELECT e.article_id, a.published_date, e.entity_text, e.entity_label, e.start_char, e.end_char, "
        "e.start_char < length(regexp_extract(a.body, ?)) AS in_dateline "
        "FROM entities e JOIN articles a USING (article_id) ORDER BY e.article_id, e.start_char",
        [WIRE_DATELINE],
    ).df()
    in_dateline = raw.pop("in_dateline").astype(bool)
    kept = raw[~in_dateline].reset_index(drop=True)
    mentions = actors.resolve_actors(kept, actors.load_aliases(settings.aliases_path))
    replace_table(con, "entity_mentions", mentions)
    log.info("actors: %d mentions of %d actors (%d in wire datelines not counted)",
             len(mentions), mentions["actor"].nunique(), int(in_dateline.sum()))
    return {"mentions": len(mentions), "actors": int(mentions["actor"].nunique()),
            "dropped": len(kept) - len(mentions), "dateline": int(in_dateline.sum())}


def build_daily(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict:
    """Count mentions and distinct articles per day and actor."""
    n = replace_table_sql(
        con,
        "actor_mentions_daily",
        "SELECT published_date, actor, actor_type, count(*), count(DISTINCT article_id) "
        "FROM entity_mentions GROUP BY ALL ORDER BY 1, 4 DESC, 2",
    )
    days = con.execute("SELECT count(DISTINCT day) FROM actor_mentions_daily").fetchone()[0]
    return {"rows": n, "days": days}


def top_actors(con: duckdb.DuckDBPyConnection, per_day: int = 5) -> pd.DataFrame:
    """The top actors of each day by mentions (ties broken by name)."""
    return con.execute(
        f"SELECT day, actor, actor_type, mentions, articles FROM ({RANKED_DAILY_SQL}) WHERE rank <= ? ORDER BY day, rank",
        [per_day],
    ).df()
