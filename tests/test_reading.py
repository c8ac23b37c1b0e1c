import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from newsdag.reading import (Undecodable, decode, fingerprint, iter_raw_files, printable_name, read_raw_file,
                             scan_raw_files)


def test_utf8_bom_and_crlf_are_accepted():
    assert decode("\ufeff date 2021-07-28 Hi\r\nthere\r\n".encode("utf-8")) == " date 2021-07-28 Hi\nthere\n"


def test_cp1252_fallback_for_legacy_bytes():
    assert decode(b"caf\xe9 \x93quoted\x94") == "café “quoted”"


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"abc\x00def", "NUL bytes"),
        ("hi".encode("utf-16"), "NUL bytes"),
        (b"\x81\x8d\x8f", "nor cp1252"),
    ],
)
def test_undecodable_bytes_have_a_reason(data, expected):
    with pytest.raises(Undecodable, match=expected):
        decode(data)


def test_walks_recursively_without_following_symlinks_out(tmp_path: Path):
    raw = tmp_path / "raw"
    (raw / "sub" / "deeper").mkdir(parents=True)
    (raw / "a.txt").write_text("a")
    (raw / "sub" / "deeper" / "b.txt").write_text("b")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    (raw / "link_out.txt").symlink_to(outside)
    (raw / "link_in.txt").symlink_to(raw / "a.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.txt").write_text("c")
    (raw / "dirlink").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = [rel for rel, _ in scan_raw_files(raw)]
    assert found == ["a.txt", "dirlink", "link_in.txt", "link_out.txt", "sub/deeper/b.txt"]  # listed, not followed
    files = {f.source_path: f for f in iter_raw_files(raw)}
    assert files["link_in.txt"].text == "a"
    assert (files["link_out.txt"].reason, files["dirlink"].reason) == ("outside_raw_dir", "outside_raw_dir")
    assert files["link_out.txt"].text is None and "outside" not in (files["link_out.txt"].text or "")


def _reasons(raw: Path, **kw) -> dict:
    return {f.source_path: f.reason for f in iter_raw_files(raw, **kw)}


def test_every_odd_entry_gets_a_reason(tmp_path: Path):
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "ok.txt").write_text(" date 2021-07-28 ok")
    os.symlink("self", raw / "self")
    os.symlink("b", raw / "a")
    os.symlink("a", raw / "b")
    os.symlink("nowhere", raw / "dangling")
    os.symlink("sub", raw / "subdir_link")
    os.mkfifo(raw / "fifo")
    (raw / "big.txt").write_bytes(b"x" * 5000)
    assert _reasons(raw, max_bytes=4096) == {
        "ok.txt": None, "self": "symlink_loop", "a": "symlink_loop", "b": "symlink_loop",
        "dangling": "dangling_link", "subdir_link": "not_a_regular_file", "fifo": "not_a_regular_file",
        "big.txt": "too_large"}
    big = read_raw_file(raw / "big.txt", raw, "big.txt", max_bytes=4096)
    assert big.size_bytes == 5000 and "5000 bytes" in big.error and big.text is None
    assert fingerprint(raw) == fingerprint(raw)


def test_too_large_file_is_not_read(tmp_path: Path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "big.txt").write_bytes(b"x" * 3_000_000)
    monkeypatch.setenv("NEWSDAG_MAX_FILE_MB", "1")
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    assert _reasons(raw) == {"big.txt": "too_large"}
    assert not opened  # decided from the stat, nothing read


def test_file_growing_while_read_stops_at_the_limit(tmp_path: Path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "grows.txt").write_bytes(b"x" * 100)
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, n) or b"y" * n)  # never reaches the end
    f = read_raw_file(raw / "grows.txt", raw, "grows.txt", max_bytes=10_000)
    assert f.reason == "too_large" and f.size_bytes == 10_001 and "grew past" in f.error


def test_unreadable_directory_is_one_entry(tmp_path: Path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "locked" / "inner").mkdir(parents=True)
    (raw / "locked" / "inner" / "x.txt").write_text("x")
    (raw / "ok.txt").write_text("ok")
    real = os.scandir

    def scandir(path="."):
        if not isinstance(path, int) and os.fsdecode(path) == str(raw / "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files = {f.source_path: f for f in iter_raw_files(raw)}
    assert set(files) == {"locked", "ok.txt"}
    assert files["locked"].reason == "unreadable_directory" and "Permission denied" in files["locked"].error
    fingerprint(raw)


def test_deep_nesting_is_walked_without_recursion(tmp_path: Path):
    raw = tmp_path / "raw"
    path = raw
    for _ in range(1200):
        path = path / "d"
        path.mkdir(parents=True)
    (path / "x.txt").write_text("x")
    [(rel, _)] = scan_raw_files(raw)
    assert rel == "d/" * 1200 + "x.txt"
    subprocess.run(["rm", "-rf", str(raw)], check=True)


def test_non_utf8_names_are_printable_lossless_and_unique(tmp_path: Path):
    raw = tmp_path / "raw"
    raw.mkdir()
    names = [b"caf\xe9.txt", "cafe\u0301.txt".encode(), "café.txt".encode(), b"caf\\xe9.txt", b"tab\there.txt"]
    for name in names:
        with open(os.path.join(os.fsencode(raw), name), "wb") as f:
            f.write(b"x")
    rels = [rel for rel, _ in scan_raw_files(raw)]
    assert len(set(rels)) == len(names)
    assert all(rel.isprintable() for rel in rels)
    assert "caf\\xe9.txt" in rels and "café.txt" in rels and "tab\\x09here.txt" in rels
    for rel in rels:  # lossless: the escapes decode back to the name's bytes
        assert unescape(rel) in names
        rel.encode("utf-8")


def unescape(rel: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(rel):
        if rel.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif rel.startswith("\\x", i):
            out.append(int(rel[i + 2:i + 4], 16))
            i += 4
        else:
            out += rel[i].encode()
            i += 1
    return bytes(out)


@given(st.lists(st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b
                                                           and b not in (b".", b"..")), unique=True, max_size=8))
@hsettings(max_examples=30, deadline=None)
def test_printable_name_is_injective(names):
    printed = [printable_name(os.fsdecode(n)) for n in names]
    assert len(set(printed)) == len(names)
    assert all(p.isprintable() for p in printed)
    assert [unescape(p) for p in printed] == names


def test_warehouse_own_files_inside_the_raw_dir_are_skipped(tmp_path: Path):
    raw = tmp_path / "raw"
    (raw / ".newsdag").mkdir(parents=True)
    (raw / ".newsdag" / "news.duckdb.work.duckdb").write_bytes(b"w")
    for name in ["news.duckdb", "news.duckdb.wal", ".news.duckdb.123.tmp", "a.txt"]:
        (raw / name).write_bytes(b"x")
    assert [rel for rel, _ in scan_raw_files(raw)] == ["a.txt"]
    (tmp_path / "other" / ".newsdag").mkdir(parents=True)  # someone else's .newsdag is raw input like any other
    (tmp_path / "other" / ".newsdag" / "notes.txt").write_text("n")
    assert [rel for rel, _ in scan_raw_files(tmp_path / "other")] == [".newsdag/notes.txt"]


def test_empty_raw_dir_warns(tmp_path: Path, caplog):
    (tmp_path / "raw").mkdir()
    assert scan_raw_files(tmp_path / "raw") == []
    assert "holds no files" in caplog.text


def test_raw_file_records_hash_and_error(tmp_path: Path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.txt").write_bytes(b"\x00\x01")
    (raw / "good.txt").write_bytes(b" date 2021-07-28 ok")
    files = {f.source_path: f for f in iter_raw_files(raw)}
    assert files["bad.txt"].text is None and "NUL" in files["bad.txt"].error
    assert files["good.txt"].text == " date 2021-07-28 ok" and files["good.txt"].error is None
    assert len(files["good.txt"].content_hash) == 64


def test_missing_raw_dir_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="raw directory not found"):
        scan_raw_files(tmp_path / "nope")
