"""Dagster pools: every step that writes DuckDB runs in `duckdb_writer`, which dagster.yaml limits to one
slot, since DuckDB allows one writer at a time (assets and checks both use it)."""

POOL = "duckdb_writer"
