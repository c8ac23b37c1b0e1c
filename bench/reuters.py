"""Extract a slice of the Reuters-21578 test corpus (read from ../shared, never committed)."""

from __future__ import annotations

import csv
import io
import os
import tarfile
from pathlib import Path

DEFAULT_TARBALL = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "reuters21578.tar.gz"


def reuters_tarball() -> Path:
    """Where the Reuters tarball is: $NEWSDAG_REUTERS_TARBALL or ../shared/corpus beside the checkout."""
    return Path(os.environ.get("NEWSDAG_REUTERS_TARBALL", DEFAULT_TARBALL))


def read_manifest(tarball: Path | None = None) -> list[dict[str, str]]:
    """The manifest rows (file, newid, date, type, bytes, sha1_body, title), in manifest order."""
    with tarfile.open(tarball or reuters_tarball()) as tar:
        member = tar.extractfile("reuters21578/manifest.csv")
        assert member is not None
        return list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))


def extract_reuters(dest: Path, limit: int | None = None, tarball: Path | None = None,
                    files: list[str] | None = None) -> list[dict[str, str]]:
    """Write the first `limit` articles of the manifest (or the named `files`) into `dest`; return their rows."""
    tarball = tarball or reuters_tarball()
    rows = read_manifest(tarball)
    if files is not None:
        wanted = set(files)
        rows = [r for r in rows if r["file"] in wanted]
    elif limit is not None:
        rows = rows[:limit]
    names = {f"reuters21578/raw/{r['file']}": r["file"] for r in rows}
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for member in tar:
            target = names.get(member.name)
            if target is None:
                continue
            data = tar.extractfile(member)
            assert data is not None
            (dest / target).write_bytes(data.read())
    return rows
