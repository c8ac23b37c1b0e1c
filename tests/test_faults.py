"""Fault injection (issue #15): odd filesystem entries, bad settings, hostile names, a stale WAL and a
damaged working database never take the pipeline down; every entry under the raw dir is accounted for."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from newsdag.cli import main

pytestmark = pytest.mark.slow

ARTICLE = b" date 2021-07-28 Ashraf Ghani met Zalmay Khalilzad in Kabul on Wednesday.\n"
LIMIT_MB = "0.01"  # 10,485 bytes: the too_large case


def q(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def rm_rf(path: Path) -> None:
    subprocess.run(["rm", "-rf", str(path)], check=False)  # shutil.rmtree recurses: 1,200 levels are too deep


# ------------------------------------------------------------------------------------------------
# Building raw trees: each case creates its entries and returns {source_path: expected reason or None}

def _article(raw: Path, rel: str, data: bytes = ARTICLE) -> dict:
    path = raw / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {rel: None}


def case_good(raw: Path, tag: str, outside: Path) -> dict:
    return _article(raw, f"good_{tag}.txt", ARTICLE + tag.encode())


def case_self_link(raw: Path, tag: str, outside: Path) -> dict:
    os.symlink(f"self_{tag}", raw / f"self_{tag}")
    return {f"self_{tag}": "symlink_loop"}


def case_loop(raw: Path, tag: str, outside: Path) -> dict:
    os.symlink(f"loop_{tag}_b", raw / f"loop_{tag}_a")
    os.symlink(f"loop_{tag}_a", raw / f"loop_{tag}_b")
    return {f"loop_{tag}_a": "symlink_loop", f"loop_{tag}_b": "symlink_loop"}


def case_outside(raw: Path, tag: str, outside: Path) -> dict:
    target = outside / f"secret_{tag}.txt"
    target.write_bytes(ARTICLE)
    os.symlink(target, raw / f"out_{tag}.txt")
    os.symlink(outside, raw / f"outdir_{tag}", target_is_directory=True)
    return {f"out_{tag}.txt": "outside_raw_dir", f"outdir_{tag}": "outside_raw_dir"}


def case_dangling(raw: Path, tag: str, outside: Path) -> dict:
    os.symlink(f"missing_{tag}.txt", raw / f"dangling_{tag}.txt")
    return {f"dangling_{tag}.txt": "dangling_link"}


def case_link_inside(raw: Path, tag: str, outside: Path) -> dict:
    expected = _article(raw, f"target_{tag}.txt", ARTICLE + b" " + tag.encode())
    os.symlink(f"target_{tag}.txt", raw / f"link_{tag}.txt")
    return {**expected, f"link_{tag}.txt": None}  # a link to a file inside the raw dir is read


def case_fifo(raw: Path, tag: str, outside: Path) -> dict:
    os.mkfifo(raw / f"fifo_{tag}")
    return {f"fifo_{tag}": "not_a_regular_file"}


def case_socket(raw: Path, tag: str, outside: Path) -> dict:
    path = raw / f"sock_{tag}"
    if len(os.fsencode(path)) > 100:  # AF_UNIX paths are short
        return {}
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    return {f"sock_{tag}": "not_a_regular_file"}


def case_non_utf8_name(raw: Path, tag: str, outside: Path) -> dict:
    name = b"caf\xe9_" + tag.encode() + b"\xff.txt"
    with open(os.path.join(os.fsencode(raw), name), "wb") as f:
        f.write(ARTICLE)
    return {f"caf\\xe9_{tag}\\xff.txt": None}


def case_deep(raw: Path, tag: str, outside: Path) -> dict:
    rel = "/".join([f"d{tag}"] + ["d"] * 1199) + "/deep.txt"
    path = raw
    for part in os.path.dirname(rel).split("/"):  # os.makedirs recurses: too deep for it
        path = path / part
        path.mkdir()
    (path / "deep.txt").write_bytes(ARTICLE)
    return {rel: None}


def case_too_large(raw: Path, tag: str, outside: Path) -> dict:
    return {**_article(raw, f"big_{tag}.txt", ARTICLE * 400)} | {f"big_{tag}.txt": "too_large"}


def case_undecodable(raw: Path, tag: str, outside: Path) -> dict:
    _article(raw, f"bin_{tag}.bin", b"\x89PNG\r\n\x1a\n\x00\x00")
    return {f"bin_{tag}.bin": "undecodable"}


CASES = {f.__name__[5:]: f for f in [case_good, case_self_link, case_loop, case_outside, case_dangling,
                                      case_link_inside, case_fifo, case_socket, case_non_utf8_name, case_deep,
                                      case_too_large, case_undecodable]}


def build(raw: Path, outside: Path, names: list[str]) -> dict:
    raw.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expected: dict = {}
    for i, name in enumerate(names):
        expected.update(CASES[name](raw, str(i), outside))
    return expected


def run_cli(raw: Path, db: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("newsdag: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def assert_accounted(db: Path, expected: dict) -> None:
    articles = [p for (p,) in q(db, "SELECT source_path FROM articles")]
    rejected = dict(q(db, "SELECT source_path, reason FROM rejected_files"))
    details = [d for (d,) in q(db, "SELECT detail FROM rejected_files")]
    assert len(articles) == len(set(articles))
    assert set(articles) | set(rejected) == set(expected), (set(articles) | set(rejected)) ^ set(expected)
    assert not set(articles) & set(rejected)
    for rel, reason in expected.items():
        if reason is None:
            assert rel in articles, (rel, rejected.get(rel))
        else:
            assert rejected.get(rel) == reason, (rel, rejected.get(rel))
    assert all(d and "\n" not in d for d in details)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("NEWSDAG_N_PROCESS", "1")
    monkeypatch.setenv("NEWSDAG_MAX_FILE_MB", LIMIT_MB)
    for var in ("NEWSDAG_LABELS", "NEWSDAG_DB_PATH", "NEWSDAG_RAW_DIR", "NEWSDAG_STORAGE_ROOT", "NEWSDAG_EXECUTOR"):
        monkeypatch.delenv(var, raising=False)


def test_every_kind_of_entry_is_accounted_for(tmp_path: Path, capsys, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "out" / "news.duckdb"
    expected = build(raw, tmp_path / "outside", list(CASES))
    (raw / "locked").mkdir()
    _article(raw, "locked/hidden.txt")  # never seen: its directory cannot be listed
    expected["locked"] = "unreadable_directory"
    real_scandir = os.scandir

    def scandir(path="."):
        if not isinstance(path, int) and os.fsdecode(path) == str(raw / "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # root may read anything: deny one directory instead
    try:
        code, out, err = run_cli(raw, db, capsys)
        assert code == 0, err
        assert_accounted(db, expected)
        detail = q(db, "SELECT detail FROM rejected_files WHERE reason = 'too_large'")[0][0]
        assert "bytes" in detail and "NEWSDAG_MAX_FILE_MB" in detail
        assert "Permission denied" in q(db, "SELECT detail FROM rejected_files WHERE source_path = 'locked'")[0][0]
        from newsdag.reading import fingerprint

        assert fingerprint(raw) == fingerprint(raw)  # the sensor's digest does not crash either
    finally:
        rm_rf(tmp_path)


@hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(sorted(CASES)), min_size=0, max_size=6))
def test_random_mixtures_are_accounted_for(capsys, names):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            expected = build(tmp / "raw", tmp / "outside", names)
            code, out, err = run_cli(tmp / "raw", tmp / "out" / "x.duckdb", capsys)
            assert code == 0, err
            assert_accounted(tmp / "out" / "x.duckdb", expected)
            duckdb.connect(str(tmp / "out" / "x.duckdb"), read_only=True).close()
        finally:
            rm_rf(tmp / "raw")


def test_empty_raw_dir_is_an_empty_build_with_a_warning(tmp_path: Path, capsys):
    (tmp_path / "raw").mkdir()
    code = main(["materialize", "--raw-dir", str(tmp_path / "raw"), "--db", str(tmp_path / "x.duckdb")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "holds no files" in err
    assert q(tmp_path / "x.duckdb", "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_files)") \
        == [(0,)]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A raw dir and a published file, built once, that the bad-settings tests must leave as they are."""
    tmp = tmp_path_factory.mktemp("published")
    raw = tmp / "raw"
    _article(raw, "a.txt")
    db = tmp / "out" / "news.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEWSDAG_N_PROCESS", "1")
        assert main(["materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"]) == 0
    return raw, db


@pytest.mark.parametrize("env, args, needle", [
    ({"NEWSDAG_LABELS": "PERSONS,ORGS"}, [], "PERSONS, ORGS are not labels"),
    ({"NEWSDAG_LABELS": "PERSON,ORGANISATION"}, [], "ORGANISATION is not a label"),
    ({"NEWSDAG_MAX_FILE_MB": "lots"}, [], "NEWSDAG_MAX_FILE_MB"),
    ({"NEWSDAG_MAX_FILE_MB": "-1"}, [], "NEWSDAG_MAX_FILE_MB"),
    ({"NEWSDAG_BATCH_SIZE": "many"}, [], "NEWSDAG_BATCH_SIZE"),
    ({"NEWSDAG_MIN_DATE": "yesterday"}, [], "NEWSDAG_MIN_DATE"),
    ({}, ["--model", "no_such_model"], "no_such_model"),
])
def test_bad_setting_is_one_line_and_leaves_the_file_alone(published, capsys, monkeypatch, env, args, needle):
    raw, db = published
    before = db.read_bytes()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    (raw / "new.txt").write_bytes(ARTICLE + b" new")  # something to publish, were the run to go ahead
    try:
        code, out, err = run_cli(raw, db, capsys, *args)
    finally:
        (raw / "new.txt").unlink()
    assert_one_line_error(code, err, needle)
    assert db.read_bytes() == before


@pytest.mark.parametrize("content", [b"my notes, not a database\n", b"", b"SQLite format 3\x00" + b"\x00" * 100])
def test_db_that_is_not_duckdb_is_refused(published, tmp_path: Path, capsys, content):
    raw, _ = published
    db = tmp_path / "notes.duckdb"
    db.write_bytes(content)
    code, out, err = run_cli(raw, db, capsys)
    assert_one_line_error(code, err, "not a DuckDB database")
    assert db.read_bytes() == content


def test_hostile_db_name(published, tmp_path: Path, capsys):
    raw, _ = published
    db = tmp_path / "out dir 'x'" / 'a"b; DROP TABLE x; --naïve 日本.duckdb'
    code, out, err = run_cli(raw, db, capsys)
    assert code == 0, err
    assert q(db, "SELECT count(*) FROM articles") == [(1,)]
    assert sorted(p.name for p in db.parent.iterdir()) == [".newsdag", db.name]


def test_db_inside_raw_dir_does_not_ingest_itself(tmp_path: Path, capsys):
    raw = tmp_path / "raw"
    _article(raw, "a.txt")
    db = raw / "warehouse" / "news.duckdb"
    for _ in range(2):
        code, out, err = run_cli(raw, db, capsys)
        assert code == 0, err
        assert_accounted(db, {"a.txt": None})
    assert "up to date" in out  # its own new file is not a change of the raw input


def test_damaged_working_database_is_rebuilt_keeping_the_history(published, tmp_path: Path, capsys):
    import shutil

    raw, db0 = published
    db = tmp_path / "news.duckdb"
    shutil.copy(db0, db)
    work = db.parent / ".newsdag" / f"{db.name}.work.duckdb"
    assert main(["materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"]) == 0
    capsys.readouterr()
    history = q(db, "SELECT count(*) FROM data_quality_results")[0][0]
    assert history > 0
    with open(work, "r+b") as f:
        f.truncate(5000)
    (raw / "new.txt").write_bytes(ARTICLE + b" later")
    try:
        code = main(["materialize", "--raw-dir", str(raw), "--db", str(db)])
        out, err = capsys.readouterr()
    finally:
        (raw / "new.txt").unlink()
    assert code == 0, err
    assert "could not be opened" in err and "moved it aside" in err
    assert q(db, "SELECT count(*) FROM articles") == [(2,)]
    assert q(db, "SELECT count(*) FROM data_quality_results")[0][0] > history  # history kept, new results added


ANALYST = """
import duckdb, os, sys
con = duckdb.connect(sys.argv[1])                   # read-write, as the README says not to
con.execute("SET checkpoint_threshold = '1GB'")
print('open', flush=True); sys.stdin.readline()
con.execute('CREATE TABLE my_notes AS SELECT 1 AS x')
print('wrote', flush=True)
os._exit(9)                                         # crash before a checkpoint: <file>.wal stays
"""


def test_stale_wal_of_an_analysts_session_is_moved_aside(published, tmp_path: Path, capsys):
    import shutil

    raw, db0 = published
    db = tmp_path / "news.duckdb"
    shutil.copy(db0, db)
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(db)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert analyst.stdout.readline().strip() == "open"
    (raw / "new.txt").write_bytes(ARTICLE + b" wal")
    try:
        assert main(["materialize", "--raw-dir", str(raw), "--db", str(db), "--quiet"]) == 0  # publishes
        analyst.stdin.write("go\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "wrote"
        analyst.wait()
        assert Path(f"{db}.wal").exists()
        with pytest.raises(duckdb.Error, match="WAL"):
            duckdb.connect(str(db), read_only=True)  # what every reader saw before the fix
        capsys.readouterr()
        code = main(["materialize", "--raw-dir", str(raw), "--db", str(db)])
        out, err = capsys.readouterr()
    finally:
        (raw / "new.txt").unlink()
        analyst.kill()
    assert code == 0, err
    assert "stale write-ahead log" in err
    assert not Path(f"{db}.wal").exists()
    assert q(db, "SELECT count(*) FROM articles") == [(2,)]
