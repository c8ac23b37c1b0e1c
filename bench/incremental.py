"""Benchmark: what a run costs when little or nothing changed (issue: incremental runs).

    .venv/bin/python bench/incremental.py                 # the first 1,500 articles of manifest.csv
    .venv/bin/python bench/incremental.py --articles 3000

Three `newsdag materialize` processes on Reuters articles from ../shared, timed from process start to
exit (imports included: that is what a scheduled or CLI run pays):
  1. a full build from an empty warehouse,
  2. a re-run with nothing new,
  3. a run after one new article (never seen before) dated on a day the corpus already has.
Writes a JSON report (default bench/results/incremental-latest.json).
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "incremental-latest.json")
    args = parser.parse_args()

    from newsdag.reuters import extract_reuters, read_manifest

    rows = read_manifest()
    corpus = rows[: args.articles]
    days = {r["date"] for r in corpus}
    late = next(r for r in rows[args.articles:] if r["date"] in days)  # a new article for an existing day
    env_note = {k: v for k, v in os.environ.items() if k.startswith("NEWSDAG_")}
    with tempfile.TemporaryDirectory(prefix="newsdag-incr-") as tmp:
        raw, db = Path(tmp) / "raw", Path(tmp) / "out" / "newsdag.duckdb"
        print(f"extracting the first {len(corpus)} Reuters articles ...", file=sys.stderr)
        extract_reuters(raw, files=[r["file"] for r in corpus])
        print("1/3 full build from an empty warehouse ...", file=sys.stderr)
        full = _materialize(raw, db)
        print("2/3 re-run with nothing new ...", file=sys.stderr)
        nothing_new = _materialize(raw, db)
        extract_reuters(raw, files=[late["file"]])
        print(f"3/3 run after one new article ({late['file']}, {late['date']}) ...", file=sys.stderr)
        one_new = _materialize(raw, db)

    report = {
        "articles": len(corpus), "cores": len(os.sched_getaffinity(0)), "env": env_note,
        "new_article": {"file": late["file"], "date": late["date"]},
        "seconds": {"full": round(full, 2), "nothing_new": round(nothing_new, 2), "one_new_article": round(one_new, 2)},
        "ratio_to_full": {"nothing_new": round(nothing_new / full, 3), "one_new_article": round(one_new / full, 3)},
    }
    report["targets_met"] = {f"{k}<={v}": report["ratio_to_full"][k] <= v for k, v in TARGETS.items()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nnewsdag incremental benchmark: {len(corpus)} Reuters articles, {report['cores']} cores "
          "(each run is a `newsdag materialize` process, imports included)")
    print(f"  {'full build (empty warehouse)':<34}{full:>7.1f} s")
    for key, label in (("nothing_new", "re-run, nothing new"), ("one_new_article", "one new article, existing day")):
        ratio = report["ratio_to_full"][key]
        print(f"  {label:<34}{report['seconds'][key]:>7.1f} s  {ratio:.2f}x full (target <= {TARGETS[key]})")
    print(f"  report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
