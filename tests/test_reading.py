from pathlib import Path

import pytest

from newsdag.reading import Undecodable, decode, iter_raw_files, scan_raw_files


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
    assert found == ["a.txt", "link_in.txt", "sub/deeper/b.txt"]
    assert [(rel, Path(path)) for rel, path in scan_raw_files(raw)] == [
        (rel, raw / rel) for rel in ["a.txt", "link_in.txt", "sub/deeper/b.txt"]]


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
