"""The Dagster resource that hands the core its settings and the working database.

Its fields are not declared here: they are the per-run fields of `newsdag.settings.Settings` (one
declaration of the settings), as plain config values (`Settings.config_fields`), so the UI's launchpad
shows every setting and a run's config travels to Celery workers as it is.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import dagster as dg
import duckdb
import pydantic

from newsdag import pipeline
from newsdag.settings import Settings


class _NewsdagResourceBase(dg.ConfigurableResource):
    """Where the raw files are, where the warehouse goes, and which spaCy model reads the news."""

    @classmethod
    def from_settings(cls, s: Settings) -> "NewsdagResource":
        return cls(**s.to_config())

    @property
    def settings(self) -> Settings:
        return Settings.from_config({name: getattr(self, name) for name in type(self).model_fields})

    @contextlib.contextmanager
    def work_db(self, days: Sequence[str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """The pipeline's state (never the analysts' file): the working DuckDB file, or in distributed
        mode an in-memory database over the Parquet tables under the storage root (for a step of some
        `days`, only the per-day tables around them)."""
        with pipeline.state(self.settings, days) as con:
            yield con


NewsdagResource = pydantic.create_model(
    "NewsdagResource", __base__=_NewsdagResourceBase, __module__=__name__,
    **{name: (kind, default) for name, kind, default in Settings.config_fields()},
)
NewsdagResource.__doc__ = _NewsdagResourceBase.__doc__
