"""Publication days as partitions: derived from the data, kept in date order."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import dagster as dg

PUBLICATION_DAY = "publication_day"

# Days come from the articles (1987 and 2021 alike), not from a calendar: a corpus that spans
# decades has a partition per day that has news, not one per calendar day in between.
publication_day = dg.DynamicPartitionsDefinition(name=PUBLICATION_DAY)


def day_key(day: dt.date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def register_days(instance: dg.DagsterInstance, days: Iterable[dt.date | str]) -> list[str]:
    """Make every day a partition, keeping the partitions sorted by date (ranges in the UI and in
    backfills follow this order). Returns the keys that were added."""
    existing = list(instance.get_dynamic_partitions(PUBLICATION_DAY))
    wanted = sorted(set(existing) | {day_key(d) for d in days})
    added = [k for k in wanted if k not in set(existing)]
    if not added:
        return []
    if existing and added[0] < existing[-1]:
        # a late day sorts before existing ones: re-add every key in order (materialisation history
        # is kept by key, so nothing is lost)
        for key in existing:
            instance.delete_dynamic_partition(PUBLICATION_DAY, key)
        instance.add_dynamic_partitions(PUBLICATION_DAY, wanted)
    else:
        instance.add_dynamic_partitions(PUBLICATION_DAY, added)
    return added


def contiguous_ranges(all_keys: list[str], wanted: Iterable[dt.date | str]) -> list[tuple[str, str]]:
    """The wanted keys as (first, last) ranges of consecutive partitions: one run per range rebuilds
    exactly the wanted days."""
    wanted_keys = {day_key(d) for d in wanted}
    ranges: list[tuple[str, str]] = []
    start = prev = None
    for key in all_keys:
        if key in wanted_keys:
            start = start or key
            prev = key
        elif start is not None:
            ranges.append((start, prev))
            start = prev = None
    if start is not None:
        ranges.append((start, prev))
    return ranges


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run materialise the partitions first..last."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
