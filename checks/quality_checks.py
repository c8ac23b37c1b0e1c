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
    but only ERROR severity stops downstream assets; WARN ones report and let the chain go on."""

    @dg.asset_check(asset=defn.asset, name=defn.name, description=defn.description, blocking=True, pool=POOL)
    def _check(context: dg.AssetCheckExecutionContext, newsdag: NewsdagResource) -> dg.AssetCheckResult:
        from checks import gx  # lazy: importing GX takes seconds

        with newsdag.work_db() as con:
            frame = defn.frame(con)
        outcome = gx.validate(frame, defn.name, defn.expectations(gx.gx_module(), newsdag.settings), defn.id_column)
        severity = _severity(defn)
        with newsdag.work_db() as con:
            quality.record_results(con, [{
                "checked_at": quality.now(), "run_id": context.run.run_id, "check_name": defn.name,
                "asset": defn.asset, "partition": None, "passed": outcome.passed, "severity": severity.value,
                "failing_rows": outcome.failing_rows, "sample": outcome.sample,
            }])
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=severity,
            description=defn.description,
            metadata={
                "failing_rows": dg.MetadataValue.int(outcome.failing_rows),
                "rows_checked": dg.MetadataValue.int(outcome.rows),
                "sample": dg.MetadataValue.json(outcome.sample),
                "expectations": dg.MetadataValue.json(outcome.expectations),
            },
        )

    return _check


CHECKS = [build_check(defn) for defn in ALL_CHECKS]
