"""Asset checks: one step per chain step validates that step's tables, each check with its GX suite, and
records every result in the working database."""


import dagster as dg

from assets.chain import POOL
from checks.suites import CHECKS_BY_STEP, CheckDef
from newsdag import quality
from newsdag.resources import NewsdagResource


def _severity(defn: CheckDef) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if defn.blocking_error else dg.AssetCheckSeverity.WARN


def _key(defn: CheckDef) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(defn.asset), defn.name)


def build_checks(step: str, defns: list[CheckDef]) -> dg.AssetChecksDefinition:
    """The checks of the tables that chain step `step` writes, as one step. ERROR checks are blocking: a
    failure stops the assets downstream (and `warehouse_file` publishes only if the latest result of every
    ERROR check passed, day by day for per-day tables). WARN checks report and block nothing."""

    @dg.multi_asset_check(
        name=f"{step}_checks", can_subset=True, pool=POOL,
        description=f"Data-quality checks (Great Expectations) of the tables that {step} writes.",
        specs=[dg.AssetCheckSpec(d.name, asset=d.asset, description=d.description, blocking=d.blocking_error)
               for d in defns],
    )
    def _checks(context: dg.AssetCheckExecutionContext, newsdag: NewsdagResource):
        from checks import gx  # lazy: importing GX takes seconds

        s = newsdag.settings
        selected = [d for d in defns if _key(d) in context.selected_asset_check_keys]
        per_day = any(d.per_day for d in selected)
        days = context.op_execution_context.partition_keys if per_day else None
        partition = None if days is None else (days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}")
        frames, todo, results = {}, [], []
        # one session: in distributed mode each opening loads the state from Parquet
        with newsdag.work_db() as con:
            # every frame first, then validate: the first validation may wait for GX to finish importing
            for defn in selected:
                if defn.frame not in frames:  # checks of one table often validate the same frame
                    frame = defn.frame(con, days) if defn.per_day else defn.frame(con)
                    frames[defn.frame] = frame, quality.frame_fingerprint(frame)
                frame, fingerprint = frames[defn.frame]
                # the check's parameters: its date bounds move with the calendar, so include today
                digest = quality.input_digest(fingerprint, defn.name, s.min_date, quality.now().date())
                todo.append((defn, frame, digest, quality.previous_result(con, defn.name, defn.asset, digest)))
            for defn, frame, digest, previous in todo:
                if previous is None:
                    outcome = gx.run_suite(defn.name, s, frame)
                    result = {"passed": outcome.passed, "failing_rows": outcome.failing_rows,
                              "sample": outcome.sample, "details": outcome.expectations}
                else:  # the same rows were validated before: GX would give the same answer
                    result = {k: previous[k] for k in ("passed", "failing_rows", "sample", "details")}
                results.append((defn, len(frame), previous, {
                    "checked_at": quality.now(), "run_id": context.run.run_id, "check_name": defn.name,
                    "asset": defn.asset, "partition": partition if defn.per_day else None,
                    "severity": _severity(defn).value, "input_digest": digest, **result}))
            quality.record_results(con, [row for *_, row in results])
        for defn, rows_checked, previous, row in results:
            yield _check_result(defn, rows_checked, previous, row)

    return _checks


def _check_result(defn: CheckDef, rows_checked: int, previous: dict | None, row: dict) -> dg.AssetCheckResult:
    metadata = {
        "failing_rows": dg.MetadataValue.int(row["failing_rows"]),
        "rows_checked": dg.MetadataValue.int(rows_checked),
        "sample": dg.MetadataValue.json(row["sample"]),
        "expectations": dg.MetadataValue.json(row["details"]),
    }
    if previous is not None:
        metadata["unchanged_since_run"] = dg.MetadataValue.text(previous["run_id"])
    return dg.AssetCheckResult(asset_key=defn.asset, check_name=defn.name, passed=row["passed"],
                               severity=_severity(defn), description=defn.description, metadata=metadata)


CHECKS = [build_checks(step, defns) for step, defns in CHECKS_BY_STEP.items()]
