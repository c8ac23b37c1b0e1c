"""The analysts' file: documented schema, views, the README cookbook, DuckDB 1.x clients, open readers."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from newsdag.cli import materialize
from newsdag.warehouse import TABLES, VIEWS
from tests.conftest import build_sample

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The DuckDB 1.4 client, in a venv of its own that `make duckdb14` builds (a prerequisite of `make test`).
DUCKDB14_PYTHON = Path(os.environ.get("NEWSDAG_DUCKDB14_PYTHON") or ROOT / ".venv" / "duckdb14" / "bin" / "python")
BAD_HEADER = "bad_header.txt"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sample plus one quarantined file, so that every cookbook question has an answer.
    test_an_analyst_holding_the_file_open_does_not_block_a_run, after the tests that read it, adds an article."""
    return build_sample(tmp_path_factory.mktemp("wh"), {BAD_HEADER: " date 2021-02-30 Not a real day."})


def cookbook_queries() -> list[str]:
    text = README.read_text()
    block = text[text.index("<!-- cookbook:start -->"):text.index("<!-- cookbook:end -->")]
    statements = []
    for sql in re.findall(r"```sql\n(.*?)```", block, flags=re.S):
        statements += [part.strip() for part in sql.split(";") if part.strip()]
    return statements


# ------------------------------------------------------------------------------------------------
# The cookbook's answers on the built sample, each against what the base tables say, computed here in
# Python (not with the views or the SQL under test).

def _records(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


class Base:
    """The published file's base tables, read once."""

    def __init__(self, con):
        self.articles = _records(con, "SELECT * FROM articles")
        self.rejected = _records(con, "SELECT * FROM rejected_files")
        self.duplicates = _records(con, "SELECT * FROM article_duplicates")
        self.mentions = _records(con, "SELECT * FROM entity_mentions")
        self.quality = _records(con, "SELECT * FROM data_quality_results")
        self.columns = _records(con, "SELECT table_name, column_name, data_type, comment, column_index "
                                     "FROM duckdb_columns() WHERE schema_name = 'main'")
        self.article = {a["article_id"]: a for a in self.articles}

    def daily(self) -> dict[tuple, dict]:
        """(day, actor, actor_type) -> mentions and distinct articles, from entity_mentions."""
        out: dict[tuple, dict] = defaultdict(lambda: {"mentions": 0, "ids": set()})
        for m in self.mentions:
            cell = out[(m["published_date"], m["actor"], m["actor_type"])]
            cell["mentions"] += 1
            cell["ids"].add(m["article_id"])
        return {k: {"mentions": v["mentions"], "articles": len(v["ids"])} for k, v in out.items()}


def _is_top(chosen: dict, others: dict, n: int) -> bool:
    """`chosen` (key -> score) is a top n of chosen | others: n of them (or all) and none of the others higher."""
    return len(chosen) == min(n, len(chosen) + len(others)) and \
        all(score <= min(chosen.values()) for score in others.values())


def _descending(values: list) -> bool:
    return all(a >= b for a, b in zip(values, values[1:]))


def check_top_actors_of_a_day(rows, base: Base):
    day = dt.date(2021, 7, 28)
    expected = sorted(((a, t, v["mentions"], v["articles"]) for (d, a, t), v in base.daily().items() if d == day),
                      key=lambda r: (-r[2], r[0]))[:10]
    assert len(expected) == 10  # the sample's busiest day has more than 10 actors
    assert [r[0] for r in rows] == list(range(1, 11))
    assert [r[1:] for r in rows] == expected
    assert "Taliban" in {r[1] for r in rows[:3]}


def check_daily_series(rows, base: Base):
    days = [m["published_date"] for m in base.mentions]
    first, last = min(days), max(days)
    span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    types = sorted({m["actor_type"] for m in base.mentions if m["actor"] == "Taliban"})
    daily = base.daily()
    expected = [(d, daily.get((d, "Taliban", t), {}).get("mentions", 0), daily.get((d, "Taliban", t), {}).get("articles", 0))
                for d in span for t in types]
    assert (first, last) == (dt.date(2021, 7, 7), dt.date(2021, 8, 10)) and len(span) == 35
    assert sorted(rows) == sorted(expected)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert sum(r[1] for r in rows) == sum(m["actor"] == "Taliban" for m in base.mentions) > 0
    assert sum(r[1] == 0 for r in rows) >= 30  # the gaps are there, as zeros


def check_weekly_of_top_actors(rows, base: Base):
    totals = Counter(m["actor"] for m in base.mentions)
    chosen = {r[1] for r in rows}
    assert _is_top({a: totals[a] for a in chosen}, {a: c for a, c in totals.items() if a not in chosen}, 5)
    weekly: dict[tuple, dict] = defaultdict(lambda: {"mentions": 0, "ids": set()})
    for m in base.mentions:
        if m["actor"] in chosen:  # ISO weeks start on Monday
            cell = weekly[(m["published_date"] - dt.timedelta(days=m["published_date"].weekday()), m["actor"], m["actor_type"])]
            cell["mentions"] += 1
            cell["ids"].add(m["article_id"])
    by_week_actor: dict[tuple, list] = defaultdict(list)
    for (week, actor, _), v in weekly.items():
        by_week_actor[(week, actor)].append((v["mentions"], len(v["ids"])))
    assert sorted(rows) == sorted((w, a, m, n) for (w, a), vals in by_week_actor.items() for m, n in vals)
    assert {r[0] for r in rows} == {dt.date(2021, 7, 5), dt.date(2021, 7, 26), dt.date(2021, 8, 9)}
    assert all(r[0].weekday() == 0 for r in rows)
    assert rows == sorted(rows, key=lambda r: (r[0], -r[2]))


def check_people_most_mentioned(rows, base: Base):
    mentions, article_days = Counter(), defaultdict(set)
    for m in base.mentions:
        if m["actor_type"] == "person":
            mentions[m["actor"]] += 1
            article_days[m["actor"]].add((m["published_date"], m["article_id"]))
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == len(rows)
    assert got == {a: (mentions[a], len(article_days[a])) for a in got}
    assert _is_top({a: mentions[a] for a in got}, {a: c for a, c in mentions.items() if a not in got}, 20)
    assert _descending([r[1] for r in rows])
    assert "Antony Blinken" in got


def check_rejections_by_reason(rows, base: Base):
    assert rows == sorted(Counter(r["reason"] for r in base.rejected).items())
    assert rows == [("malformed_date_header", 1)]


def check_rejected_files(rows, base: Base):
    assert rows == sorted((r["source_path"], r["reason"], r["detail"]) for r in base.rejected)
    [(path, reason, detail)] = rows
    assert (path, reason) == (BAD_HEADER, "malformed_date_header") and "2021-02-30" in detail


def check_surface_forms(rows, base: Base):
    forms = Counter((m["actor"], m["entity_text"], m["entity_label"]) for m in base.mentions if m["actor"] == "United States")
    assert sorted(rows) == sorted((*k, n) for k, n in forms.items())
    assert _descending([r[3] for r in rows])
    assert len(rows) >= 2 and {r[1] for r in rows} >= {"US"}  # several forms, merged into one actor


def check_duplicate_groups(rows, base: Base):
    expected = sorted((base.article[d["duplicate_of"]]["source_path"], base.article[d["article_id"]]["source_path"],
                       d["similarity"]) for d in base.duplicates)
    assert rows == expected
    [(canonical, duplicate, similarity)] = rows
    assert (canonical[:4], duplicate[:4]) == ("000_", "001_") and 0.75 <= similarity <= 1.0


def check_articles_per_day(rows, base: Base):
    dups = {d["article_id"] for d in base.duplicates}
    per_day: dict = defaultdict(lambda: [0, 0])
    for a in base.articles:
        per_day[a["published_date"]][0] += 1
        per_day[a["published_date"]][1] += a["article_id"] not in dups
    assert rows == sorted((d, n, c) for d, (n, c) in per_day.items())
    assert rows == [(dt.date(2021, 7, 7), 1, 1), (dt.date(2021, 7, 28), 3, 2), (dt.date(2021, 8, 10), 1, 1)]


def check_mentions_in_context(rows, base: Base):
    expected = []
    for m in base.mentions:
        if m["actor"] == "Antony Blinken":
            a = base.article[m["article_id"]]
            start = max(m["start_char"] - 60, 0)
            expected.append((a["published_date"], a["source_path"],
                             a["body"][start:start + m["end_char"] - m["start_char"] + 120]))
    assert 0 < len(expected) <= 20
    assert sorted(rows) == sorted(expected)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert all("Blinken" in context for _, _, context in rows)


def check_actors_together(rows, base: Base):
    actors_of: dict[str, set] = defaultdict(set)
    for m in base.mentions:
        actors_of[m["article_id"]].add(m["actor"])
    together = Counter((x, y) for actors in actors_of.values() for x in actors for y in actors if x < y)
    got = {(r[0], r[1]): r[2] for r in rows}
    assert len(got) == len(rows)
    assert got == {pair: together[pair] for pair in got}
    assert _is_top(got, {p: n for p, n in together.items() if p not in got}, 20)
    assert _descending([r[2] for r in rows])


def check_latest_quality(rows, base: Base):
    latest: dict[tuple, dict] = {}
    for r in base.quality:
        key = (r["check_name"], r["partition"])
        if key not in latest or r["checked_at"] > latest[key]["checked_at"]:
            latest[key] = r
    cols = ("check_name", "asset", "severity", "passed", "failing_rows", "sample", "checked_at")
    assert sorted(rows, key=repr) == sorted((tuple(r[c] for c in cols) for r in latest.values()), key=repr)
    assert [r[3:4] + r[2:3] + r[:1] for r in rows] == sorted(r[3:4] + r[2:3] + r[:1] for r in rows)  # failures first
    failed = [r for r in rows if not r[3]]
    assert [(r[0], r[2], r[4]) for r in failed] == [("date_headers_well_formed", "WARN", 1)]  # the bad header only
    assert BAD_HEADER in json.loads(failed[0][5])


def check_column_comments(rows, base: Base):
    wanted = ("articles", "entity_mentions", "actor_mentions_daily")
    assert rows == [(t, c, sql_type, comment) for t in sorted(wanted) for c, (sql_type, comment) in TABLES[t].columns.items()]
    assert rows == [(c["table_name"], c["column_name"], c["data_type"], c["comment"])
                    for c in sorted(base.columns, key=lambda c: (c["table_name"], c["column_index"]))
                    if c["table_name"] in wanted]


def check_articles_per_site(rows, base: Base):
    sites: dict = defaultdict(lambda: {"ids": set(), "mentions": 0, "languages": set()})
    for a in base.articles:
        cell = sites[a["site"] or "(no URL)"]
        cell["ids"].add(a["article_id"])
        cell["languages"].add(a["language"])
    for m in base.mentions:
        sites[base.article[m["article_id"]]["site"] or "(no URL)"]["mentions"] += 1
    assert [r[:3] for r in rows] == sorted(((s, len(v["ids"]), v["mentions"]) for s, v in sites.items()),
                                          key=lambda r: (-r[1], r[0]))
    assert {r[0]: set(r[3].split(", ")) for r in rows} == {s: v["languages"] for s, v in sites.items()}
    assert rows == [("(no URL)", 5, len(base.mentions), "en")]  # the sample's plain-text files: no URL


def check_actor_forms(rows, base: Base):
    forms: dict[tuple, list] = defaultdict(list)
    for m in base.mentions:
        if m["actor"] == "Afghanistan":
            forms[(m["entity_text"], m["entity_label"])].append(m["published_date"])
    assert rows == sorted(((text, label, len(days), min(days), max(days)) for (text, label), days in forms.items()),
                          key=lambda r: (-r[2], r[0]))
    assert {("Afghanistan", "GPE"), ("Afghan", "NORP")} <= {r[:2] for r in rows}  # a country and its demonym


def check_country_codes(rows, base: Base):
    totals, days = Counter(), defaultdict(set)
    for m in base.mentions:
        if m["actor_code"] is not None:
            totals[(m["actor_code"], m["actor"])] += 1
            days[(m["actor_code"], m["actor"])].add(m["published_date"])
    assert rows == sorted(((c, a, n, len(days[(c, a)])) for (c, a), n in totals.items()), key=lambda r: (-r[2], r[0]))
    assert rows[0][:2] == ("AFG", "Afghanistan") and {"USA", "CHN"} <= {r[0] for r in rows}
    assert all(len(c) == 3 and c.isupper() for c, *_ in rows)
    assert all(m["actor_type"] == "place" for m in base.mentions if m["actor_code"] is not None)


# Each cookbook statement is recognised by a piece of its SQL (whatever its place in the README).
COOKBOOK_CHECKS = {
    "FROM top_actors_daily": check_top_actors_of_a_day,
    "FROM actor_daily_series": check_daily_series,
    "FROM actor_mentions_weekly": check_weekly_of_top_actors,
    "WHERE actor_type = 'person'": check_people_most_mentioned,
    "FROM rejections_by_reason": check_rejections_by_reason,
    "FROM rejected_files ORDER BY": check_rejected_files,
    "WHERE actor = 'United States'": check_surface_forms,
    "JOIN articles c ON c.article_id = d.duplicate_of": check_duplicate_groups,
    "FILTER (WHERE article_id NOT IN": check_articles_per_day,
    "WHERE m.actor = 'Antony Blinken'": check_mentions_in_context,
    "x.actor < y.actor": check_actors_together,
    "FROM latest_data_quality": check_latest_quality,
    "FROM duckdb_columns()": check_column_comments,
    "coalesce(a.site, '(no URL)')": check_articles_per_site,
    "FROM actor_forms": check_actor_forms,
    "WHERE actor_code IS NOT NULL": check_country_codes,
}


def _checks_of(sql: str) -> list:
    flat = " ".join(sql.split())
    return [check for marker, check in COOKBOOK_CHECKS.items() if marker in flat]


def test_cookbook_has_about_ten_questions():
    queries = cookbook_queries()
    assert len(queries) >= 10
    claimed = {check for sql in queries for check in _checks_of(sql)}
    assert [len(_checks_of(sql)) for sql in queries] == [1] * len(queries), \
        "each README cookbook query needs exactly one check in COOKBOOK_CHECKS (tests/test_warehouse.py)"
    assert claimed == set(COOKBOOK_CHECKS.values()), "a check whose query is no longer in the README cookbook"


@pytest.fixture(scope="module")
def base(built) -> Base:
    with duckdb.connect(str(built.db_path), read_only=True) as con:
        return Base(con)


@pytest.mark.parametrize("i", range(len(cookbook_queries())))
def test_every_cookbook_query_answers_right(built, base, i):
    sql = cookbook_queries()[i]
    checks = _checks_of(sql)
    assert len(checks) == 1, f"cookbook query {i + 1} has no check in COOKBOOK_CHECKS:\n{sql}"
    with duckdb.connect(str(built.db_path), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    checks[0](rows, base)


def test_every_table_column_and_view_is_documented(built):
    with duckdb.connect(str(built.db_path), read_only=True) as con:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
        cols = con.execute("SELECT table_name, column_name, comment FROM duckdb_columns() "
                           "WHERE table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()
        views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert set(tables) == set(TABLES) and all(tables.values())
    assert cols and all(comment for _, _, comment in cols)
    assert set(views) == set(VIEWS) and all(views.values())


READ_EVERYTHING = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
views = [v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1").fetchall()]
print(json.dumps({"version": duckdb.__version__,
                  "rows": {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables + views},
                  "top": [list(map(str, r)) for r in con.execute("SELECT * FROM top_actors_daily ORDER BY day, rank").fetchall()]}))
"""


@pytest.mark.duckdb14
def test_published_file_opens_in_duckdb_1_4(built):
    if not DUCKDB14_PYTHON.exists():
        pytest.fail(f"the DuckDB 1.4 client is not at {DUCKDB14_PYTHON}: run `make duckdb14` (`make test` does) "
                    "or set NEWSDAG_DUCKDB14_PYTHON to a python with duckdb 1.4")
    old = subprocess.run([str(DUCKDB14_PYTHON), "-c", READ_EVERYTHING, str(built.db_path)], capture_output=True, text=True)
    assert old.returncode == 0, old.stderr
    new = subprocess.run([sys.executable, "-c", READ_EVERYTHING, str(built.db_path)], capture_output=True, text=True,
                         check=True)
    old, new = json.loads(old.stdout), json.loads(new.stdout)
    assert old["version"].startswith("1.4.")
    assert old["rows"] == new["rows"] and old["top"] == new["top"]  # every table and view, as today's client reads it
    assert set(old["rows"]) == set(TABLES) | set(VIEWS)
    assert (old["rows"]["articles"], old["rows"]["rejected_files"]) == (5, 1) and old["top"]


COUNT_ARTICLES = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM articles').fetchone()[0])"
HOLD_OPEN = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute('SELECT count(*) FROM articles').fetchone()[0], flush=True)
sys.stdin.readline()                      # hold the file open until told to go on
print(con.execute('SELECT count(*) FROM articles').fetchone()[0], flush=True)
"""


@pytest.mark.slow
def test_an_analyst_holding_the_file_open_does_not_block_a_run(built):
    analyst = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(built.db_path)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    extra = built.raw_dir / "late.txt"
    try:
        before = int(analyst.stdout.readline())
        extra.write_text(" date 2021-07-29 Ashraf Ghani met Zalmay Khalilzad in Kabul.")
        assert materialize(built).success  # no "Could not set lock on file"
        analyst.stdin.write("go\n")
        analyst.stdin.flush()
        assert int(analyst.stdout.readline()) == before  # the open reader keeps its snapshot
        fresh = subprocess.run([sys.executable, "-c", COUNT_ARTICLES, str(built.db_path)],
                               capture_output=True, text=True, check=True)
        assert int(fresh.stdout) == before + 1  # a new connection sees the new build
    finally:
        extra.unlink(missing_ok=True)
        analyst.kill()
        analyst.wait()


# ------------------------------------------------------------------------------------------------
# Issue #15: no operator input in SQL, stale WALs, damaged working databases, distinct working files

def _work_db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for table in TABLES.values():
            con.execute(table.create_sql())
        con.execute("INSERT INTO rejected_files VALUES ('a.txt', 'undecodable', 'NUL bytes', 'h')")
        con.execute("INSERT INTO data_quality_results (check_name, passed) SELECT 'c' || range, true FROM range(70000)")
    return path


@pytest.mark.parametrize("name", ["'; DETACH pub; --.duckdb", *(pytest.param(name, marks=pytest.mark.slow) for name in [
    'a"b; DROP TABLE x; --.duckdb', "it's.duckdb", "with space.duckdb", "naïve 日本.duckdb", "[x]*?.duckdb"])])
def test_publish_with_hostile_names(tmp_path: Path, name: str):
    from newsdag.warehouse import publish

    work = _work_db(tmp_path / ".newsdag" / "w.work.duckdb")
    out = publish(work, tmp_path / name, "v1.4.0")
    with duckdb.connect(str(out), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejected_files").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM data_quality_results").fetchone() == (70000,)
        assert {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()} \
            == set(VIEWS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".newsdag", name])  # no tmp file, no WAL left
    with duckdb.connect(str(work), read_only=True) as con:  # the working copy was not touched
        assert con.execute("SELECT count(*) FROM rejected_files").fetchone() == (1,)


def test_publish_refuses_a_file_that_is_not_duckdb(tmp_path: Path):
    from newsdag.warehouse import publish

    work = _work_db(tmp_path / ".newsdag" / "w.work.duckdb")
    notes = tmp_path / "notes.duckdb"
    notes.write_text("precious notes")
    with pytest.raises(ValueError, match="not a DuckDB database"):
        publish(work, notes, "v1.4.0")
    assert notes.read_text() == "precious notes"


def test_publish_moves_a_stale_wal_aside(tmp_path: Path, caplog):
    from newsdag.warehouse import publish

    work = _work_db(tmp_path / ".newsdag" / "w.work.duckdb")
    db = tmp_path / "news.duckdb"
    publish(work, db, "v1.4.0")
    Path(f"{db}.wal").write_bytes(b"not the new file's log")
    publish(work, db, "v1.4.0")
    assert not Path(f"{db}.wal").exists() and list(tmp_path.glob("news.duckdb.wal.stale-*"))
    assert "stale write-ahead log" in caplog.text
    duckdb.connect(str(db), read_only=True).close()


def test_damaged_working_database_is_rebuilt(tmp_path: Path, caplog):
    from newsdag.warehouse import connect, publish

    work = _work_db(tmp_path / ".newsdag" / "news.duckdb.work.duckdb")
    publish(work, tmp_path / "news.duckdb", "v1.4.0")
    with open(work, "r+b") as f:
        f.truncate(3000)
    con = connect(work)
    try:
        assert con.execute("SELECT count(*) FROM data_quality_results").fetchone() == (70000,)  # from the published file
    finally:
        con.close()
    assert "could not be opened" in caplog.text and list(work.parent.glob("*.corrupt-*"))


def test_work_db_is_named_after_the_full_file_name(tmp_path: Path):
    from newsdag.settings import Settings

    a, b = Settings(db_path=tmp_path / "x.duckdb"), Settings(db_path=tmp_path / "x.db")
    assert a.work_db_path != b.work_db_path
    assert a.work_db_path == tmp_path / ".newsdag" / "x.duckdb.work.duckdb"


def test_lake_writes_parquet_without_paths_in_sql(tmp_path: Path):
    from newsdag import lake

    root = str(tmp_path / "it's \"a\" lake; DROP TABLE t; --")
    ddl = ["CREATE TABLE IF NOT EXISTS t (a VARCHAR PRIMARY KEY, d DATE)"]
    with lake.session(root, ddl) as con:
        con.execute("INSERT INTO t VALUES ('x', DATE '2021-01-01')")
    (Path(root) / "tables" / "bad name; DROP.parquet").write_bytes(b"ignored")
    with lake.session(root, ddl) as con:
        assert con.execute("SELECT * FROM t").fetchall() == [("x", __import__("datetime").date(2021, 1, 1))]
