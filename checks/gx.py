"""Run an expectation suite over a DataFrame with Great Expectations 1.x (ephemeral context, pandas source)."""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass, field

import pandas as pd

SAMPLE_SIZE = 10


@dataclass
class SuiteOutcome:
    passed: bool
    failing_rows: int
    rows: int
    sample: list = field(default_factory=list)
    expectations: list = field(default_factory=list)   # one dict per expectation


_lock = threading.Lock()
_state: dict = {}


def _context():
    """(gx module, ephemeral context), created once per process; safe to call from several threads."""
    with _lock:
        if not _state:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _state.update(gx=gx, context=context)
        return _state["gx"], _state["context"]


def gx_module():
    """The great_expectations module, imported on first use."""
    return _context()[0]


_counter = itertools.count()


def validate(frame: pd.DataFrame, suite_name: str, expectations: list, id_column: str) -> SuiteOutcome:
    """Validate `frame` against the expectations; failing rows are identified by `id_column`."""
    gx, context = _context()
    n = next(_counter)
    source = context.data_sources.add_pandas(f"{suite_name}_{n}")
    asset = source.add_dataframe_asset(name=suite_name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=f"{suite_name}_{n}")
    for expectation in expectations:
        suite.add_expectation(expectation)
    result = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [id_column]}
    )
    failing, sample, details = 0, [], []
    for r in result.results:
        info = r.result or {}
        count = int(info.get("unexpected_count") or 0)
        if not r.success and count == 0 and r.exception_info and r.exception_info.get("raised_exception"):
            count = len(frame)  # the expectation could not run at all: count every row as failing
        failing += count
        ids = [row.get(id_column) if isinstance(row, dict) else row for row in (info.get("unexpected_index_list") or [])]
        for value in ids:
            if len(sample) < SAMPLE_SIZE and value not in sample:
                sample.append(value)
        details.append({"expectation": r.expectation_config.type, "success": bool(r.success), "unexpected_count": count,
                        "unexpected_values": [str(v) for v in (info.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]})
    context.data_sources.delete(source.name)
    return SuiteOutcome(bool(result.success), failing, len(frame), sample, details)





def run_suite(check_name: str, settings, frame: pd.DataFrame) -> SuiteOutcome:
    """Validate `frame` with the suite of check `check_name`."""
    from checks.suites import CHECKS_BY_NAME

    defn = CHECKS_BY_NAME[check_name]
    return validate(frame, defn.name, defn.expectations(gx_module(), settings), defn.id_column)
