"""The Dagster resource that hands the core its settings and the working database."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from newsdag import pipeline
from newsdag.settings import Settings


class NewsdagResource(dg.ConfigurableResource):
    """Where the raw files are, where the warehouse goes, and which spaCy model reads the news."""

    raw_dir: str
    db_path: str
    spacy_model: str
    labels: str
    storage_version: str
    aliases_path: str = ""
    batch_size: int = 256
    n_process: int = 1
    min_date: str = "1900-01-01"
    storage_root: str = ""
    max_file_mb: float = 20.0

    @classmethod
    def from_settings(cls, s: Settings) -> "NewsdagResource":
        return cls(
            raw_dir=str(s.raw_dir), db_path=str(s.db_path), spacy_model=s.spacy_model, labels=",".join(s.labels),
            storage_version=s.storage_version, aliases_path=str(s.aliases_path or ""), batch_size=s.batch_size,
            n_process=s.n_process, min_date=s.min_date.isoformat(), storage_root=s.storage_root or "",
            max_file_mb=s.max_file_mb,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            raw_dir=Path(self.raw_dir), db_path=Path(self.db_path), spacy_model=self.spacy_model,
            labels=tuple(x for x in self.labels.split(",") if x), storage_version=self.storage_version,
            aliases_path=Path(self.aliases_path) if self.aliases_path else None, batch_size=self.batch_size,
            n_process=self.n_process, min_date=dt.date.fromisoformat(self.min_date),
            storage_root=self.storage_root or None, max_file_mb=self.max_file_mb,
        )

    @contextlib.contextmanager
    def work_db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The pipeline's state (never the analysts' file): the working DuckDB file, or in distributed
        mode an in-memory database over the Parquet tables under the storage root."""
        with pipeline.state(self.settings) as con:
            yield con
