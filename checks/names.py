"""Check names, as constants: they are the keys analysts filter `data_quality_results` on."""

# On the raw inputs (WARN: bad files are quarantined, the chain goes on)
FILES_DECODE = "files_decode"
DATE_HEADERS_WELL_FORMED = "date_headers_well_formed"
BODIES_NOT_EMPTY = "bodies_not_empty"
ARTICLES_IN_MODEL_LANGUAGE = "articles_in_model_language"

# On the published tables (ERROR: a failure stops the warehouse from being published)
ARTICLES_DATES_VALID = "articles_dates_valid"
ARTICLES_BODIES_NOT_EMPTY = "articles_bodies_not_empty"
ARTICLE_IDS_UNIQUE = "article_ids_unique"
RAW_FILES_ACCOUNTED_FOR = "raw_files_accounted_for"
ACTORS_NOT_BLANK = "actors_not_blank"
NO_MENTIONS_FROM_DUPLICATES = "no_mentions_from_duplicates"
DAILY_COUNTS_ADD_UP = "daily_counts_add_up"
TABLES_CONSISTENT = "tables_consistent"
