"""Tests for newsdag.dedup (near-duplicate detection)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
def shingles(body: str, shingle_size: int = dedup.DEFAULT_SHINGLE_SIZE) -> np.ndarray:
    return dedup.shingle_sets([body], shingle_size)[0]


def figures_conflict(a: str, b: str) -> bool:
    return dedup.compare_figures(dedup.figures(a), dedup.figures(b)).differ


def test_signatures_are_datasketch_minhash():
    """Our bulk MinHash gives datasketch's hash values (affine32, seed 1) for the low 32 bits of each shingle
    hash, so stored signatures can be loaded as datasketch LeanMinHash and queried with MinHashLSH."""
    datasketch = pytest.importorskip("datasketch")
    bodies = ["The quick brown fox jumps over the lazy dog 12 times, again and again.", STORY, OTHER, "", "two words"]
    sets = dedup.shingle_sets(bodies)
    sigs = dedup.signatures_from_shingles(sets)
    assert sigs.dtype == np.uint32 and sigs.shape == (len(bodies), 128)
    ref = datasketch.MinHash.bulk([s.astype(np.uint32).tolist() for s in sets], num_perm=128, seed=dedup.MINHASH_SEED,
                                  scheme=dedup.MINHASH_SCHEME, hashfunc=lambda h: h)
    assert np.array_equal(np.vstack([m.hashvalues for m in ref]), sigs)
    # batches give the same rows as single bodies
    assert np.array_equal(dedup.signatures_from_shingles(sets[1:2])[0], sigs[1])


def test_candidate_pairs_are_datasketch_lsh():
    datasketch = pytest.importorskip("datasketch")
    edited = STORY.replace("Tuesday", "Monday")
    bodies = [STORY, OTHER, edited, " ".join(STORY.split()[:60]), "", OTHER + " Reuter"]
    sigs = dedup.signatures_from_shingles(dedup.shingle_sets(bodies))
    b, r = dedup.lsh_params(128)
    lsh = datasketch.MinHashLSH(num_perm=128, params=(b, r))
    minhashes = [datasketch.LeanMinHash(seed=dedup.MINHASH_SEED, hashvalues=s, scheme=dedup.MINHASH_SCHEME) for s in sigs]
    for i, (m, body) in enumerate(zip(minhashes, bodies)):
        if body:
            lsh.insert(i, m)
    expected = sorted({(min(i, j), max(i, j)) for i, m in enumerate(minhashes) if bodies[i] for j in lsh.query(m) if j != i})
    assert dedup.candidate_pairs(sigs).tolist() == [list(p) for p in expected]
    assert [0, 2] in dedup.candidate_pairs(sigs).tolist()


def test_crowded_buckets_bounded():
    """Articles from a tiny vocabulary collide in huge buckets: each row keeps at most
    b * (MAX_BUCKET - 1) candidates, and identical signatures are paired within a window."""
    rng = np.random.default_rng(3)
    words = ["alpha", "beta", "gamma", "delta", "kabul", "met", "in", "on"]
    bodies = [" ".join(rng.choice(words, 40)) for _ in range(400)]
    sigs = dedup.signatures_from_shingles(dedup.shingle_sets(bodies))
    pairs = dedup.candidate_pairs(sigs, max_bucket=8)
    assert len(pairs) and (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    per_row = np.bincount(pairs.ravel(), minlength=len(bodies))
    assert per_row.max() <= 42 * 7
    assert len(pairs) < len(bodies) * (len(bodies) - 1) // 2 // 4
    # equal signatures everywhere: a window of max_bucket - 1 partners per row
    same = np.repeat(sigs[:1], 100, axis=0)
    pairs = dedup.candidate_pairs(same, max_bucket=8)
    assert np.bincount(pairs.ravel()).max() <= 2 * 7 and len(pairs) == sum(min(7, 99 - i) for i in range(100))
    # without crowding (large max_bucket) every pair of a bucket is a candidate
    assert len(dedup.candidate_pairs(same, max_bucket=100)) == 100 * 99 // 2


def test_worth_verifying_keeps_duplicates_and_containment():
    short = " ".join(STORY.split()[: len(STORY.split()) // 2])
    bodies = [STORY, STORY.replace("Tuesday", "Monday"), short, OTHER]
    sets = dedup.shingle_sets(bodies)
    sigs = dedup.signatures_from_shingles(sets)
    sizes = np.array([len(s) for s in sets])
    pairs = np.array([[0, 1], [0, 2], [0, 3]])
    assert dedup.worth_verifying(pairs, sigs, sizes).tolist() == [True, True, False]


def test_shingles_casefold_and_word_tokens():
    assert np.array_equal(shingles("Hello, WORLD  foo!"), shingles("hello world\nFOO"))
    assert len(shingles("")) == 0
    assert len(shingles("a b c d e", shingle_size=3)) == 3
    assert len(shingles("a b", shingle_size=3)) == 1  # short text: one shingle of all tokens


def test_figures_rule():
    a = "The Bank of England said it provided 120 mln stg assistance in the morning session."
    b = "The Bank of England said it provided 95 mln stg assistance in the morning session."
    c = "The Bank of England said that it provided 120 mln stg assistance in the morning session."
    assert figures_conflict(a, b)
    assert not figures_conflict(a, c)
    # numbers in extra text on one side only do not conflict
    assert not figures_conflict(a, a + " Dealers expect a 400 mln stg shortage tomorrow.")
    # number words and digit forms agree; dateline ignored
    assert not figures_conflict("LONDON, March 3 - Six ships were loading.",
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
    # 001 as compared: the scraped page's headline, then its text, without the chrome lines around them
    assert [ln for ln in b001.splitlines() if ln.strip()][:2] == [
        "Amid fighting between Taliban and Afghan troops, Russia to bolster Tajikistan's military",
        "Amid heavy fighting in Afghanistan between Afghan troops and the Taliban, Russia said it will equip the "
        "Tajikistan military and conduct military exercise along with Uzbekistan next week"]
    assert not {ln.strip() for ln in b001.splitlines()} & CHROME_001
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
    j = dedup.verify_pair(shingles(rows[0][3]), shingles(rows[1][3]), [], []).jaccard
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
@pytest.mark.corpus
@pytest.mark.slow
def test_reuters_identical_bodies_collapsed(tmp_path):
    from bench.reuters import extract_reuters, reuters_tarball

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
    sims = dict(zip(out["article_id"], out["similarity"]))
    for files in groups:
        assert len({canon.get(f, f) for f in files}) == 1, files
        # identical bodies: one canonical article, the others its duplicates with similarity 1
        assert sum(f not in canon for f in files) == 1 and all(sims[f] == 1.0 for f in files if f in canon), files
    # canonical rows are never themselves marked as duplicates
    assert not set(out["duplicate_of"]) & set(out["article_id"])
    assert out["similarity"].between(0.0, 1.0).all()
