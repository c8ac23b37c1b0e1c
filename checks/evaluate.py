"""Evaluate checks: build each check's frame, validate it with its GX suite (or reuse the recorded result
of the same rows), record every result in `data_quality_results`, and turn it into Dagster's result.

Used by the check steps (checks/quality_checks.py) and by the publish step, which evaluates
`tables_consistent` itself right before it publishes (a check that ran earlier could be out of date)."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import duckdb
import pandas as pd

from checks.suites import CheckDef
from newsdag import quality
from newsdag.settings import Settings


def severity(defn: CheckDef) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if defn.blocking_error else dg.AssetCheckSeverity.WARN


def key(defn: CheckDef) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(defn.asset), defn.name)


def spec(defn: CheckDef) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(defn.name, asset=defn.asset, description=defn.description, blocking=defn.blocking_error)


@dataclass
class Evaluated:
    defn: CheckDef
    frame: pd.DataFrame
    previous: dict | None      # the recorded result reused, when the rows were validated before
    row: dict                  # what was recorded in data_quality_results


@dataclass
class Evaluation:
    checks: list[Evaluated] = field(default_factory=list)

    def results(self):
        """Dagster's AssetCheckResult of each check."""
        for e in self.checks:
            metadata = {
                "failing_rows": dg.MetadataValue.int(e.row["failing_rows"]),
                "rows_checked": dg.MetadataValue.int(len(e.frame)),
                "sample": dg.MetadataValue.json(e.row["sample"]),
                "expectations": dg.MetadataValue.json(e.row["details"]),
            }
            if e.previous is not None:
                metadata["unchanged_since_run"] = dg.MetadataValue.text(e.previous["run_id"])
            yield dg.AssetCheckResult(asset_key=e.defn.asset, check_name=e.defn.name, passed=e.row["passed"],
                                      severity=severity(e.defn), description=e.defn.description, metadata=metadata)

    def days_to_rebuild(self) -> list[str]:
        """Days that failing consistency rows name (a day, or a 'day actor' key; mentions name articles)."""
        days = set()
        for e in self.checks:
            if not e.row["passed"] and "kind" in e.frame:
                bad = e.frame[~e.frame["consistent"]]
                days |= {k[:10] for kind, k in zip(bad["kind"], bad["key"]) if not kind.startswith("mention_")}
        return sorted(days)


def evaluate_checks(defns: list[CheckDef], con: duckdb.DuckDBPyConnection, s: Settings, run_id: str,
                    days: list[str] | None = None) -> Evaluation:
    """Validate and record `defns` (per-day ones on `days`); every frame is built before the first
    validation, which may wait for GX to finish importing."""
    from checks import gx  # lazy: importing GX takes seconds

    partition = None if days is None else (days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}")
    frames, todo = {}, []
    for defn in defns:
        if defn.frame not in frames:  # checks of one table often validate the same frame
            frame = defn.frame(con, days) if defn.per_day else defn.frame(con)
            frames[defn.frame] = frame, quality.frame_fingerprint(frame)
        frame, fingerprint = frames[defn.frame]
        # the check's parameters: its date bounds move with the calendar, so include today
        digest = quality.input_digest(fingerprint, defn.name, s.min_date, s.spacy_model, quality.now().date())
        todo.append((defn, frame, digest, quality.previous_result(con, defn.name, defn.asset, digest)))
    out = Evaluation()
    for defn, frame, digest, previous in todo:
        if previous is None:
            outcome = gx.run_suite(defn.name, s, frame)
            result = {"passed": outcome.passed, "failing_rows": outcome.failing_rows,
                      "sample": outcome.sample, "details": outcome.expectations}
        else:  # the same rows were validated before: GX would give the same answer
            result = {k: previous[k] for k in ("passed", "failing_rows", "sample", "details")}
        out.checks.append(Evaluated(defn, frame, previous, {
            "checked_at": quality.now(), "run_id": run_id, "check_name": defn.name, "asset": defn.asset,
            "partition": partition if defn.per_day else None, "severity": severity(defn).value,
            "input_digest": digest, **result}))
    quality.record_results(con, [e.row for e in out.checks])
    return out
