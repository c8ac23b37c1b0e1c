"""The chain's steps as plain functions over the working DuckDB database (no Dagster here).

Each step reads its inputs from the state (newsdag.store defines every table), writes its output
table(s) in one transaction, and returns a small dataclass of figures for the caller to report.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import importlib.metadata
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import duckdb
import numpy as np
import pandas as pd

from newsdag import actors, cleaning, dedup, lake, language, ner, parallel, reading, store, warehouse, webpage
from newsdag.settings import Settings
from newsdag.store import TABLES, days_param, write
from newsdag.text import WIRE_DATELINE
from newsdag.warehouse import RANKED_DAILY_SQL, session, transaction

log = logging.getLogger("newsdag")

_WORD = re.compile(r"\w+")

# Bump when a change to the code changes what a day's entities or counts would be: every day is
# then rebuilt on the next run.
PIPELINE_VERSION = "4"  # 4: one wire-dateline rule (newsdag.text.WIRE_DATELINE)

# Parse files, and resolve days' actors, in `settings.n_process` forked workers from this many on.
PARALLEL_MIN_FILES = 2000
PARALLEL_MIN_DAYS = 4


def article_id_for(source_path: str) -> str:
    """Stable article id: first 16 hex digits of sha256 of the relative source path."""
    return hashlib.sha256(source_path.encode("utf-8")).hexdigest()[:16]


def state_get(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A value of the working database's bookkeeping (`build_state`), or None."""
    row = con.execute("SELECT value FROM build_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def state_set(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO build_state VALUES (?, ?)", [key, value])


def mark_changed(con: duckdb.DuckDBPyConnection) -> None:
    """Something the analysts' file shows has changed since it was last published."""
    state_set(con, "unpublished_changes", "yes")


def has_unpublished_changes(con: duckdb.DuckDBPyConnection) -> bool:
    return state_get(con, "unpublished_changes") != "no"


def mark_published(con: duckdb.DuckDBPyConnection) -> None:
    state_set(con, "unpublished_changes", "no")


# Bump when a table of the working database changes its columns: every table derived from the raw files
# is then dropped and rebuilt (the data-quality history is kept).
WORK_SCHEMA_VERSION = "3"


def ensure_current_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the state's tables; first drop the derived tables of a working database written by an older
    version (they are rebuilt from the raw files)."""
    con.execute(TABLES["build_state"].create_sql())
    found = state_get(con, "work_schema")
    if found == WORK_SCHEMA_VERSION:
        store.create_all(con)
        return
    existing = dict(con.execute("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'main' "
                                "AND database_name = current_database()").fetchall())
    stale = [t for t in store.DERIVED if t in existing]
    with transaction(con):
        for table in stale:  # names from the store's constants, never from input
            con.execute(f"DROP TABLE {table}")
        store.create_all(con)
        state_set(con, "work_schema", WORK_SCHEMA_VERSION)
        mark_changed(con)
    if any(existing[t] for t in stale):  # (a new database has only empty tables: nothing to say)
        log.warning("working database had schema %s (this version writes %s): rebuilding its %d derived tables "
                    "from the raw files; the data-quality history is kept", found or "1", WORK_SCHEMA_VERSION,
                    len(stale))


@dataclass(frozen=True)
class RawFilesResult:
    files: int
    new: int
    changed: int
    vanished: int
    undecodable: int
    bytes: int


def build_raw_files(settings: Settings, con: duckdb.DuckDBPyConnection) -> RawFilesResult:
    """Inventory every raw file by content hash; only new, changed and vanished files touch the table."""
    ensure_current_schema(con)
    paths = reading.scan_raw_files(settings.raw_dir)
    log.info("raw files: reading %d files under %s", len(paths), settings.raw_dir)
    rows = []
    for i, (rel, path) in enumerate(paths, 1):
        rows.extend(reading.read_entries(path, settings.raw_dir, rel, max_bytes=settings.max_file_bytes))
        if i % 5000 == 0:
            log.info("raw files: read %d/%d", i, len(paths))
    frame = pd.DataFrame(
        {
            "source_path": pd.Series([r.source_path for r in rows], dtype=object),
            "content_hash": pd.Series([r.content_hash for r in rows], dtype=object),
            "size_bytes": pd.Series([r.size_bytes for r in rows], dtype="int64"),
            "text": pd.Series([r.text for r in rows], dtype=object),
            "error": pd.Series([r.error for r in rows], dtype=object),
            "reason": pd.Series([r.reason for r in rows], dtype=object),
            "source_format": pd.Series([r.source_format for r in rows], dtype=object),
            "url": pd.Series([r.url for r in rows], dtype=object),
            "fetched_date": pd.Series([r.fetched_date for r in rows], dtype=object),
        }
    )
    old = con.execute("SELECT source_path, content_hash FROM raw_files").df()
    old_hash = dict(zip(old["source_path"], old["content_hash"]))
    is_new = ~frame["source_path"].isin(old_hash.keys())
    is_changed = ~is_new & (frame["source_path"].map(old_hash) != frame["content_hash"])
    vanished = sorted(set(old_hash) - set(frame["source_path"]))
    upsert = frame[is_new | is_changed]
    gone = vanished + upsert["source_path"].tolist()
    if gone:
        with transaction(con):
            write(con, "raw_files", upsert, replace=("source_path", gone))
            mark_changed(con)
    stats = RawFilesResult(files=len(frame), new=int(is_new.sum()), changed=int(is_changed.sum()),
                           vanished=len(vanished), undecodable=int(frame["error"].notna().sum()),
                           bytes=int(frame["size_bytes"].sum()))
    log.info("raw files: %d files (%d new, %d changed, %d vanished)", stats.files, stats.new, stats.changed,
             stats.vanished)
    return stats


@dataclass(frozen=True)
class RawInput:
    """What the parse workers need of one decoded raw file or WARC record."""
    text: str
    source_format: str           # 'text', 'html' or 'warc'
    url: str | None
    fetched_date: dt.date | None


@dataclass(frozen=True)
class ParseRules:
    """What decides a raw input's parse besides its bytes: corpus-wide boilerplate and the date bounds."""
    recurring_lines: frozenset[str]            # short lines recurring across the plain-text files
    min_date: dt.date
    max_date: dt.date                          # tomorrow: it moves every day

    def key(self) -> str:
        """What, when it changes, makes every input parse again. Not max_date: it only ever grows, so an
        accepted date stays plausible; the inputs quarantined as implausible_date are parsed again on
        every run instead (a file dated tomorrow is accepted once its day has come)."""
        return hashlib.sha256("\0".join(["\n".join(sorted(self.recurring_lines)), str(self.min_date)])
                              .encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParseOutcome:
    """One raw input parsed: an article (with its word count and language) or a quarantine reason."""
    result: cleaning.Parsed | cleaning.Rejected
    words: int = 0
    language: str | None = None


def date_bounds(settings: Settings, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The oldest (NEWSDAG_MIN_DATE) and newest (tomorrow, UTC: no time zone is in the future) plausible
    publication date; the parse step quarantines dates outside them and the ERROR check re-checks them."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return settings.min_date, today + dt.timedelta(days=1)


def parse_input(item: RawInput, rules: ParseRules) -> ParseOutcome:
    """Parse one decoded input by its format, quarantine implausible dates, count words, detect the language."""
    if item.source_format in ("html", "warc"):
        result = webpage.extract_page(item.text, url=item.url, fetched=item.fetched_date)
    else:
        result = cleaning.parse_document(item.text, recurring_lines=rules.recurring_lines)
    if isinstance(result, cleaning.Rejected):
        return ParseOutcome(result)
    if not rules.min_date <= result.published_date <= rules.max_date:
        bound = (f"before NEWSDAG_MIN_DATE ({rules.min_date})" if result.published_date < rules.min_date
                 else "after tomorrow (UTC)")  # (no date here: the detail of an unchanged file stays the same)
        return ParseOutcome(cleaning.Rejected(
            "implausible_date", f"publication date {result.published_date} ({result.date_source}) is {bound}"))
    return ParseOutcome(result, len(_WORD.findall(result.body)), language.detect_language(result.body))


# An HTML page costs about this many plain-text files to parse (trafilatura and htmldate): parsing runs in
# forked workers from PARALLEL_MIN_FILES plain-text files' worth of work on.
HTML_PARSE_WEIGHT = 40


def parse_rules(settings: Settings, raw: pd.DataFrame) -> ParseRules:
    """The corpus-wide rules of this run's parse, from every decoded raw input."""
    is_text = raw["source_format"].fillna("text").eq("text") & raw["text"].notna()
    recurring = cleaning.find_recurring_lines(t for t in raw.loc[is_text, "text"])
    return ParseRules(recurring, *date_bounds(settings))


@dataclass(frozen=True)
class CleanedResult:
    articles: int
    rejected: int
    rejected_by_reason: dict[str, int]
    parsed: int                       # inputs whose outcome was (re)written this run (new text may need NER)
    articles_by_language: dict[str, int]


def build_cleaned(settings: Settings, con: duckdb.DuckDBPyConnection) -> CleanedResult:
    """Parse and clean decoded inputs into `articles`; quarantine the rest in `rejected_files`.

    An input is parsed again only when its content changed or the corpus-wide rules (boilerplate
    lines, date bounds) did.
    """
    raw = con.execute("SELECT source_path, content_hash, text, error, reason, source_format, url, fetched_date "
                      "FROM raw_files ORDER BY source_path").fetchdf()
    rules = parse_rules(settings, raw)
    rules_key = rules.key()
    same_rules = state_get(con, "parse_rules") == rules_key
    done = con.execute(
        "SELECT source_path, content_hash FROM articles UNION ALL SELECT source_path, content_hash FROM rejected_files "
        "WHERE reason <> 'implausible_date'"
    ).df() if same_rules else pd.DataFrame({"source_path": [], "content_hash": []})
    done_keys = set(zip(done["source_path"], done["content_hash"]))
    todo = raw[np.array([k not in done_keys for k in zip(raw["source_path"], raw["content_hash"])], dtype=bool)]
    known = set(con.execute("SELECT source_path FROM articles UNION ALL SELECT source_path FROM rejected_files")
                .df()["source_path"]) if same_rules else set()
    implausible = {p: (h, d) for p, h, d in con.execute(
        "SELECT source_path, content_hash, detail FROM rejected_files WHERE reason = 'implausible_date'").fetchall()
    } if same_rules else {}
    stale = sorted(known - set(raw["source_path"]))  # files that vanished
    log.info("cleaning: %d inputs, %d to parse (%d recurring boilerplate lines%s)", len(raw), len(todo),
             len(rules.recurring_lines),
             "" if same_rules else ", rules changed since the last run")
    accepted, rejected = [], []
    items = [RawInput(r.text, r.source_format or "text", r.url, _as_date(r.fetched_date))
             for r in todo.itertuples(index=False) if isinstance(r.text, str)]
    work = sum(HTML_PARSE_WEIGHT if i.source_format != "text" else 1 for i in items)
    if items:
        language.preload()  # before forking: the workers share the loaded model
    parsed = iter(parallel.map_ordered(functools.partial(parse_input, rules=rules), items,
                                       settings.n_process if work >= PARALLEL_MIN_FILES else 1, 2))
    for row in todo.itertuples(index=False):
        if not isinstance(row.text, str):
            rejected.append((row.source_path, row.reason or "unreadable", row.error, row.content_hash))
            continue
        outcome = next(parsed)
        result = outcome.result
        if isinstance(result, cleaning.Rejected):
            rejected.append((row.source_path, result.reason, result.detail, row.content_hash))
            continue
        url = result.url or row.url
        accepted.append((article_id_for(row.source_path), row.source_path, result.published_date, result.date_source,
                         result.title, result.body, outcome.words, row.content_hash, url, webpage.site_of(url),
                         outcome.language, row.source_format or "text"))
    # inputs quarantined as implausible_date before and again now, unchanged: nothing to write
    unchanged = {p for p, reason, detail, h in rejected if reason == "implausible_date" and implausible.get(p) == (h, detail)}
    rejected = [r for r in rejected if r[0] not in unchanged]
    new_articles = pd.DataFrame(accepted, columns=TABLES["articles"].column_names)
    new_rejected = pd.DataFrame(rejected, columns=TABLES["rejected_files"].column_names)
    gone = stale + [p for p in todo["source_path"] if p not in unchanged]
    if gone or not same_rules:
        with transaction(con):
            for table, frame in (("articles", new_articles), ("rejected_files", new_rejected)):
                write(con, table, frame, replace_all=not same_rules, replace=("source_path", gone))
            state_set(con, "parse_rules", rules_key)
            mark_changed(con)
    counts = con.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM rejected_files)").fetchone()
    by_reason = dict(con.execute("SELECT reason, count(*) FROM rejected_files GROUP BY 1 ORDER BY 1").fetchall())
    by_language = dict(con.execute("SELECT language, count(*) FROM articles GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
    log.info("cleaning: %d articles, %d inputs rejected %s (%d parsed this run)", counts[0], counts[1], by_reason,
             len(todo) - len(unchanged))
    return CleanedResult(articles=counts[0], rejected=counts[1], rejected_by_reason=by_reason,
                         parsed=len(todo) - len(unchanged), articles_by_language=by_language)


def _as_date(value) -> dt.date | None:
    """A DATE column's value from a DataFrame (NaT/None -> None)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


# What the duplicate search depends on: every article's id, path, day and body.
ARTICLES_DIGEST_SQL = ("SELECT md5(coalesce(string_agg(article_id || '|' || source_path || '|' || published_date "
                       "|| '|' || md5(body), ',' ORDER BY article_id), '')) FROM articles")


@dataclass(frozen=True)
class DuplicatesResult:
    duplicates: int
    groups: int
    canonical: int


def build_duplicates(settings: Settings, con: duckdb.DuckDBPyConnection) -> DuplicatesResult:
    """Collapse exact and near duplicates: each non-canonical article points at its canonical one.

    New articles are compared with all earlier ones through MinHash signatures kept in the working
    database; when no article changed, the previous result stands.
    """
    digest = f"{dedup.RULES_VERSION}:{con.execute(ARTICLES_DIGEST_SQL).fetchone()[0]}"
    if state_get(con, "dedup_input") != digest:
        articles = con.execute("SELECT article_id, source_path, published_date, body FROM articles").df()
        stored = con.execute("SELECT signature_key, signature FROM dedup_signatures").fetchall()
        cache = {k: np.frombuffer(v, dtype=np.uint32) for k, v in stored}
        known = set(cache)
        log.info("dedup: comparing %d articles (%d signatures stored)", len(articles), len(known))
        dups = dedup.find_duplicates(articles, signature_cache=cache, n_process=settings.n_process)
        new_keys = [k for k in cache if k not in known]
        fresh = pd.DataFrame({"signature_key": pd.Series(new_keys, dtype=object),
                              "signature": pd.Series([cache[k].tobytes() for k in new_keys], dtype=object)})
        with transaction(con):
            write(con, "dedup_signatures", fresh, ignore_existing=True)
            write(con, "article_duplicates", dups, replace_all=True)
            state_set(con, "dedup_input", digest)
            mark_changed(con)
    else:
        log.info("dedup: no article changed since the last run")
    refresh_day_inputs(settings, con)
    n_dups, groups, n_articles = con.execute(
        "SELECT count(*), count(DISTINCT duplicate_of), (SELECT count(*) FROM articles) FROM article_duplicates"
    ).fetchone()
    log.info("dedup: %d duplicates in %d groups", n_dups, groups)
    return DuplicatesResult(duplicates=n_dups, groups=groups, canonical=n_articles - n_dups)


# ---------------------------------------------------------------------------------------------
# Days: the unit of the partitioned steps. Each day's inputs (its canonical articles and the
# settings that read them) have a digest; each partitioned table records the digest it was built
# from, so a day is stale for a table when the two differ.
#
# Actors are resolved with the names the corpus knows within NAME_WINDOW_DAYS either side of a day
# ('Reagan' -> 'Ronald Reagan'), so a day's mentions also depend on its neighbours' entities: the
# mention tables record, beside the day's digest, a *context* digest of the entities they were
# resolved with (the build digests of `entities` on the days of the window). A neighbour whose
# entities change makes the day stale; the planner (stale_days) rebuilds those days in the same run.

PARTITIONED_TABLES = ("entities", "entity_mentions", "actor_mentions_daily")
CONTEXT_TABLES = ("entity_mentions", "actor_mentions_daily")
NAME_WINDOW_DAYS = actors.WINDOW_DAYS
# Every known day and the context digest of its window: the `entities` builds of the days around it.
DAY_CONTEXT_SQL = (
    "SELECT k.day, md5(coalesce(string_agg(e.day::VARCHAR || '=' || e.digest, ',' ORDER BY e.day), '')) AS context "
    "FROM (SELECT day FROM day_inputs UNION SELECT day FROM day_builds) k LEFT JOIN day_builds e "
    "ON e.table_name = 'entities' AND e.day BETWEEN k.day - $window::INTEGER AND k.day + $window::INTEGER "
    "GROUP BY k.day"
)


def settings_digest(settings: Settings) -> str:
    """What, besides the articles, decides a day's entities and counts: model, labels, the alias table
    (countries, alias files, nicknames)."""
    try:
        model = f"{settings.spacy_model}=={importlib.metadata.version(settings.spacy_model)}"
    except importlib.metadata.PackageNotFoundError:
        model = settings.spacy_model
    # what the alias table holds (country data, alias files, nickname files), not where it came from
    aliases = actors.load_aliases(settings.aliases_path, nicknames=settings.nicknames_path)
    table = repr((sorted(aliases.entries.items()), sorted(aliases.codes.items()),
                  sorted((k, sorted(v)) for k, v in aliases.nicknames.items())))
    return hashlib.sha256("\0".join([PIPELINE_VERSION, model, ",".join(sorted(settings.labels)),
                                      hashlib.sha256(table.encode()).hexdigest()]).encode()).hexdigest()


def refresh_day_inputs(settings: Settings, con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every day's input digest from its canonical articles."""
    with transaction(con):
        con.execute("DELETE FROM day_inputs")
        con.execute(
            "INSERT INTO day_inputs SELECT published_date, md5(? || string_agg(article_id || ':' || md5(body), ',' "
            "ORDER BY article_id)), count(*) FROM articles WHERE article_id NOT IN (SELECT article_id FROM "
            "article_duplicates) GROUP BY published_date", [settings_digest(settings)])


def with_neighbours(days: Iterable[dt.date | str], known: Iterable[dt.date | str]) -> list[dt.date]:
    """`days` and the `known` days within NAME_WINDOW_DAYS of one of them: when a day's articles change,
    the days around it resolve their actors with its new names (the one rule of which days a change
    reaches, used by stale_days for the CLI and by the sensor's and the schedule's plan)."""
    changed = days_param(days)
    span = dt.timedelta(days=NAME_WINDOW_DAYS)
    out = set(changed)
    for day in days_param(known):
        i = bisect.bisect_left(changed, day - span)
        if i < len(changed) and changed[i] <= day + span:
            out.add(day)
    return sorted(out)


def known_days(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Every day that has canonical articles or was built before (its rows may need removing)."""
    return [d for (d,) in con.execute("SELECT day FROM day_inputs UNION SELECT day FROM day_builds ORDER BY 1").fetchall()]


def stale_days(con: duckdb.DuckDBPyConnection, tables=PARTITIONED_TABLES) -> list[dt.date]:
    """Days whose partitioned tables were not built from their current inputs, or whose mentions were resolved
    with other neighbours' entities than today's; and the days within the name window of a day whose entities
    will change (their mentions are rebuilt in the same run, after the new entities)."""
    stale = con.execute(
        f"WITH ctx AS ({DAY_CONTEXT_SQL}) "
        "SELECT k.day, t.table_name FROM ctx k CROSS JOIN (SELECT unnest($tables::VARCHAR[]) AS table_name) t "
        "LEFT JOIN day_inputs i ON i.day = k.day "
        "LEFT JOIN day_builds b ON b.day = k.day AND b.table_name = t.table_name "
        "WHERE (b.digest IS DISTINCT FROM i.digest AND NOT (i.digest IS NULL AND b.digest = 'empty')) "
        "OR (t.table_name IN (SELECT unnest($context_tables::VARCHAR[])) AND i.digest IS NOT NULL "
        "AND b.context IS DISTINCT FROM k.context)",
        {"tables": list(tables), "context_tables": list(CONTEXT_TABLES), "window": NAME_WINDOW_DAYS}).fetchall()
    days = {day for day, _ in stale}
    if any(t in CONTEXT_TABLES for t in tables):
        with_inputs = [d for (d,) in con.execute("SELECT day FROM day_inputs").fetchall()]
        days.update(with_neighbours([day for day, table in stale if table == "entities"], with_inputs))
    return sorted(days)


PUBLISHED_PER_DAY_TABLES = ("entity_mentions", "actor_mentions_daily")


def days_built_from_other_inputs(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Days whose published per-day tables hold rows built from other articles than the day's current ones
    (articles added, edited, deleted or re-dated since): publishing them would show counts that disagree
    with the articles. Days never built are not among them: they simply have no mentions yet."""
    return [d for (d,) in con.execute(
        "SELECT DISTINCT b.day FROM day_builds b LEFT JOIN day_inputs i USING (day) "
        "WHERE b.table_name IN (SELECT unnest(?::VARCHAR[])) AND b.digest <> coalesce(i.digest, 'empty') ORDER BY 1",
        [list(PUBLISHED_PER_DAY_TABLES)]).fetchall()]


def _record_builds(con: duckdb.DuckDBPyConnection, table: str, run_days: list[dt.date]) -> None:
    """Inside the step's transaction: `table` now holds these days as built from their current inputs (and, for
    the mention tables, from the current entities of the days around them)."""
    con.execute("DELETE FROM day_builds WHERE table_name = $table AND day IN (SELECT unnest($days::DATE[]))",
                {"table": table, "days": run_days})
    con.execute(f"INSERT INTO day_builds SELECT $table, w.day, coalesce(i.digest, 'empty'), "
                f"CASE WHEN $table IN (SELECT unnest($context_tables::VARCHAR[])) THEN c.context END "
                f"FROM (SELECT unnest($days::DATE[]) AS day) w LEFT JOIN day_inputs i USING (day) "
                f"LEFT JOIN ({DAY_CONTEXT_SQL}) c USING (day)",
                {"table": table, "days": run_days, "context_tables": list(CONTEXT_TABLES), "window": NAME_WINDOW_DAYS})


def _ner_key(settings: Settings) -> tuple[str, str]:
    """(model name==version, comma-separated labels): what the NER cache is keyed by besides the text."""
    return ner.model_version(settings.spacy_model), ",".join(sorted(settings.labels))


def _select_for_ner(settings: Settings, con: duckdb.DuckDBPyConnection, run_days: list[dt.date],
                    key: tuple[str, str]) -> tuple[int, int]:
    """Fill the scratch table ner_canonical with the canonical articles of `run_days` in the model's language,
    each body hashed and looked up in the NER cache (`key`: _ner_key) once; return (articles, articles whose
    text was not read).
    (A plain table: the NER input streams through a second cursor, which cannot see temp tables.)"""
    con.execute("DELETE FROM ner_canonical")
    con.execute(
        "INSERT INTO ner_canonical SELECT a.article_id, a.published_date, sha256(a.body) AS body_hash, "
        "false AS cached FROM articles a WHERE a.published_date IN (SELECT unnest($days::DATE[])) "
        "AND a.article_id NOT IN (SELECT article_id FROM article_duplicates) AND a.language IN ($lang, $und)",
        {"days": run_days, "lang": language.model_language(settings.spacy_model), "und": language.UNDETERMINED})
    con.execute("UPDATE ner_canonical c SET cached = true FROM ner_cache_keys k "
                "WHERE k.body_hash = c.body_hash AND k.model = ? AND k.labels = ?", list(key))
    return con.execute("SELECT count(*), count(*) FILTER (WHERE NOT cached) FROM ner_canonical").fetchone()


@dataclass(frozen=True)
class EntitiesResult:
    entities: int
    articles: int
    articles_read: int
    articles_cached: int
    model: str
    days: int


def build_entities(settings: Settings, con: duckdb.DuckDBPyConnection,
                   days: Iterable[dt.date | str]) -> EntitiesResult:
    """Run spaCy NER over the canonical articles of `days` into `entities` (replacing those days).

    NER output is cached by (body hash, model name and version, labels): an article whose text was
    already read by the same model for the same labels is not read again.
    """
    run_days = days_param(days)
    model, labels = _ner_key(settings)
    key = [model, labels]
    total, todo = _select_for_ner(settings, con, run_days, (model, labels))
    todo_sql = ("SELECT c.article_id, a.body, c.body_hash FROM ner_canonical c JOIN articles a USING (article_id) "
                "WHERE NOT c.cached ORDER BY c.article_id")
    log.info("ner: %d days, %d canonical articles, %d not read before by %s (labels %s)", len(run_days), total, todo,
             model, labels)

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
    ) if todo else pd.DataFrame(columns=ner.ENTITY_COLUMNS)  # all from the cache: spaCy is never loaded
    found.insert(0, "body_hash", found.pop("article_id").map(hashes))
    done = pd.DataFrame({"body_hash": pd.Series(sorted(set(hashes.values())), dtype=object),
                         "model": model, "labels": labels})
    found = found.assign(model=model, labels=labels)
    with transaction(con):
        write(con, "ner_cache_keys", done, ignore_existing=True)
        write(con, "ner_cache", found)
        con.execute("DELETE FROM entities WHERE published_date IN (SELECT unnest($days::DATE[]))", {"days": run_days})
        con.execute(
            "INSERT INTO entities SELECT c.article_id, c.published_date, n.entity_text, n.entity_label, n.start_char, "
            "n.end_char FROM ner_canonical c JOIN ner_cache n ON n.body_hash = c.body_hash AND n.model = ? "
            "AND n.labels = ? ORDER BY c.article_id, n.start_char", key)
        _record_builds(con, "entities", run_days)
        con.execute("DELETE FROM ner_canonical")
    n = con.execute("SELECT count(*) FROM entities WHERE published_date IN (SELECT unnest($days::DATE[]))",
                    {"days": run_days}).fetchone()[0]
    return EntitiesResult(entities=n, articles=total, articles_read=todo, articles_cached=total - todo, model=model,
                          days=len(run_days))


# ---------------------------------------------------------------- NER spread over workers (distributed mode)
# A run's NER split into chunks that separate steps read on any worker at once: each chunk is up to
# `settings.ner_chunk_articles` texts of one day, exchanged as Parquet under the storage root. One step
# plans them, many read them, one loads what they found into the NER cache and builds `entities` from it
# (build_entities then finds every text cached). See assets/fanout.py.
NER_CHUNKS_DIR = "ner_chunks"


@dataclass(frozen=True)
class NerChunk:
    key: str          # unique within the run: '19870302_0' (a Dagster mapping key: letters, digits, _)
    day: dt.date
    texts: int
    input: str        # Parquet under the storage root: body_hash, body
    output: str       # where the chunk's entities go: body_hash, entity_text, entity_label, start_char, end_char


def _chunks_dir(run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise ValueError(f"run id {run_id!r}: expected letters, digits, - and _")
    return f"{NER_CHUNKS_DIR}/{run_id}"


def plan_ner_chunks(settings: Settings, con: duckdb.DuckDBPyConnection, days: Iterable[dt.date | str],
                    run_id: str) -> list[NerChunk]:
    """Write the texts of `days` that the model has not read, in chunks of at most ner_chunk_articles texts
    of one day, under the storage root; return the chunks (at least one, maybe empty, so the steps after
    the readers always run). Streams the texts: memory holds one chunk."""
    run_days = days_param(days)
    total, todo = _select_for_ner(settings, con, run_days, _ner_key(settings))
    folder = _chunks_dir(run_id)
    lake.remove_tree(settings.storage_root, folder)  # a retried plan starts clean
    size = settings.ner_chunk_articles
    chunks: list[NerChunk] = []
    # texts per day, so that each day is cut into equal chunks (the last chunk is not a small remainder)
    per_day = dict(con.execute("SELECT published_date, count(DISTINCT body_hash) FROM ner_canonical "
                               "WHERE NOT cached GROUP BY 1").fetchall())

    def write_chunk(day: dt.date, rows: list[tuple[str, str]]) -> None:
        key = f"{day:%Y%m%d}_{len(chunks) - first_of_day}"
        frame = pd.DataFrame(rows, columns=["body_hash", "body"])
        lake.write_frame(settings.storage_root, f"{folder}/{key}.input.parquet", frame)
        chunks.append(NerChunk(key, day, len(frame), f"{folder}/{key}.input.parquet", f"{folder}/{key}.parquet"))

    cursor = con.cursor()
    # one row per text and day (the same text on two days is read once per day; the load keeps one)
    cursor.execute("SELECT c.published_date, c.body_hash, any_value(a.body) FROM ner_canonical c "
                   "JOIN articles a USING (article_id) WHERE NOT c.cached GROUP BY ALL ORDER BY 1, 2")
    pending: list[tuple[str, str]] = []
    day, limit, first_of_day = None, size, 0   # the day being cut, its chunk size, its first chunk's index
    while batch := cursor.fetchmany(1000):
        for row_day, body_hash, body in batch:
            if row_day != day or len(pending) >= limit:
                if pending:
                    write_chunk(day, pending)
                    pending = []
                if row_day != day:  # a new day: cut its n texts into ceil(n / size) chunks of equal size
                    day, n, first_of_day = row_day, per_day[row_day], len(chunks)
                    parts = -(-n // size)
                    limit = -(-n // parts)
            pending.append((body_hash, body))
    if pending or not chunks:  # at least one (maybe empty) chunk, so the steps after the readers run
        write_chunk(day or (run_days[0] if run_days else dt.date(1970, 1, 1)), pending)
    con.execute("DELETE FROM ner_canonical")
    log.info("ner: %d days, %d canonical articles, %d texts not read before, in %d chunks of at most %d",
             len(run_days), total, sum(c.texts for c in chunks), len([c for c in chunks if c.texts]), size)
    return chunks


def read_ner_chunk(settings: Settings, chunk: NerChunk) -> int:
    """Run NER over one chunk's texts (on whichever worker runs it) and write what it found beside it;
    return the number of entities."""
    texts = lake.read_frame(settings.storage_root, chunk.input)

    def progress(done: int, of: int | None) -> None:
        log.info("ner chunk %s: %d/%s texts", chunk.key, done, of)

    found = ner.extract_entities(
        zip(texts["body_hash"], texts["body"]), settings.spacy_model, settings.labels,
        batch_size=settings.batch_size, n_process=settings.n_process, total=len(texts), progress=progress,
    ) if len(texts) else pd.DataFrame(columns=ner.ENTITY_COLUMNS)
    found = found.rename(columns={"article_id": "body_hash"})
    lake.write_frame(settings.storage_root, chunk.output, found)
    log.info("ner chunk %s: %d texts, %d entities", chunk.key, len(texts), len(found))
    return len(found)


def load_ner_chunks(settings: Settings, con: duckdb.DuckDBPyConnection, chunks: Sequence[NerChunk],
                    days: Iterable[dt.date | str], run_id: str) -> EntitiesResult:
    """The one loader: add every chunk's entities to the NER cache, build `entities` of `days` from the
    cache (no NER left to do), and remove the run's chunk files."""
    model, labels = _ner_key(settings)
    read, found = [], []
    for i, chunk in enumerate(sorted(chunks, key=lambda c: c.key)):
        if chunk.texts:
            read.append(lake.read_frame(settings.storage_root, chunk.input, columns=["body_hash"]).assign(chunk=i))
            found.append(lake.read_frame(settings.storage_root, chunk.output).assign(chunk=i))
    texts = sum(len(r) for r in read)
    if read:
        first = pd.concat(read, ignore_index=True).drop_duplicates("body_hash")  # a text read on two days: keep one
        known = {h for (h,) in con.execute(
            "SELECT body_hash FROM ner_cache_keys WHERE model = ? AND labels = ? AND body_hash IN "
            "(SELECT unnest(?::VARCHAR[]))", [model, labels, list(first["body_hash"])]).fetchall()}
        first = first[~first["body_hash"].isin(known)]  # cached meanwhile (another run): keep what is there
        entities = pd.concat(found, ignore_index=True).merge(first, on=["body_hash", "chunk"])
        with transaction(con):
            write(con, "ner_cache_keys", first.assign(model=model, labels=labels), ignore_existing=True)
            write(con, "ner_cache", entities.drop(columns="chunk").assign(model=model, labels=labels))
    result = build_entities(settings, con, days)
    lake.remove_tree(settings.storage_root, _chunks_dir(run_id))
    return dataclasses.replace(result, articles_read=texts, articles_cached=max(0, result.articles - texts))


def _resolve_day(item: tuple[pd.DataFrame, object], aliases: actors.AliasTable) -> pd.DataFrame:
    """One day's mentions resolved with the names known in its window (a top-level function: it runs in workers)."""
    mentions, known = item
    return actors.resolve_actors(mentions, aliases, known=known)


@dataclass(frozen=True)
class MentionsResult:
    mentions: int
    actors: int
    dropped: int          # entities that are no actor (blank after folding, or marked 'ignore' in the alias file)
    dateline: int         # entities inside a wire dateline (where a story was filed): not counted
    days: int


def build_mentions(settings: Settings, con: duckdb.DuckDBPyConnection,
                   days: Iterable[dt.date | str]) -> MentionsResult:
    """Map every entity of `days` outside the wire dateline to its canonical actor into `entity_mentions`.

    Each day is resolved with the names the corpus knows within NAME_WINDOW_DAYS either side of it (from the
    entities of those days), so a day's counts depend on the data alone, never on which other days one run
    happens to build; the mention tables record which neighbours' entities they used (see stale_days).
    """
    run_days = days_param(days)
    raw = con.execute(
        "SELECT e.article_id, e.published_date, e.entity_text, e.entity_label, e.start_char, e.end_char, "
        "e.start_char < length(regexp_extract(a.body, $dateline)) AS in_dateline, "
        "e.published_date IN (SELECT unnest($days::DATE[])) AS in_run "
        "FROM entities e JOIN articles a USING (article_id) "
        "WHERE e.published_date BETWEEN $first::DATE - $window::INTEGER AND $last::DATE + $window::INTEGER "
        "ORDER BY e.published_date, e.article_id, e.start_char",
        {"dateline": WIRE_DATELINE, "window": NAME_WINDOW_DAYS, "days": run_days,
         "first": run_days[0] if run_days else None, "last": run_days[-1] if run_days else None},
    ).df()
    in_dateline = raw.pop("in_dateline").astype(bool)
    in_run = raw.pop("in_run").astype(bool)
    window = raw[~in_dateline].reset_index(drop=True)
    aliases = actors.load_aliases(settings.aliases_path, nicknames=settings.nicknames_path)
    by_day = {pd.Timestamp(day).date(): group for day, group in window.groupby("published_date", sort=True)}
    names = {day: actors.full_names(group, aliases) for day, group in by_day.items()}
    span = dt.timedelta(days=NAME_WINDOW_DAYS)
    items = [(by_day[day], actors.sum_names([n for d, n in names.items() if abs(d - day) <= span]))
             for day in run_days if day in by_day]
    parts = parallel.map_ordered(functools.partial(_resolve_day, aliases=aliases), items, settings.n_process,
                                 PARALLEL_MIN_DAYS)
    columns = TABLES["entity_mentions"].column_names
    mentions = (pd.concat(parts, ignore_index=True)[columns] if parts
                else actors.resolve_actors(window.iloc[:0], aliases)[columns])
    with transaction(con):
        write(con, "entity_mentions", mentions, replace=("published_date", run_days))
        _record_builds(con, "entity_mentions", run_days)
        mark_changed(con)
    n_dateline = int((in_dateline & in_run).sum())
    # (a compound span has one row per actor: count spans, not rows)
    dropped = int((in_run & ~in_dateline).sum()) - len(mentions.drop_duplicates(["article_id", "start_char"]))
    log.info("actors: %d mentions of %d actors on %d days (%d in wire datelines not counted; names known within "
             "%d days either side)", len(mentions), mentions["actor"].nunique(), len(run_days), n_dateline,
             NAME_WINDOW_DAYS)
    return MentionsResult(mentions=len(mentions), actors=int(mentions["actor"].nunique()), dropped=dropped,
                          dateline=n_dateline, days=len(run_days))


@dataclass(frozen=True)
class DailyResult:
    rows: int
    days: int


def build_daily(settings: Settings, con: duckdb.DuckDBPyConnection, days: Iterable[dt.date | str]) -> DailyResult:
    """Count mentions and distinct articles per day and actor for `days` (replacing those days)."""
    run_days = days_param(days)
    with transaction(con):
        counts = con.execute(
            "SELECT published_date AS day, actor, actor_type, actor_code, count(*) AS mentions, "
            "count(DISTINCT article_id) AS articles FROM entity_mentions WHERE published_date IN "
            "(SELECT unnest($days::DATE[])) GROUP BY ALL ORDER BY 1, 5 DESC, 2", {"days": run_days}).df()
        write(con, "actor_mentions_daily", counts, replace=("day", run_days))
        _record_builds(con, "actor_mentions_daily", run_days)
        mark_changed(con)
    return DailyResult(rows=len(counts), days=int(counts["day"].nunique()))


@contextlib.contextmanager
def state(settings: Settings, days: Iterable[dt.date | str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The pipeline's state: the working DuckDB file, or, with a storage root (distributed mode), an
    in-memory database loaded from and written back to Parquet under it (no DuckDB file is written).
    `days`: a step of those days only; in distributed mode it then loads the per-day tables of those days
    and of the NAME_WINDOW_DAYS around them (what resolving their actors reads), not every day."""
    if settings.storage_root:
        with lake.session(settings.storage_root, store.ddl(), days=None if days is None else days_around(days)) as con:
            ensure_current_schema(con)
            yield con
    else:
        with session(settings.work_db_path) as con:
            ensure_current_schema(con)
            yield con


def days_around(days: Iterable[dt.date | str]) -> list[dt.date]:
    """Every calendar day within NAME_WINDOW_DAYS of one of `days`."""
    out: set[dt.date] = set()
    for day in days_param(days):
        out.update(day + dt.timedelta(days=i) for i in range(-NAME_WINDOW_DAYS, NAME_WINDOW_DAYS + 1))
    return sorted(out)


def publish(settings: Settings):
    """The writer step: (in distributed mode, load the Parquet state into the working DuckDB file,)
    publish the analysts' file, and remember that it is up to date."""
    if settings.storage_root:
        lake.load_into(settings.storage_root, settings.work_db_path, store.ddl())
    path = warehouse.publish(settings.work_db_path, settings.db_path, settings.storage_version)
    with state(settings) as con:
        mark_published(con)
        stale = stale_days(con)
    return path, stale


def daily_mentions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every day's mentions per actor (day, actor, mentions): the series the UI charts."""
    return con.execute("SELECT day, actor, mentions FROM actor_mentions_daily").df()


def top_actors(con: duckdb.DuckDBPyConnection, per_day: int = 5) -> pd.DataFrame:
    """The top actors of each day by mentions (ties broken by name)."""
    return con.execute(
        f"SELECT day, actor, actor_type, mentions, articles FROM ({RANKED_DAILY_SQL}) WHERE rank <= ? ORDER BY day, rank",
        [per_day],
    ).df()
