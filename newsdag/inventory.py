"""Which publication days a change in the raw directory touches, compared with the analysts' file.

Used by the sensor and the schedule to request only the days that need rebuilding: a new or edited
file touches the day it is dated (read from its header or page text), a changed or vanished file
also touches the day it used to be on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from newsdag import cleaning, pipeline, reading, warehouse
from newsdag.settings import Settings


@dataclass(frozen=True)
class Changes:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)   # sorted

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.vanished)


def _published_files(db_path: Path) -> dict[str, tuple[str, dt.date | None]]:
    """source_path -> (content_hash, day or None) of every file the analysts' file accounts for."""
    if not Path(db_path).is_file():
        return {}
    with warehouse.session(db_path, read_only=True) as con:
        rows = con.execute("SELECT source_path, content_hash, published_date FROM articles UNION ALL "
                           "SELECT source_path, content_hash, NULL FROM rejected_files").fetchall()
    return {p: (h, d) for p, h, d in rows}


def changes_since_publish(settings: Settings) -> Changes:
    """New, changed and vanished raw files relative to the published warehouse, and the days they touch."""
    published = _published_files(settings.db_path)
    rules = pipeline.ParseRules(frozenset(), *pipeline.date_bounds(settings))  # the day is all we need
    seen: set[str] = set()
    new, changed, days = [], [], set()
    for raw in reading.iter_raw_files(settings.raw_dir):
        seen.add(raw.source_path)
        before = published.get(raw.source_path)
        if before is not None and before[0] == raw.content_hash:
            continue
        (changed if before is not None else new).append(raw.source_path)
        if before is not None and before[1] is not None:
            days.add(before[1])
        if raw.text is not None:
            item = pipeline.RawInput(raw.text, raw.source_format, raw.url, raw.fetched_date)
            parsed = pipeline.parse_input(item, rules).result
            if isinstance(parsed, cleaning.Parsed):
                days.add(parsed.published_date)
    vanished = sorted(set(published) - seen)
    days.update(published[p][1] for p in vanished if published[p][1] is not None)
    return Changes(new, changed, vanished, sorted(days))
