"""Metadata that makes assets readable in the UI: row counts and column schemas."""

from __future__ import annotations

import dagster as dg

from newsdag.store import TABLES

_TYPES = {"VARCHAR": "string", "DATE": "date", "BIGINT": "int", "DOUBLE": "float", "BOOLEAN": "bool",
          "TIMESTAMP": "datetime", "BLOB": "bytes"}


def column_schema(table: str) -> dg.TableSchema:
    """The contract table's columns, types and meanings, as Dagster's column schema."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, _TYPES.get(sql_type, sql_type.lower()), description=comment)
            for name, (sql_type, comment) in TABLES[table].columns.items()
        ]
    )


def table_metadata(table: str, rows: int) -> dict:
    return {"dagster/row_count": dg.MetadataValue.int(int(rows)), "dagster/column_schema": column_schema(table)}
