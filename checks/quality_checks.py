"""Asset checks: one step per chain step validates that step's tables, each check with its GX suite, and
records every result in the working database."""

import dagster as dg

from assets.pools import POOL
from checks import evaluate
from checks.suites import CHECKS_BY_STEP, CheckDef
from assets.resources import NewsdagResource

# The publish step evaluates its own check (tables_consistent) right before it publishes.
PUBLISH_STEP = "warehouse_file"


def build_checks(step: str, defns: list[CheckDef]) -> dg.AssetChecksDefinition:
    """The checks of the tables that chain step `step` writes, as one step. ERROR checks are blocking: a
    failure stops the assets downstream (and `warehouse_file` publishes only if the latest result of every
    ERROR check passed, day by day for per-day tables). WARN checks report and block nothing."""

    @dg.multi_asset_check(
        name=f"{step}_checks", can_subset=True, pool=POOL,
        description=f"Data-quality checks (Great Expectations) of the tables that {step} writes.",
        specs=[evaluate.spec(d) for d in defns],
    )
    def _checks(context: dg.AssetCheckExecutionContext, newsdag: NewsdagResource):
        selected = [d for d in defns if evaluate.key(d) in context.selected_asset_check_keys]
        days = context.op_execution_context.partition_keys if any(d.per_day for d in selected) else None
        # one session: in distributed mode each opening loads the state from Parquet
        with newsdag.work_db(days) as con:
            evaluation = evaluate.evaluate_checks(selected, con, newsdag.settings, context.run.run_id, days)
        yield from evaluation.results()

    return _checks


CHECKS = [build_checks(step, defns) for step, defns in CHECKS_BY_STEP.items() if step != PUBLISH_STEP]
