"""Compare the published tables of two versions of newsdag on the same Reuters articles (a refactor must not
change them).

    .venv/bin/python bench/compare_builds.py --before b92b41f            # that commit vs the working tree
    .venv/bin/python bench/compare_builds.py --before A --after B --articles 3000

Each version builds the first N articles of ../shared/corpus/reuters21578.tar.gz from an empty warehouse
(`python -m newsdag.cli materialize`, in a child process whose PYTHONPATH is that version's checkout: a
`git worktree` of the commit, removed at the end; the working tree itself for `--after` left out). Both
use this checkout's .venv, so the dependencies are the same. Then every published table is compared row for
row (all columns, sorted): identical, or how many rows differ, with a few examples. `data_quality_results`
is compared on what was checked and found (check, asset, partition, passed, failing rows), not on when.

`--columns TABLE=COL,COL` compares a table on some columns only, e.g. entity_mentions on the NER spans
(article_id, start_char, end_char, entity_text, entity_label) when one version resolves actors differently
on purpose. Exit status 0 when every compared table is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUALITY_COLUMNS = ["check_name", "asset", "partition", "passed", "failing_rows"]


def build(checkout: Path, raw: Path, db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, "-m", "newsdag.cli", "materialize", "--raw-dir", str(raw), "--db", str(db),
                    "--quiet"], cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)


def rows(db: Path, table: str, columns: list[str] | None) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        have = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                          "ORDER BY column_index", [table]).fetchall()]
        cols = [c for c in (columns or have) if c in have]
        rel = con.table(table).select(*cols)
        return cols, sorted(rel.fetchall(), key=lambda r: tuple("" if v is None else str(v) for v in r))


def tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]


def compare(before: Path, after: Path, only: dict[str, list[str]]) -> bool:
    same = True
    names = sorted(set(tables(before)) | set(tables(after)))
    for table in names:
        columns = only.get(table) or (QUALITY_COLUMNS if table == "data_quality_results" else None)
        cols_b, a = rows(before, table, columns)
        cols_a, b = rows(after, table, columns)
        if cols_b != cols_a:
            print(f"  {table:22} columns differ: {cols_b} -> {cols_a}")
            common = [c for c in cols_b if c in cols_a]
            _, a = rows(before, table, common)
            _, b = rows(after, table, common)
            same = False
        if a == b:
            print(f"  {table:22} identical ({len(a)} rows{'; columns ' + ', '.join(columns) if columns else ''})")
            continue
        same = False
        gone, new = sorted(set(a) - set(b), key=str), sorted(set(b) - set(a), key=str)
        print(f"  {table:22} DIFFERS: {len(a)} -> {len(b)} rows, {len(gone)} only before, {len(new)} only after")
        for r in gone[:3]:
            print(f"      before: {r}")
        for r in new[:3]:
            print(f"      after:  {r}")
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="a commit (or another checkout's path)")
    ap.add_argument("--after", default=None, help="a commit (default: this working tree)")
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--columns", action="append", default=[], metavar="TABLE=COL,COL")
    args = ap.parse_args()
    only = {t: cols.split(",") for t, cols in (spec.split("=", 1) for spec in args.columns)}

    from bench.reuters import extract_reuters

    with tempfile.TemporaryDirectory(prefix="newsdag-compare-") as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        extract_reuters(raw, limit=args.articles)
        checkouts: dict[str, Path] = {}
        worktrees = []
        for side, rev in (("before", args.before), ("after", args.after)):
            if rev is None:
                checkouts[side] = ROOT
            elif Path(rev).is_dir():
                checkouts[side] = Path(rev).resolve()
            else:
                path = tmp / f"worktree-{side}"
                subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), rev], cwd=ROOT, check=True)
                worktrees.append(path)
                checkouts[side] = path
        try:
            dbs = {}
            for side, checkout in checkouts.items():
                print(f"building {args.articles} articles with {side} ({checkout}) ...", file=sys.stderr)
                dbs[side] = tmp / side / "news.duckdb"
                build(checkout, raw, dbs[side])
            print(f"published tables, {args.before} vs {args.after or 'working tree'} ({args.articles} articles):")
            same = compare(dbs["before"], dbs["after"], only)
        finally:
            for path in worktrees:
                subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)
    print("identical" if same else "NOT identical")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
