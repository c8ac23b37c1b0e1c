"""The Parquet state of the distributed mode (newsdag.lake): per-day tables partitioned by day, steps that
load only their days, day-by-day write-back, the legacy flat layout, the writer's load and the helpers for
files that steps exchange. Fast: no Dagster, no corpus."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from newsdag import lake, store

D1, D2, D3, D4 = (dt.date(2021, 3, d) for d in (1, 2, 3, 4))


def _entities(*days: dt.date, per_day: int = 2, text: str = "Obama") -> pd.DataFrame:
    return pd.DataFrame([{"article_id": f"a{d.day}", "published_date": d, "entity_text": f"{text} {i}",
                          "entity_label": "PERSON", "start_char": i * 10, "end_char": i * 10 + 5}
                         for d in days for i in range(per_day)])


def _articles() -> pd.DataFrame:
    return pd.DataFrame([{"article_id": f"a{d.day}", "source_path": f"{d}.txt", "published_date": d,
                          "title": "T", "body": "Obama spoke.", "word_count": 2} for d in (D1, D2, D3)])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A lake holding entities of D1..D3 (2 rows a day) and 3 articles."""
    root = tmp_path / "lake"
    with lake.session(str(root), store.ddl()) as con:
        store.write(con, "entities", _entities(D1, D2, D3))
        store.write(con, "articles", _articles())
    return root


def _day_file(root: Path, table: str, day: dt.date) -> Path:
    return root / "tables" / table / f"day={day.isoformat()}" / "part.parquet"


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under the root: relative path -> (inode, content)."""
    return {str(p.relative_to(root)): (p.stat().st_ino, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def test_per_day_tables_are_stored_one_file_per_day(root: Path):
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert [f for f in files if "entit" in f] == [f"tables/entities/day={d}/part.parquet" for d in (D1, D2, D3)]
    assert "tables/articles.parquet" in files
    assert not (root / "tables" / "entities.parquet").exists()
    assert not (root / "tables" / "entity_mentions").exists()  # no rows: no folder
    for day in (D1, D2, D3):
        table = pq.read_table(_day_file(root, "entities", day))
        assert table.column("published_date").to_pylist() == [day, day]


def test_a_step_with_days_sees_only_those_days_of_the_per_day_tables(root: Path):
    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        assert _rows(con, "SELECT DISTINCT published_date FROM entities") == [(D2,)]
        assert _rows(con, "SELECT count(*) FROM entities") == [(2,)]
        assert _rows(con, "SELECT count(*) FROM articles") == [(3,)]  # tables stored whole: whole
    with lake.session(str(root), store.ddl(), days=["2021-03-01", "2021-03-03"]) as con:
        assert _rows(con, "SELECT DISTINCT published_date FROM entities ORDER BY 1") == [(D1,), (D3,)]
    with lake.session(str(root), store.ddl(), days=[]) as con:
        assert _rows(con, "SELECT count(*) FROM entities") == [(0,)]
    con = lake.open_memory(str(root), store.ddl())
    try:
        assert _rows(con, "SELECT count(*) FROM entities") == [(6,)]
    finally:
        con.close()


def test_only_the_days_asked_for_are_opened(root: Path):
    _day_file(root, "entities", D1).write_bytes(b"not parquet")
    with lake.session(str(root), store.ddl(), days=[D2, D4]) as con:
        assert _rows(con, "SELECT count(*) FROM entities") == [(2,)]
    with pytest.raises(duckdb.Error):
        lake.open_memory(str(root), store.ddl())


def test_changing_a_day_rewrites_only_that_days_file(root: Path):
    before = _snapshot(root)
    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        pass  # nothing changed: nothing written
    with lake.session(str(root), store.ddl()) as con:
        pass
    assert _snapshot(root) == before

    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        con.execute("UPDATE entities SET entity_text = 'Biden' WHERE start_char = 0")
    after = _snapshot(root)
    d2 = f"tables/entities/day={D2}/part.parquet"
    assert after[d2] != before[d2]
    assert {k: v for k, v in after.items() if k != d2} == {k: v for k, v in before.items() if k != d2}
    assert sorted(pq.read_table(root / d2).column("entity_text").to_pylist()) == ["Biden", "Obama 1"]

    with lake.session(str(root), store.ddl()) as con:  # all days loaded: still only the changed day
        con.execute("DELETE FROM entities WHERE published_date = ? AND start_char = 10", [D3])
    final = _snapshot(root)
    d3 = f"tables/entities/day={D3}/part.parquet"
    assert final[d3] != after[d3]
    assert {k: v for k, v in final.items() if k != d3} == {k: v for k, v in after.items() if k != d3}


def test_a_failed_write_leaves_the_old_day_file(root: Path, monkeypatch):
    before = _snapshot(root)

    def boom(self, batch, *a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", boom)
    with pytest.raises(OSError, match="disk full"):
        with lake.session(str(root), store.ddl(), days=[D2]) as con:
            con.execute("UPDATE entities SET entity_text = 'Biden'")
    assert _snapshot(root) == before  # the day's file untouched, no temporary file left behind


def test_a_day_without_rows_loses_its_folder(root: Path):
    with lake.session(str(root), store.ddl(), days=[D3]) as con:
        con.execute("DELETE FROM entities")
    assert not (root / "tables" / "entities" / f"day={D3}").exists()
    assert _day_file(root, "entities", D1).exists() and _day_file(root, "entities", D2).exists()
    with lake.session(str(root), store.ddl()) as con:
        assert _rows(con, "SELECT DISTINCT published_date FROM entities ORDER BY 1") == [(D1,), (D2,)]


def test_writing_a_day_the_step_did_not_load_is_refused(root: Path):
    before = _snapshot(root)
    with pytest.raises(ValueError, match=r"entities.*2021-03-01.*did not load") as err:
        with lake.session(str(root), store.ddl(), days=[D2]) as con:
            con.execute("DELETE FROM entities")  # would remove D2's folder
            con.execute("DELETE FROM articles")  # would rewrite articles.parquet
            store.write(con, "entities", _entities(D1, per_day=1, text="Putin"))
    assert "\n" not in str(err.value)
    assert _snapshot(root) == before  # nothing written


def test_a_new_day_the_step_did_not_load_is_written_when_the_lake_has_none(root: Path):
    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        store.write(con, "entities", _entities(D4, per_day=3))
    assert pq.read_table(_day_file(root, "entities", D4)).num_rows == 3
    with lake.session(str(root), store.ddl(), days=[D4]) as con:
        assert _rows(con, "SELECT count(*) FROM entities") == [(3,)]


def test_rows_without_a_day_are_refused(root: Path):
    before = _snapshot(root)
    with pytest.raises(ValueError, match="without a published_date"):
        with lake.session(str(root), store.ddl()) as con:
            con.execute("UPDATE entities SET published_date = NULL WHERE published_date = ?", [D1])
    assert _snapshot(root) == before


def test_a_dropped_table_loses_its_folder_and_file(root: Path):
    with lake.session(str(root), store.ddl(), days=[D1]) as con:
        con.execute("DROP TABLE entities")
        con.execute("DROP TABLE articles")
    assert not (root / "tables" / "entities").exists()
    assert not (root / "tables" / "articles.parquet").exists()


def test_other_names_under_the_tables_folder_are_ignored(root: Path, caplog):
    good = pq.read_table(_day_file(root, "entities", D1))
    for folder in ("day=2021-13-01", "day=20210301", "2021-03-05", "day=2021-03-06x"):
        (root / "tables" / "entities" / folder).mkdir()
        pq.write_table(good, root / "tables" / "entities" / folder / "part.parquet")
    with caplog.at_level(logging.WARNING, logger="newsdag"):
        with lake.session(str(root), store.ddl()) as con:
            assert _rows(con, "SELECT count(*) FROM entities") == [(6,)]
    assert "day=20210301" in caplog.text and "day=2021-13-01" in caplog.text and "not a day=YYYY-MM-DD" in caplog.text


def _legacy(root: Path) -> None:
    """An older version's lake: entities as one flat file (D1, D2), no day folders."""
    (root / "tables").mkdir(parents=True)
    con = duckdb.connect()
    try:
        con.execute(store.TABLES["entities"].create_sql())
        store.write(con, "entities", _entities(D1, D2))
        pq.write_table(con.sql("SELECT * FROM entities").to_arrow_table(), root / "tables" / "entities.parquet")
    finally:
        con.close()


def test_a_legacy_flat_file_is_read_and_converted(tmp_path: Path):
    root = tmp_path / "lake"
    _legacy(root)
    flat = root / "tables" / "entities.parquet"
    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        assert _rows(con, "SELECT DISTINCT published_date FROM entities") == [(D2,)]
    assert flat.exists() and not (root / "tables" / "entities").exists()  # unchanged: left as it was

    with lake.session(str(root), store.ddl(), days=[D2]) as con:
        con.execute("UPDATE entities SET entity_text = 'Biden' WHERE start_char = 0")
    assert not flat.exists()
    assert sorted(pq.read_table(_day_file(root, "entities", D1)).column("entity_text").to_pylist()) == [
        "Obama 0", "Obama 1"]  # the day the step did not load: copied from the flat file
    assert sorted(pq.read_table(_day_file(root, "entities", D2)).column("entity_text").to_pylist()) == [
        "Biden", "Obama 1"]
    with lake.session(str(root), store.ddl()) as con:
        assert _rows(con, "SELECT published_date, count(*) FROM entities GROUP BY 1 ORDER BY 1") == [(D1, 2), (D2, 2)]


def test_a_step_cannot_overwrite_a_legacy_day_it_did_not_load(tmp_path: Path):
    root = tmp_path / "lake"
    _legacy(root)
    with pytest.raises(ValueError, match="did not load"):
        with lake.session(str(root), store.ddl(), days=[D2]) as con:
            store.write(con, "entities", _entities(D1, per_day=1))
    assert (root / "tables" / "entities.parquet").exists() and not (root / "tables" / "entities").exists()


def test_load_into_builds_the_duckdb_file_from_every_day(root: Path, tmp_path: Path):
    from newsdag.warehouse import connect

    # and an older version's flat file of entities: its day without a folder (D4) counts, D1's rows do not
    con = duckdb.connect()
    try:
        con.execute(store.TABLES["entities"].create_sql())
        store.write(con, "entities", pd.concat([_entities(D4, per_day=1), _entities(D1, per_day=5, text="old")]))
        pq.write_table(con.sql("SELECT * FROM entities").to_arrow_table(), root / "tables" / "entities.parquet")
    finally:
        con.close()
    db = tmp_path / "work.duckdb"
    lake.load_into(str(root), db, store.ddl())
    con = connect(db)
    try:
        got = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("entities", "articles")}
    finally:
        con.close()
    mem = lake.open_memory(str(root), store.ddl())
    try:
        assert got == {t: mem.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("entities", "articles")}
    finally:
        mem.close()
    assert len(got["entities"]) == 7 and {r[1] for r in got["entities"]} == {D1, D2, D3, D4}
    assert not any(r[2].startswith("old") for r in got["entities"])
    assert len(got["articles"]) == 3


def test_frames_round_trip_under_the_root(tmp_path: Path):
    root = str(tmp_path / "lake")
    frame = pd.DataFrame({"article_id": ["a", "b"], "n": [1, 2], "day": [D1, D2]})
    path = lake.write_frame(root, "ner/run1/chunk-0.parquet", frame)
    assert Path(path) == tmp_path / "lake" / "ner" / "run1" / "chunk-0.parquet" and Path(path).is_file()
    pd.testing.assert_frame_equal(lake.read_frame(root, "ner/run1/chunk-0.parquet"), frame)
    assert [p.name for p in (tmp_path / "lake" / "ner" / "run1").iterdir()] == ["chunk-0.parquet"]  # no temp left
    lake.remove_tree(root, "ner/run1")
    assert not (tmp_path / "lake" / "ner" / "run1").exists()
    lake.remove_tree(root, "ner/run1")  # missing: nothing to do
    with pytest.raises(FileNotFoundError):
        lake.read_frame(root, "ner/run1/chunk-0.parquet")


@pytest.mark.parametrize("relpath", ["../x", "a/../../x", "/etc/x", "", "a//b", "./a", "tables/entities.parquet"])
def test_frame_paths_must_stay_under_the_root(tmp_path: Path, relpath: str):
    root = str(tmp_path / "lake")
    with pytest.raises(ValueError):
        lake.write_frame(root, relpath, pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError):
        lake.read_frame(root, relpath)
    with pytest.raises(ValueError):
        lake.remove_tree(root, relpath)
    assert not (tmp_path / "x").exists() and not (tmp_path / "lake").exists()


def test_a_fsspec_root_works(tmp_path: Path):
    import fsspec

    root = f"memory://newsdag-test-{tmp_path.name}"
    try:
        with lake.session(root, store.ddl()) as con:
            store.write(con, "entities", _entities(D1, D2))
        fs = fsspec.filesystem("memory")
        assert fs.exists(f"/newsdag-test-{tmp_path.name}/tables/entities/day={D2}/part.parquet")
        with lake.session(root, store.ddl(), days=[D2]) as con:
            assert _rows(con, "SELECT DISTINCT published_date FROM entities") == [(D2,)]
    finally:
        fsspec.filesystem("memory").rm(f"/newsdag-test-{tmp_path.name}", recursive=True)
