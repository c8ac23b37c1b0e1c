"""One expectation suite per checked table: which frame each check validates and what it expects.

Expectations are built lazily (GX takes seconds to import), from the `gx` module passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import duckdb
import pandas as pd

from checks import names
from newsdag import language, pipeline, quality
from newsdag.settings import Settings


@dataclass(frozen=True)
class CheckDef:
    name: str
    asset: str
    blocking_error: bool                     # ERROR severity (blocks publishing) vs WARN
    description: str
    frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
    expectations: Callable[[object, Settings], list]   # (gx module, settings) -> expectations
    id_column: str                           # identifies failing rows in the sample
    per_day: bool = False                    # on a per-day asset: checks the run's days only


def _date_bounds(settings: Settings) -> tuple[dt.date, dt.date]:
    """The plausible publication dates (the parse step already quarantines the others: this is the backstop)."""
    return pipeline.date_bounds(settings)


def _ner_languages(settings: Settings) -> list[str]:
    """Languages whose articles go to NER: the model's, and 'und' (too short to tell)."""
    return [language.model_language(settings.spacy_model), language.UNDETERMINED]


RAW_FILES_SUITE = [
    CheckDef(names.FILES_DECODE, "raw_files", False, "Every raw file decodes as UTF-8 or cp1252.",
             quality.raw_profile, lambda gx, s: [gx.expectations.ExpectColumnValuesToBeInSet(column="decoded", value_set=[True])],
             "source_path"),
    CheckDef(names.DATE_HEADERS_WELL_FORMED, "raw_files", False,
             "Every ' date ' header carries an ISO calendar date (YYYY-MM-DD).",
             quality.raw_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToMatchStrftimeFormat(column="header_date", strftime_format="%Y-%m-%d")],
             "source_path"),
]

REJECTED_FILES_SUITE = [
    CheckDef(names.BODIES_NOT_EMPTY, "rejected_files", False, "Every dated file has a non-empty body after cleaning.",
             quality.body_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeBetween(column="body_chars", min_value=1)],
             "source_path"),
    CheckDef(names.RAW_FILES_ACCOUNTED_FOR, "rejected_files", True,
             "Every raw file is in exactly one of articles and rejected_files (raw = articles + rejected).",
             quality.accounting,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeInSet(column="times_accounted", value_set=[1]),
                            gx.expectations.ExpectColumnValuesToBeInSet(column="is_raw_file", value_set=[True])],
             "source_path"),
]

ARTICLES_SUITE = [
    CheckDef(names.ARTICLES_DATES_VALID, "articles", True,
             "published_date is present, not in the future and not before the configured minimum.",
             quality.articles_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToNotBeNull(column="published_date"),
                            gx.expectations.ExpectColumnValuesToBeBetween(
                                column="published_date", min_value=_date_bounds(s)[0], max_value=_date_bounds(s)[1])],
             "source_path"),
    CheckDef(names.ARTICLES_BODIES_NOT_EMPTY, "articles", True, "Every article has a non-empty body.",
             quality.articles_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeBetween(column="body_chars", min_value=1)],
             "source_path"),
    CheckDef(names.ARTICLE_IDS_UNIQUE, "articles", True, "article_id is unique.",
             quality.articles_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeUnique(column="article_id")],
             "source_path"),
    CheckDef(names.ARTICLES_IN_MODEL_LANGUAGE, "articles", False,
             "Every article is in the spaCy model's language (others stay articles but get no mentions).",
             quality.articles_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeInSet(column="language", value_set=_ner_languages(s))],
             "source_path"),
]

ENTITY_MENTIONS_SUITE = [
    CheckDef(names.ACTORS_NOT_BLANK, "entity_mentions", True, "entity_mentions.actor is never null or blank.",
             quality.mentions_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToNotBeNull(column="actor"),
                            gx.expectations.ExpectColumnValuesToNotMatchRegex(column="actor", regex=r"^\s*$")],
             "article_id", per_day=True),
    CheckDef(names.NO_MENTIONS_FROM_DUPLICATES, "entity_mentions", True, "No mention comes from a duplicate article.",
             quality.mentions_profile,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeInSet(column="from_duplicate", value_set=[False])],
             "article_id", per_day=True),
]

ACTOR_MENTIONS_DAILY_SUITE = [
    CheckDef(names.DAILY_COUNTS_ADD_UP, "actor_mentions_daily", True,
             "Daily mentions and articles equal a recount from entity_mentions.",
             quality.daily_reconciliation,
             lambda gx, s: [gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="mentions", column_B="recounted_mentions"),
                            gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="articles", column_B="recounted_articles")],
             "key", per_day=True),
]

PUBLISH_SUITE = [
    CheckDef(names.TABLES_CONSISTENT, "warehouse_file", True,
             "The tables agree: no mention of a missing, duplicate or re-dated article; every day's mentions and "
             "counts built from its current articles; daily counts equal a recount (all days; the publish step "
             "evaluates it right before it publishes).",
             quality.inconsistencies,
             lambda gx, s: [gx.expectations.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True])],
             "key"),
]

ALL_CHECKS: list[CheckDef] = (
    RAW_FILES_SUITE + REJECTED_FILES_SUITE + ARTICLES_SUITE + ENTITY_MENTIONS_SUITE + ACTOR_MENTIONS_DAILY_SUITE
    + PUBLISH_SUITE
)

CHECKS_BY_NAME: dict[str, CheckDef] = {c.name: c for c in ALL_CHECKS}

# The chain step whose tables they check -> its checks, which run together as one Dagster step (each step
# costs orchestration and a session on the working file; checks of one step share their frames).
CHECKS_BY_STEP: dict[str, list[CheckDef]] = {
    "ingest": RAW_FILES_SUITE + ARTICLES_SUITE + REJECTED_FILES_SUITE,
    "entity_mentions": ENTITY_MENTIONS_SUITE,
    "actor_mentions_daily": ACTOR_MENTIONS_DAILY_SUITE,
    "warehouse_file": PUBLISH_SUITE,
}
assert sorted(c.name for checks in CHECKS_BY_STEP.values() for c in checks) == sorted(CHECKS_BY_NAME)
