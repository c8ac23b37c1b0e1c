"""Tests for newsdag.dedup (near-duplicate detection)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash

from newsdag import dedup
from newsdag.dedup import find_duplicates

SAMPLE = Path(__file__).resolve().parent.parent / "newsdag" / "sample"
HEADER = re.compile(r"^ date (\d{4}-\d{2}-\d{2}) ")
CHROME_001 = {"ugc_banner", "WION Web Team", "main img", "Photograph:(Reuters)", "Story highlights"}


def sample_body(prefix: str) -> str:
    path = next(SAMPLE.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    m = HEADER.match(text)
    if m:
        return text[m.end():]
    # 001: scraped page; drop the obvious chrome lines, keep the title and the highlights paragraph
    lines = [ln for ln in text.splitlines()
             if ln.strip() not in CHROME_001 and not ln.startswith("Afghanistan Updated:")]
    return "\n".join(lines)


def frame(rows) -> pd.DataFrame:
    """rows: (article_id, source_path, date 'YYYY-MM-DD', body)."""
    return pd.DataFrame({
        "article_id": [r[0] for r in rows],
        "source_path": [r[1] for r in rows],
        "published_date": [dt.date.fromisoformat(r[2]) for r in rows],
        "body": [r[3] for r in rows],
    })


def as_map(out: pd.DataFrame) -> dict[str, str]:
    return dict(zip(out["article_id"], out["duplicate_of"]))


STORY = (
    "The European Commission on Tuesday proposed new rules for the shipping industry that would "
    "require operators to report emissions from every vessel calling at a port in the bloc. "
    "Officials said the plan, drafted after two years of consultation with shipowners, ports and "
    "environmental groups, would be phased in gradually and would apply first to the largest ships. "
    "Shipping associations in Greece and Denmark said they broadly welcomed the proposal but warned "
    "that the reporting burden on smaller companies could be heavy. Environmental campaigners said "
    "the measures did not go far enough and called for a binding cap. The proposal now goes to the "
    "member states and the European Parliament, where a first debate is expected before the summer "
    "recess. A spokesman for the commission said it was confident of broad support among governments."
)

OTHER = (
    "Farmers in the south of the country have started harvesting an unusually early wheat crop after "
    "weeks of hot and dry weather, agricultural officials said. Yields were expected to be lower than "
    "last season in the most affected provinces, although quality was described as good. Traders "
    "said export prices had firmed on the news and several buyers in North Africa had enquired about "
    "cargoes for shipment next month. The agriculture ministry said it would publish its first "
    "official estimate of the harvest at the end of the month and promised support for growers hit "
    "by the drought, including deferred loan repayments and subsidised feed for livestock."
)


# ----------------------------------------------------------------------------- pieces
def test_signature_matches_datasketch_and_reloads():
    body = "The quick brown fox jumps over the lazy dog 12 times, again and again."
    sig = dedup.signature(body)
    assert sig.dtype == np.uint32 and sig.shape == (128,)
    ref = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda h: h)
    ref.update_batch([int(h) & 0xFFFFFFFF for h in dedup.shingles(body)])
    assert np.array_equal(ref.hashvalues, sig)
    # stored hash values reload as a datasketch LeanMinHash usable with MinHashLSH
    lean = dedup.to_minhash(sig.tolist())
    assert lean.jaccard(dedup.to_minhash(sig)) == 1.0
    lsh = dedup.build_lsh(np.vstack([dedup.signature(STORY), dedup.signature(OTHER)]), keys=["a", "b"])
    assert lsh.query(dedup.to_minhash(dedup.signature(STORY.replace("Tuesday", "Monday")))) == ["a"]
    # batch and single signatures agree
    assert np.array_equal(dedup.signatures([body, STORY])[0], sig)


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (256, 12345)])
def test_permutations_are_datasketchs(num_perm, seed):
    """dedup generates datasketch's affine32 permutations itself (not importing datasketch saves ~0.5 s)."""
    a, b = dedup._permutations(num_perm, seed)
    ref_a, ref_b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert a.dtype == np.uint32 and np.array_equal(a, ref_a) and np.array_equal(b, ref_b)


def test_shingles_casefold_and_word_tokens():
    assert np.array_equal(dedup.shingles("Hello, WORLD  foo!"), dedup.shingles("hello world\nFOO"))
    assert len(dedup.shingles("")) == 0
    assert len(dedup.shingles("a b c d e", shingle_size=3)) == 3
    assert len(dedup.shingles("a b", shingle_size=3)) == 1  # short text: one shingle of all tokens


def test_figures_rule():
    a = "The Bank of England said it provided 120 mln stg assistance in the morning session."
    b = "The Bank of England said it provided 95 mln stg assistance in the morning session."
    c = "The Bank of England said that it provided 120 mln stg assistance in the morning session."
    assert dedup.figures_conflict(a, b)
    assert not dedup.figures_conflict(a, c)
    # numbers in extra text on one side only do not conflict
    assert not dedup.figures_conflict(a, a + " Dealers expect a 400 mln stg shortage tomorrow.")
    # number words and digit forms agree; dateline ignored
    assert not dedup.figures_conflict("LONDON, March 3 - Six ships were loading.",
                                      "LONDON, March 4 - 6 ships were loading.")


# ----------------------------------------------------------------------------- positives
def test_empty_and_no_duplicates_shape():
    out = find_duplicates(frame([("a", "p/a", "2021-01-01", STORY), ("b", "p/b", "2021-01-01", OTHER)]))
    assert list(out.columns) == ["article_id", "duplicate_of", "similarity"]
    assert len(out) == 0
    assert out["similarity"].dtype == np.float64
    assert len(find_duplicates(frame([("a", "p/a", "2021-01-01", STORY)]))) == 0


def test_exact_duplicate():
    out = find_duplicates(frame([
        ("b", "p/b", "2021-01-02", STORY),
        ("a", "p/a", "2021-01-02", STORY),
        ("c", "p/c", "2021-01-02", OTHER),
    ]))
    assert out.to_dict("records") == [{"article_id": "b", "duplicate_of": "a", "similarity": 1.0}]


def test_same_story_with_chrome_samples_000_001():
    b000, b001 = sample_body("000"), sample_body("001")
    assert b001.startswith("\nAmid fighting between Taliban") or "Story highlights" not in b001
    out = find_duplicates(frame([
        ("000", "sample/000.txt", "2021-07-28", b000),
        ("001", "sample/001.txt", "2021-07-28", b001),
        ("002", "sample/002.txt", "2021-07-28", sample_body("002")),
        ("003", "sample/003.txt", "2021-07-07", sample_body("003")),
    ]))
    assert as_map(out) == {"001": "000"}
    assert 0.75 <= out["similarity"].iloc[0] <= 1.0


def test_light_copy_edit():
    edited = (STORY.replace("proposed new rules", "unveiled new rules")
              .replace("broadly welcomed", "welcomed")
              .replace("campaigners said", "campaigners argued"))
    out = find_duplicates(frame([("orig", "p/1", "2021-03-01", STORY), ("edit", "p/2", "2021-03-01", edited),
                                 ("other", "p/3", "2021-03-01", OTHER)]))
    assert as_map(out) == {"edit": "orig"}
    assert 0.7 <= out["similarity"].iloc[0] < 1.0


def test_republished_on_later_day_canonical_is_earliest():
    out = find_duplicates(frame([
        ("z-first", "p/z", "2021-03-01", STORY),      # earliest date wins over smaller path / id
        ("a-later", "p/a", "2021-03-03", STORY + " Reuter"),
        ("m-mid", "p/m", "2021-03-02", STORY),
    ]))
    assert as_map(out) == {"a-later": "z-first", "m-mid": "z-first"}


def test_shortened_resend_containment():
    words = STORY.split()
    first_60 = " ".join(words[: int(len(words) * 0.6)])
    last_cut = STORY.rsplit(". ", 3)[0] + "."
    out = find_duplicates(frame([
        ("full", "p/1", "2021-03-01", STORY),
        ("short60", "p/2", "2021-03-01", first_60),
        ("cut", "p/3", "2021-03-02", last_cut),
        ("other", "p/4", "2021-03-01", OTHER),
    ]))
    assert as_map(out) == {"short60": "full", "cut": "full"}
    # Jaccard alone would fail: the 60% copy's Jaccard with the original is ~0.6
    sims = dict(zip(out["article_id"], out["similarity"]))
    assert sims["short60"] >= 0.8


def test_transitive_group_points_to_canonical():
    a = STORY
    b = STORY.replace("Tuesday", "Monday").replace("heavy", "considerable")
    c = b.replace("largest ships", "biggest vessels").replace("gradually", "over time")
    out = find_duplicates(frame([("c", "p/c", "2021-03-03", c), ("b", "p/b", "2021-03-02", b),
                                 ("a", "p/a", "2021-03-01", a)]))
    assert as_map(out) == {"b": "a", "c": "a"}


# ----------------------------------------------------------------------------- negatives
def test_different_stories_same_topic_002_003():
    out = find_duplicates(frame([
        ("002", "sample/002.txt", "2021-07-28", sample_body("002")),
        ("003", "sample/003.txt", "2021-07-07", sample_body("003")),
        ("004", "sample/004.txt", "2021-08-10", sample_body("004")),
    ]))
    assert len(out) == 0


BOE = ("LONDON, March {day} - The Bank of England said it provided the money market with {a} mln stg "
       "assistance in the morning session. This compares with the bank's estimate of a shortage in the "
       "system of around {s} mln stg which it earlier revised up from {s0} mln. The central bank bought "
       "bills outright comprising {b1} mln stg in band one at {r1} pct and {b2} mln stg in band two at "
       "{r2} pct. Dealers said conditions in the sterling money market were expected to remain tight "
       "for the rest of the day as banks continued to bring forward their end of period balances, and "
       "the central bank was likely to offer further help in the afternoon if needed.\nReuter\n")


def test_templated_daily_report_with_new_figures_not_merged():
    rng = np.random.default_rng(7)
    rows = []
    for day in range(2, 9):
        rows.append((f"boe-{day}", f"p/boe-{day}", f"1987-03-{day:02d}", BOE.format(
            day=day, a=int(rng.integers(50, 900)), s=int(rng.integers(100, 1500)),
            s0=int(rng.integers(100, 1500)), b1=int(rng.integers(10, 300)),
            b2=int(rng.integers(10, 300)), r1="10-7/8", r2="10-13/16")))
    # the wording is near-identical, so Jaccard alone would merge them: the figures rule must split
    j = dedup.verify_pair(dedup.shingles(rows[0][3]), dedup.shingles(rows[1][3]), [], []).jaccard
    assert j >= 0.7
    out = find_duplicates(frame(rows))
    assert len(out) == 0
    # ... while a copy-edited re-send of one of them (same figures) is a duplicate
    resend = rows[3][3].replace("said it provided", "said that it had provided")
    out = find_duplicates(frame(rows + [("boe-resend", "p/zz", "1987-03-05", resend)]))
    assert as_map(out) == {"boe-resend": "boe-5"}


def test_templated_report_single_new_figure_or_date():
    tpl = ("NEW YORK, March {d} - The Federal Reserve entered the U.S. Government securities market to "
           "arrange {amt} billion dlrs of customer repurchase agreements, a Fed spokesman said. Dealers "
           "said Federal funds were trading at {rate} pct when the Fed began its temporary and "
           "indirect supply of reserves to the banking system.\nReuter\n")
    out = find_duplicates(frame([
        ("fed-02", "p/02", "1987-03-02", tpl.format(d=2, amt="1.5", rate="6-3/16")),
        ("fed-03", "p/03", "1987-03-03", tpl.format(d=3, amt="1.5", rate="6-1/4")),   # new rate
        ("fed-09", "p/09", "1987-03-09", tpl.format(d=9, amt="two", rate="6-3/16")),  # new amount
        ("fed-20", "p/20", "1987-03-20", tpl.format(d=20, amt="1.5", rate="6-3/16")),  # new date only
    ]))
    assert len(out) == 0


# ----------------------------------------------------------------------------- determinism
def test_shuffled_input_same_output_and_path_tie_break():
    edited = STORY.replace("proposed new rules", "unveiled new rules")
    rows = [
        ("id-3", "src/b.txt", "2021-03-01", STORY),
        ("id-1", "src/c.txt", "2021-03-01", edited),
        ("id-2", "src/a.txt", "2021-03-01", STORY),   # same date: smallest source_path is canonical
        ("id-4", "src/d.txt", "2021-03-01", OTHER),
        ("id-5", "src/0.txt", "2021-03-02", OTHER + " Reuter"),  # later date loses despite path
    ]
    base = find_duplicates(frame(rows))
    assert as_map(base) == {"id-1": "id-2", "id-3": "id-2", "id-5": "id-4"}
    assert list(base["article_id"]) == sorted(base["article_id"])
    for seed in range(5):
        shuffled = frame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(find_duplicates(shuffled), base)


def test_accepts_pandas_datetimes():
    df = frame([("a", "p/a", "2021-03-02", STORY), ("b", "p/b", "2021-03-01", STORY)])
    df["published_date"] = pd.to_datetime(df["published_date"])
    assert as_map(find_duplicates(df)) == {"a": "b"}


# ----------------------------------------------------------------------------- real data
def test_reuters_identical_bodies_collapsed(tmp_path):
    from newsdag.reuters import extract_reuters, reuters_tarball

    assert reuters_tarball().exists(), f"Reuters corpus not found at {reuters_tarball()} (put ../shared beside the checkout)"
    rows = extract_reuters(tmp_path, limit=2000)
    recs = []
    for r in rows:
        text = (tmp_path / r["file"]).read_text(encoding="utf-8")
        m = HEADER.match(text)
        recs.append((r["file"], str(tmp_path / r["file"]), m.group(1) if m else r["date"],
                     text[m.end():] if m else text))
    df = frame(recs)
    out = find_duplicates(df)
    canon = as_map(out)
    by_sha: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_sha[r["sha1_body"]].append(r["file"])
    groups = [files for files in by_sha.values() if len(files) > 1]
    assert len(groups) >= 10  # the slice does contain identical-body groups
    for files in groups:
        assert len({canon.get(f, f) for f in files}) == 1, files
    # canonical rows are never themselves marked as duplicates
    assert not set(out["duplicate_of"]) & set(out["article_id"])
    assert out["similarity"].between(0.0, 1.0).all()
