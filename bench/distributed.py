"""Benchmark: the chain on Celery workers against the in-process build, on Reuters articles from ../shared.

    .venv/bin/python bench/distributed.py                 # first 3,000 articles; part of `make bench`
    .venv/bin/python bench/distributed.py --articles 1000 --json /tmp/d.json

Three kinds of build of the same articles, each from an empty state: in-process (`newsdag materialize`,
NER on every core), and through 1 and through 2 one-core Celery workers (each pinned to its own core;
Redis broker, instance on PostgreSQL behind PgBouncer: bench/cluster.py starts and stops them). Workers are long-lived
processes, so each cluster is warmed up first with a build of the bundled sample (imports, spaCy, GX), not
timed. Reports each build's wall time and the NER throughput of the worker builds: the texts the chunk
steps read, divided by the time from the first chunk step's start to the last one's end (from the run's
step events in the instance).

Each kind is built --rounds times (default 3) and the median round is reported. The machine is shared and
its speed drifts by 20% over minutes, so the in-process builds are paired with the 2-worker ones: each
round builds in-process (the cluster idle) right before it builds through the workers, and the ratio
reported is the median of the rounds' ratios. Targets (issue 18): NER throughput with 2 workers >= 1.7x
that with 1; the build through 2 workers within 1.3x of the in-process build. Writes
bench/results/distributed-latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
SAMPLE_RAW_DIR = ROOT / "newsdag" / "sample"
CHUNK_STEP = "read_ner_chunk"


def build(raw: Path, db: Path, env: dict[str, str]) -> float:
    """Wall seconds of `newsdag materialize` over `raw` into `db` (a fresh state) with `env`."""
    started = time.perf_counter()
    out = subprocess.run([str(BIN / "newsdag"), "materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"],
                         env=env, cwd=db.parent, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit(f"bench: the build into {db} failed with exit code {out.returncode}")
    return seconds


@contextlib.contextmanager
def instance_at(home: Path):
    """The Dagster instance whose dagster.yaml is in `home` (the cluster's PostgreSQL), disposed after."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


def ner_steps(home: Path, skip: set[str] = frozenset()) -> dict:
    """From the instance at `home`: the NER chunk steps of every run but those in `skip`, their window and
    the texts they read."""
    starts, ends, texts, steps = [], [], 0, 0
    with instance_at(home) as instance:
        for run in instance.get_runs():
            if run.run_id in skip:
                continue
            for entry in instance.all_logs(run.run_id):
                if CHUNK_STEP not in (entry.step_key or ""):
                    continue
                event = entry.dagster_event
                if event is None:  # the step's own line: "ner chunk 19870302_0: 250 texts, 3120 entities"
                    if entry.user_message.startswith("ner chunk") and " texts, " in entry.user_message:
                        texts += int(entry.user_message.split(": ", 1)[1].split(" texts")[0])
                elif event.event_type_value == "STEP_START":
                    starts.append(entry.timestamp)
                    steps += 1
                elif event.event_type_value == "STEP_SUCCESS":
                    ends.append(entry.timestamp)
    window = max(ends) - min(starts) if starts and ends else None
    return {"chunk_steps": steps, "texts": texts, "ner_window_seconds": round(window, 2) if window else None,
            "texts_per_s": round(texts / window, 1) if window else None}


def run_ids(home: Path) -> set[str]:
    with instance_at(home) as instance:
        return {r.run_id for r in instance.get_runs()}


def through_workers(raw: Path, tmp: Path, workers: int, rounds: int, chunk_articles: int | None = None,
                    paired: Callable[[int], float] | None = None) -> dict:
    """`rounds` builds of `raw` from an empty state through `workers` one-core workers; the median round
    (by NER throughput) and every round's figures. With `paired`, each round first calls paired(round) (an
    in-process build, while the cluster is idle) and records its seconds beside the round's."""
    from bench.cluster import cluster

    where = tmp / f"workers{workers}"
    where.mkdir()
    results = []
    with cluster(where, workers=workers, concurrency=1, pin_cpus=True) as c:
        # workers are long-lived: warm them up (imports, spaCy, GX) with the bundled sample first
        (where / "warm").mkdir()
        build(SAMPLE_RAW_DIR, where / "warm" / "newsdag.duckdb",
              {**c.env, "NEWSDAG_STORAGE_ROOT": str(where / "warm" / "lake")})
        for i in range(rounds):
            in_process = {"in_process_seconds": round(paired(i), 2)} if paired else {}
            before = run_ids(c.home)
            (where / f"round{i}").mkdir()
            env = {**c.env, "NEWSDAG_STORAGE_ROOT": str(where / f"round{i}" / "lake"),
                   **({"NEWSDAG_NER_CHUNK_ARTICLES": str(chunk_articles)} if chunk_articles else {})}
            seconds = build(raw, where / f"round{i}" / "newsdag.duckdb", env)
            results.append({"seconds": round(seconds, 2), **in_process, **ner_steps(c.home, skip=before)})
    median = sorted(results, key=lambda r: r["texts_per_s"] or 0)[len(results) // 2]
    return {"workers": workers, **median, "rounds": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=int(os.environ.get("BENCH_ARTICLES", 3000)))
    parser.add_argument("--rounds", type=int, default=3, help="builds per configuration (the median is reported)")
    parser.add_argument("--chunk-articles", type=int, default=None,
                        help="NEWSDAG_NER_CHUNK_ARTICLES for the worker builds (default: the setting's default)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "distributed-latest.json")
    args = parser.parse_args()

    from bench.reuters import extract_reuters
    from newsdag.settings import Settings

    with tempfile.TemporaryDirectory(prefix="newsdag-distributed-") as tmp_name:
        tmp = Path(tmp_name)
        raw = tmp / "raw"
        print(f"extracting the first {args.articles} Reuters articles ...", file=sys.stderr)
        extract_reuters(raw, limit=args.articles)
        (tmp / "inproc").mkdir()
        local_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_") and k != "DAGSTER_HOME"}

        def in_process_build(i: int) -> float:
            (tmp / "inproc" / str(i)).mkdir()
            return build(raw, tmp / "inproc" / str(i) / "newsdag.duckdb", local_env)

        runs = []
        for workers in (1, 2):
            print(f"{args.rounds} builds through {workers} one-core Celery worker(s)"
                  + (", each after an in-process build ..." if workers == 2 else " ..."), file=sys.stderr)
            runs.append(through_workers(raw, tmp, workers, args.rounds, args.chunk_articles,
                                        paired=in_process_build if workers == 2 else None))

    one, two = runs
    speedup = two["texts_per_s"] / one["texts_per_s"] if one["texts_per_s"] and two["texts_per_s"] else None
    local = [r["in_process_seconds"] for r in two["rounds"]]
    in_process = sorted(local)[len(local) // 2]
    ratios = sorted(r["seconds"] / r["in_process_seconds"] for r in two["rounds"])
    versus_in_process = ratios[len(ratios) // 2]
    report = {
        "articles": args.articles, "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "rounds": args.rounds, "in_process_seconds": in_process, "in_process_rounds": local, "workers": runs,
        "ner_chunk_articles": args.chunk_articles or Settings().ner_chunk_articles,
        "ner_speedup_2_vs_1": round(speedup, 3) if speedup else None,
        "two_workers_vs_in_process": round(versus_in_process, 3),  # the median of the rounds' ratios
        "two_workers_vs_in_process_rounds": [round(r, 3) for r in ratios],
        "targets": {"ner_speedup_2_vs_1>=1.7": bool(speedup and speedup >= 1.7),
                    "two_workers_vs_in_process<=1.3": versus_in_process <= 1.3},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nnewsdag distributed benchmark: {args.articles} Reuters articles, {report['machine']['cores']} cores")
    print(f"  {'in-process build':<36}{in_process:>8.1f} s")
    for r in runs:
        label = f"build through {r['workers']} worker(s)"
        print(f"  {label:<36}{r['seconds']:>8.1f} s   NER: {r['texts']} texts in "
              f"{r['chunk_steps']} chunk steps, {r['ner_window_seconds']} s, {r['texts_per_s']} texts/s")
    print(f"  NER throughput 2 workers / 1 = {speedup or float('nan'):.2f} (target >= 1.7)")
    print(f"  build through 2 workers / in-process, median of the rounds = {versus_in_process:.2f} (target <= 1.3; "
          f"rounds {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"  report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
