"""Benchmark: runs as the Dagster UI, the schedule and the sensor launch them (the job, not `newsdag materialize`).

    .venv/bin/python bench/launched_runs.py                  # the first 3,000 articles of manifest.csv
    .venv/bin/python bench/launched_runs.py --articles 1500

On Reuters articles from ../shared, from an empty warehouse: the ingest run, then one run of every day (a
backfill), each in a fresh process that has loaded the code location, as a launched run has. Both are
measured twice: as the code runs them (the ingest and entities steps fork the GX validator, so the check
steps find GX imported), and with that prewarm switched off (the checks import GX in the run's process).
Prints step times and writes a JSON report (default bench/results/launched-latest.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_child(raw: Path, db: Path, which: str, prewarm: bool) -> dict:
    """One launched run in this process: `which` is "ingest" or "days" (every known day, as one run)."""
    import dagster as dg

    import assets.chain as chain
    from assets.partitions import range_tags, register_days
    from newsdag import pipeline
    from assets.chain import INGEST_KEYS, PER_DAY_KEYS
    from newsdag.definitions import build_defs
    from newsdag.settings import Settings

    if not prewarm:
        chain._prewarm_checks = lambda context: None
    s = Settings(raw_dir=raw, db_path=db)
    job = build_defs(s).resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    keys, tags = INGEST_KEYS, None
    if which == "days":
        with pipeline.state(s) as con:
            days = pipeline.known_days(con)
        register_days(instance, days)
        keys, tags = PER_DAY_KEYS, range_tags(days[0].isoformat(), days[-1].isoformat())
    started = time.time()
    result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(k) for k in keys], tags=tags,
                                    raise_on_error=False,
                                    run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    seconds = time.time() - started
    if not result.success:
        raise SystemExit(f"bench: the {which} run failed")
    steps, starts = {}, {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            steps[event.step_key] = round(entry.timestamp - starts[event.step_key], 3)
    return {"seconds": round(seconds, 3), "steps": steps}


def _launch(raw: Path, db: Path, which: str, prewarm: bool) -> dict:
    args = ["--child", which, "--raw-dir", str(raw), "--db", str(db)] + ([] if prewarm else ["--no-prewarm"])
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit(f"bench: the {which} run failed with exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "launched-latest.json")
    parser.add_argument("--child", choices=["ingest", "days"], help=argparse.SUPPRESS)
    parser.add_argument("--raw-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-prewarm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.raw_dir, args.db, args.child, not args.no_prewarm)))
        return 0

    from bench.reuters import extract_reuters

    report = {"articles": args.articles}
    with tempfile.TemporaryDirectory(prefix="newsdag-launched-") as tmp:
        raw = Path(tmp) / "raw"
        print(f"extracting the first {args.articles} Reuters articles ...", file=sys.stderr)
        extract_reuters(raw, limit=args.articles)
        for prewarm in (True, False):
            label = "prewarmed" if prewarm else "without_prewarm"
            db = Path(tmp) / label / "newsdag.duckdb"
            print(f"{label}: the ingest run, then the days run ...", file=sys.stderr)
            report[label] = {which: _launch(raw, db, which, prewarm) for which in ("ingest", "days")}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nruns launched as the UI launches them: {args.articles} Reuters articles")
    print(f"  {'':<30}{'GX prewarmed':>14}{'GX imported in the check':>28}")
    for which, check_step in (("ingest", "ingest_checks"), ("days", "entity_mentions_checks")):
        on, off = report["prewarmed"][which], report["without_prewarm"][which]
        print(f"  {which + ' run':<30}{on['seconds']:>12.2f} s{off['seconds']:>26.2f} s")
        print(f"    {check_step:<28}{on['steps'].get(check_step, 0):>12.2f} s{off['steps'].get(check_step, 0):>26.2f} s")
    print(f"  report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
