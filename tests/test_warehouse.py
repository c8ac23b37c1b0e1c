"""The analysts' file: documented schema, views, the README cookbook, DuckDB 1.x clients, open readers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from newsdag.cli import materialize
from newsdag.settings import SAMPLE_RAW_DIR
from newsdag.warehouse import TABLES, VIEWS
from tests.conftest import settings_for

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wh")
    shutil.copytree(SAMPLE_RAW_DIR, tmp / "raw")
    (tmp / "raw" / "bad_header.txt").write_text(" date 2021-02-30 Not a real day.")
    s = settings_for(tmp / "raw", tmp)
    assert materialize(s).success
    return s


def cookbook_queries() -> list[str]:
    text = README.read_text()
    block = text[text.index("<!-- cookbook:start -->"):text.index("<!-- cookbook:end -->")]
    statements = []
    for sql in re.findall(r"```sql\n(.*?)```", block, flags=re.S):
        statements += [part.strip() for part in sql.split(";") if part.strip()]
    return statements


def test_cookbook_has_about_ten_questions():
    assert len(cookbook_queries()) >= 10


@pytest.mark.parametrize("i", range(len(cookbook_queries())))
def test_every_cookbook_query_runs_and_answers(built, i):
    sql = cookbook_queries()[i]
    with duckdb.connect(str(built.db_path), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert rows, f"cookbook query {i + 1} returned nothing on the sample:\n{sql}"


def test_every_table_column_and_view_is_documented(built):
    with duckdb.connect(str(built.db_path), read_only=True) as con:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
        cols = con.execute("SELECT table_name, column_name, comment FROM duckdb_columns() "
                           "WHERE table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()
        views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert set(tables) == set(TABLES) and all(tables.values())
    assert cols and all(comment for _, _, comment in cols)
    assert set(views) == set(VIEWS) and all(views.values())


def test_published_file_opens_in_duckdb_1_4(built, tmp_path_factory):
    venv = tmp_path_factory.mktemp("duckdb14") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "duckdb==1.4.5"],
                             capture_output=True, text=True)
    assert install.returncode == 0, f"could not install duckdb 1.4 from PyPI: {install.stderr[-2000:]}"
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "print(duckdb.__version__, con.execute('SELECT count(*) FROM articles').fetchone()[0], "
              "con.execute('SELECT count(*) FROM top_actors_daily').fetchone()[0])")
    out = subprocess.run([str(py), "-c", script, str(built.db_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    version, articles, top = out.stdout.split()
    assert version.startswith("1.4.") and int(articles) == 5 and int(top) > 0


COUNT_ARTICLES = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM articles').fetchone()[0])"
HOLD_OPEN = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute('SELECT count(*) FROM articles').fetchone()[0], flush=True)
sys.stdin.readline()                      # hold the file open until told to go on
print(con.execute('SELECT count(*) FROM articles').fetchone()[0], flush=True)
"""


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
    from newsdag.warehouse import create_sql

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for table in TABLES:
            con.execute(create_sql(table))
        con.execute("INSERT INTO rejected_files VALUES ('a.txt', 'undecodable', 'NUL bytes', 'h')")
        con.execute("INSERT INTO data_quality_results (check_name, passed) SELECT 'c' || range, true FROM range(70000)")
    return path


@pytest.mark.parametrize("name", ['a"b; DROP TABLE x; --.duckdb', "it's.duckdb", "with space.duckdb",
                                  "naïve 日本.duckdb", "[x]*?.duckdb", "'; DETACH pub; --.duckdb"])
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
