"""Benchmark: what a run costs when little or nothing changed (issue: incremental runs).

    .venv/bin/python bench/incremental.py                 # the first 1,500 articles of manifest.csv
    .venv/bin/python bench/incremental.py --articles 3000 --rounds 5

Three `newsdag materialize` processes on Reuters articles from ../shared, timed from process start to
exit (imports included: that is what a scheduled or CLI run pays):
  1. a full build from an empty warehouse,
  2. a re-run with nothing new,
  3. a run after one new article (never seen before) dated on a day the corpus already has.
Each round starts from an empty folder; the report gives every round and the medians (a shared 2-core
machine's timings vary by ±30 % from one minute to the next). Writes a JSON report (default
bench/results/incremental-latest.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"nothing_new": 0.25, "one_new_article": 0.35}


def _materialize(raw: Path, db: Path) -> float:
    cli = Path(sys.executable).parent / "newsdag"
    started = time.perf_counter()
    out = subprocess.run([str(cli), "materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"],
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit(f"bench: newsdag materialize failed with exit code {out.returncode}")
    return seconds


def _round(corpus: list[dict], late: dict) -> dict[str, float]:
    """One round in a fresh folder: full build, re-run with nothing new, run after one new article."""
    from bench.reuters import extract_reuters

    with tempfile.TemporaryDirectory(prefix="newsdag-incr-") as tmp:
        raw, db = Path(tmp) / "raw", Path(tmp) / "out" / "newsdag.duckdb"
        extract_reuters(raw, files=[r["file"] for r in corpus])
        print("  full build from an empty warehouse ...", file=sys.stderr)
        full = _materialize(raw, db)
        print("  re-run with nothing new ...", file=sys.stderr)
        nothing_new = _materialize(raw, db)
        extract_reuters(raw, files=[late["file"]])
        print(f"  run after one new article ({late['file']}, {late['date']}) ...", file=sys.stderr)
        one_new = _materialize(raw, db)
    return {"full": full, "nothing_new": nothing_new, "one_new_article": one_new}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3,
                        help="independent rounds; the report gives each and their medians (default 3)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "incremental-latest.json")
    args = parser.parse_args()

    from bench.reuters import read_manifest

    rows = read_manifest()
    corpus = rows[: args.articles]
    days = {r["date"] for r in corpus}
    late = next(r for r in rows[args.articles:] if r["date"] in days)  # a new article for an existing day
    env_note = {k: v for k, v in os.environ.items() if k.startswith("NEWSDAG_")}
    rounds = []
    for i in range(args.rounds):
        print(f"round {i + 1}/{args.rounds} on the first {len(corpus)} Reuters articles:", file=sys.stderr)
        rounds.append(_round(corpus, late))

    seconds = {k: round(statistics.median(r[k] for r in rounds), 2) for k in rounds[0]}
    ratios = {k: round(statistics.median(r[k] / r["full"] for r in rounds), 3) for k in TARGETS}
    report = {
        "articles": len(corpus), "cores": len(os.sched_getaffinity(0)), "env": env_note,
        "new_article": {"file": late["file"], "date": late["date"]},
        "rounds": [{k: round(v, 2) for k, v in r.items()} for r in rounds],
        "seconds": seconds,            # medians over the rounds
        "ratio_to_full": ratios,       # medians of each round's ratio
        "targets_met": {f"{k}<={v}": ratios[k] <= v for k, v in TARGETS.items()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nnewsdag incremental benchmark: {len(corpus)} Reuters articles, {report['cores']} cores, "
          f"median of {len(rounds)} rounds (each run is a `newsdag materialize` process, imports included)")
    print(f"  {'full build (empty warehouse)':<34}{seconds['full']:>7.1f} s")
    for key, label in (("nothing_new", "re-run, nothing new"), ("one_new_article", "one new article, existing day")):
        spread = ", ".join(f"{r[key] / r['full']:.2f}" for r in rounds)
        print(f"  {label:<34}{seconds[key]:>7.1f} s  {ratios[key]:.2f}x full (target <= {TARGETS[key]}; rounds: {spread})")
    print(f"  report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
