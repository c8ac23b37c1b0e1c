"""Peak memory of `newsdag materialize` on hostile inputs (issue #15): a benchmark, not a test.

    .venv/bin/python bench/memory.py                       # every scenario
    .venv/bin/python bench/memory.py --only big_below --below-mb 5

Scenarios (each a fresh raw dir and --db in a temporary directory):
  big_above    one 50 MB dated article (synthetic English sentences with names), over the size limit:
               quarantined as too_large without being read
  big_below    one dated article of --below-mb MB (default 5), under NEWSDAG_MAX_FILE_MB: cleaned,
               deduplicated and read by NER in chunks (ner.NER_CHUNK_CHARS)
  many_small   a raw dir of 20,000 small articles (made-up words; --similar: all from the same small
               vocabulary of real names, so every article is a near-duplicate candidate of every other)

Runs the real CLI in a child process and samples /proc every 50 ms: the peak RSS of any single process
of the tree and the peak of the tree's total; also getrusage(RUSAGE_CHILDREN).ru_maxrss (the largest
child, as the kernel counted it). The requirement: every process stays under 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWSDAG = Path(sys.executable).parent / "newsdag"  # the venv running this script
LIMIT_BYTES = int(1.5 * (1 << 30))

PEOPLE = ["Ashraf Ghani", "Zalmay Khalilzad", "Antony Blinken", "Wang Yi", "Imran Khan", "Angela Merkel",
          "Emmanuel Macron", "Narendra Modi", "Vladimir Putin", "Joe Biden"]
PLACES = ["Kabul", "Beijing", "Islamabad", "Berlin", "Paris", "New Delhi", "Moscow", "Washington", "Doha"]
ORGS = ["the United Nations", "NATO", "the European Union", "the World Bank", "the Taliban", "Reuters"]
VERBS = ["met", "spoke with", "criticised", "praised", "called", "visited"]


def sentences(rng: random.Random):
    while True:
        yield (f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} {rng.choice(PEOPLE)} in {rng.choice(PLACES)} on "
               f"{rng.choice(['Monday', 'Tuesday', 'Wednesday'])}, according to {rng.choice(ORGS)}.")


SYLLABLES = ["ka", "ri", "mo", "zan", "tel", "bu", "shi", "dor", "ve", "lin", "ga", "om", "pra", "nu", "sel", "tu"]


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(n))


def varied_sentences(rng: random.Random):
    """Sentences with made-up names and words: articles that share few shingles (no near-duplicates)."""
    while True:
        who = f"{_word(rng, 2).title()} {_word(rng, 3).title()}"
        yield (f"{who} {rng.choice(VERBS)} {_word(rng, 2).title()} {_word(rng, 2).title()} in "
               f"{_word(rng, 3).title()} " + " ".join(_word(rng, rng.randint(1, 3)) for _ in range(8)) + ".")


def write_article(path: Path, size: int, seed: int = 0, day: str = "2021-07-28", varied: bool = False) -> None:
    """A dated article of about `size` bytes: paragraphs of 5 sentences (from a small vocabulary of real
    names, or with `varied` from made-up words)."""
    rng = random.Random(seed)
    gen = varied_sentences(rng) if varied else sentences(rng)
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        head = f" date {day} Talks in {rng.choice(PLACES)}\n\n"
        f.write(head)
        written += len(head)
        while written < size:
            para = " ".join(next(gen) for _ in range(5)) + "\n\n"
            f.write(para)
            written += len(para)


def tree_rss(root_pid: int) -> tuple[int, int]:
    """(largest RSS of one process, total RSS) of root_pid and its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    todo, seen = [root_pid], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(children.get(pid, []))
    values = [rss.get(p, 0) for p in seen]
    return max(values, default=0), sum(values)


def run(raw: Path, db: Path, env: dict) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen([str(NEWSDAG), "materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_one = peak_tree = 0
    while proc.poll() is None:
        one, tree = tree_rss(proc.pid)
        peak_one, peak_tree = max(peak_one, one), max(peak_tree, tree)
        time.sleep(0.05)
    out, err = proc.communicate()
    return {"exit": proc.returncode, "seconds": time.monotonic() - started, "peak_process": peak_one,
            "peak_tree": peak_tree, "summary": out, "stderr": err.strip().splitlines()[-3:]}


def scenario_big(tmp: Path, mb: float, limit_mb: float | None) -> tuple[Path, dict]:
    raw = tmp / "raw"
    raw.mkdir()
    write_article(raw / "big.txt", int(mb * (1 << 20)))
    return raw, ({"NEWSDAG_MAX_FILE_MB": str(limit_mb)} if limit_mb else {})


def scenario_many(tmp: Path, n: int = 20_000, similar: bool = False) -> tuple[Path, dict]:
    raw = tmp / "raw"
    days = [f"2021-07-{d:02d}" for d in range(1, 29)]
    for i in range(n):
        sub = raw / f"{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        write_article(sub / f"{i:05d}.txt", 400, seed=i, day=days[i % len(days)], varied=not similar)
    return raw, {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["big_above", "big_below", "many_small"], action="append")
    ap.add_argument("--above-mb", type=float, default=50)
    ap.add_argument("--below-mb", type=float, default=5)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--similar", action="store_true",
                    help="many_small from the small vocabulary of real names: every article near every other "
                         "(stresses the duplicate search)")
    args = ap.parse_args()
    scenarios = {
        "big_above": lambda t: scenario_big(t, args.above_mb, None),
        "big_below": lambda t: scenario_big(t, args.below_mb, max(args.below_mb * 2, 20)),
        "many_small": lambda t: scenario_many(t, args.files, args.similar),
    }
    failed = False
    for name in args.only or list(scenarios):
        with tempfile.TemporaryDirectory(prefix=f"newsdag-mem-{name}-") as tmp:
            raw, env = scenarios[name](Path(tmp))
            r = run(raw, Path(tmp) / "out" / "news.duckdb", env)
        ok = r["exit"] == 0 and r["peak_process"] <= LIMIT_BYTES
        failed |= not ok
        print(f"{name:<11} exit {r['exit']}  {r['seconds']:7.1f}s  peak process {r['peak_process'] / 2**20:7.0f} MB  "
              f"peak tree {r['peak_tree'] / 2**20:7.0f} MB  {'ok' if ok else 'OVER 1.5 GB OR FAILED'}", flush=True)
        if r["exit"] != 0:
            print("   ", *r["stderr"], sep="\n    ")
        for line in r["summary"].splitlines():
            if any(k in line for k in ("accepted", "rejected", "too_large", "mentions")):
                print("   ", line.strip())
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"largest child process (getrusage RUSAGE_CHILDREN ru_maxrss): {maxrss_kb / 1024:.0f} MB")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
