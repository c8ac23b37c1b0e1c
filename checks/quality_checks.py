"""Asset checks: each validates one frame with its GX suite and records the result in the warehouse."""


import dagster as dg

from assets.chain import POOL
from checks.suites import ALL_CHECKS, CheckDef
from newsdag import quality
from newsdag.resources import NewsdagResource


def _severity(defn: CheckDef) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if defn.blocking_error else dg.AssetCheckSeverity.WARN


def build_check(defn: CheckDef) -> dg.AssetChecksDefinition:
    """An asset check that runs `defn`'s expectations. All are blocking so they finish before publishing,
    but only ERROR severity stops downstream assets; WARN ones report and let the chain go on. (And
    `warehouse_file` publishes only if the latest result of every ERROR check passed.)"""

    @dg.asset_check(asset=defn.asset, name=defn.name, description=defn.description, blocking=True, pool=POOL)
    def _check(context: dg.AssetCheckExecutionContext, newsdag: NewsdagResource) -> dg.AssetCheckResult:
        from checks import gx  # lazy: importing GX takes seconds

        s = newsdag.settings
        days = context.op_execution_context.partition_keys if defn.per_day else None
        partition = None if days is None else (days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}")
        severity = _severity(defn)
        # one session: in distributed mode each opening loads the state from Parquet
        with newsdag.work_db() as con:
            frame = defn.frame(con, days) if defn.per_day else defn.frame(con)
            # the check's parameters: its date bounds move with the calendar, so include today
            digest = quality.input_digest(frame, defn.name, s.min_date, quality.now().date())
            previous = quality.previous_result(con, defn.name, defn.asset, digest)
            if previous is None:
                outcome = gx.run_suite(defn.name, s, frame)
                result = {"passed": outcome.passed, "failing_rows": outcome.failing_rows, "sample": outcome.sample,
                          "details": outcome.expectations}
            else:  # the same rows were validated before: GX would give the same answer
                result = {k: previous[k] for k in ("passed", "failing_rows", "sample", "details")}
            quality.record_results(con, [{
                "checked_at": quality.now(), "run_id": context.run.run_id, "check_name": defn.name,
                "asset": defn.asset, "partition": partition, "severity": severity.value, "input_digest": digest, **result,
            }])
        metadata = {
            "failing_rows": dg.MetadataValue.int(result["failing_rows"]),
            "rows_checked": dg.MetadataValue.int(len(frame)),
            "sample": dg.MetadataValue.json(result["sample"]),
            "expectations": dg.MetadataValue.json(result["details"]),
        }
        if previous is not None:
            metadata["unchanged_since_run"] = dg.MetadataValue.text(previous["run_id"])
        return dg.AssetCheckResult(passed=result["passed"], severity=severity, description=defn.description,
                                   metadata=metadata)

    return _check


CHECKS = [build_check(defn) for defn in ALL_CHECKS]
