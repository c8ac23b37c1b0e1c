"""Map spaCy NER mentions to canonical actors (pure pandas, no Dagster).

One actor per real person, organisation and country, the same on every day.  Two entry points:

* :func:`full_names` -- the names one day's mentions know (person name keys, organisation names with
  the articles naming them).  It is additive: the pipeline sums it over the days ``d-30 .. d+30``
  (:data:`WINDOW_DAYS`) with :func:`sum_names` (or passes the days' rows concatenated).
* :func:`resolve_actors` ``(mentions, aliases, known=window)`` -- the actor of every mention of one
  day, given that window.  ``known=None`` uses the mentions' own names (one call on a whole corpus).
  A day's result depends only on its mentions and the window, never on which days one run builds.

Rules, in the order they are applied (each distinct (text, label) is analysed once):

1. **Folding** (:func:`fold`): NFKC, curly quotes made straight, casefold, possessive ``'s`` / ``s'``
   dropped, periods and apostrophes removed (``U.S.`` -> ``us``), any other punctuation becomes a
   space, whitespace collapsed, leading ``the`` dropped (``the the Soviet Union`` -> ``soviet union``).
   The folded string is the alias key.
2. **Aliases** win over every automatic rule.  The table (:func:`load_aliases`) is, from lowest to
   highest precedence: the countries of :mod:`newsdag.countries` (ISO 3166-1 names, alternative
   spellings and demonyms from pycountry/countryinfo, each with its alpha-3 code),
   ``newsdag/aliases.csv``, then ``$NEWSDAG_ALIASES``.  A mention whose key is an alias takes the
   alias' actor, type and code whatever its NER label (``Chinese`` NORP -> ``China``/place/``CHN``).
   The alias key is tried on the whole mention, again after titles and leading words are stripped
   (rule 5), and on the final resolved name, so an alias row can both merge and *split*: a row
   ``Baker,Baker,person`` keeps ``Baker`` from being resolved to a full name, ``Jim Baker,Jim Baker,
   person`` keeps Jim Baker from merging into James Baker.  Rows of type ``ignore`` drop the mention.
3. **Compounds**: a mention that is no alias but whose parts around ``-`` or ``/`` all are
   (``U.S.-Soviet``, ``U.S./Soviet``, ``Iran-Iraq``) yields one output row per part (same span).
4. **Not a name**: a mention with no capital letter (``kingdom``, ``minister``) is dropped.
5. **Person name forms** (PERSON mentions), in this order, on the *name key* -- folded tokens that
   keep in-word hyphens and apostrophes (``robin leigh-pemberton``, ``o'brien``):
   a. leading ``the``, titles (:data:`TITLES`) and a leading alias (country, demonym, organisation) in
      front of a name of two or more words are stripped, repeatedly (``Chinese Foreign Minister Wang
      Yi``, ``Belgian Willy de Clercq``, ``Mr. Reagan``);
   b. single-letter initials other than the last word and a trailing ``Jr``/``Sr`` are dropped
      (``Carl C. Icahn`` = ``Carl Icahn``, ``Paul A Volcker`` = ``Paul Volcker``);
   c. case does not matter (``Willy De Clercq`` = ``Willy de Clercq``).
   Then, with the window (the names of the days around, see :func:`full_names`):
   d. **spelling**: names equal once accents, apostrophes, hyphens and particles (:data:`PARTICLES`,
      after the first word) are ignored are one name; the spelling with the most hyphens/apostrophes/
      accents, then the most words, then the alphabetically first wins (``Robin Leigh Pemberton`` ->
      ``Robin Leigh-Pemberton``, ``Richard Weizsaecker`` -> ``Richard von Weizsaecker``);
   e. **leading words** before a person the window knows (a full name, or one word named alone in two
      or more articles or as the surname of a full name) are stripped when the first is no given name
      and either every stripped word is an *organisation word* -- a word of the window's organisation
      names in two or more articles, more often than it starts a person's name -- or a connector
      (``and``, ``of``: :data:`CONNECTORS`): ``Bank of England Robin Leigh-Pemberton``, ``Trade and
      Industry Jose Concepcion``, ``Energy Subroto``; or what follows is a full name the window names at
      least as often and the first word starts no other name except in front of known full names
      (``Agriculture Richard Lyng``, the typo ``Minsiter Kiichi Miyazawa``).  *Given names* are the
      names of the nickname table (``newsdag/nicknames.csv``);
   f. **nicknames** (the nickname table + ``$NEWSDAG_NICKNAMES``): ``Jim Baker`` -> ``James Baker`` when
      the window knows exactly one full name made of a formal form of the first name and the same rest,
      named at least as often as the nickname form; so a person known (mostly) by a nickname keeps it
      (``Jim Wright``).
6. **Short names within an article** (PERSON): a person key whose words are an ordered subsequence of
   exactly one longer ("maximal") person name in the same article becomes that name
   (``Baradar`` -> ``Mullah Abdul Ghani Baradar``).  A one-word ORG mention equal to the first or last
   word of exactly one person full name in the same article becomes that person (spaCy tagging
   ``Wang`` as ORG next to ``Wang Yi``).  Names ending in a company suffix (Inc, Corp, SA...:
   :data:`CORPORATE_SUFFIXES`) are spaCy mislabels and never absorb short names.
   **ORG spans that are persons** (spaCy mislabels), with the window: an ORG name the window knows as a
   person's full name in more articles than as an organisation (``Paul Volcker``), organisation words in
   front of a known full name (``Agriculture Richard Lyng`` tagged ORG), and -- when its article did not
   resolve it -- one word that resolves like a surname (rule 7) to a person the window names in more
   articles than it names that word as an organisation (``Volcker``; not ``Ford``) become that person.
7. **Short names across the window** (PERSON, no candidate in the article): a surname or any ending of a
   name (``Reagan``, ``Perez de Cuellar``) whose first word is not a given name becomes the full name
   the window knows ending with those words -- a name of several words only a longer name named in more
   articles: the only maximal candidate, or the one named in two or more articles and in at least
   :data:`DOMINANCE` times as many articles as all others together (``Reagan`` -> ``Ronald Reagan``
   beside rarer Nancy and Bill Reagans).  Otherwise it stays as is (``Baker`` while James and Howard Baker
   are both named often).  A possible *stray* -- a two-word name from one article whose first word is no
   given name and starts no other known name -- does not compete with other candidates, and becomes the
   person its surname resolves to when the window names that person in at least
   :data:`STRAY_TARGET_ARTICLES` articles (the wire typo ``Athough Reagan`` -> ``Ronald Reagan``).
8. **Acronyms** (ORG): a one-word all-capitals ORG mention of 2-6 letters becomes the organisation name
   of the window whose content words' initials spell it (``SEC`` -> ``Securities and Exchange
   Commission``), chosen as in rule 7 (``EC`` stays when both European Community and European
   Commission are named).
9. **Type** when no alias matched: PERSON->person, ORG->organization, GPE->place, NORP->group,
   any other label -> the label lower-cased.  **Code**: ``actor_code`` is the ISO 3166-1 alpha-3 code
   of a country actor (historical states keep theirs: ``SUN``, ``DDR``, ``YUG``; from the country data
   or the alias file's 4th column), None otherwise.
10. **Display name**, by fixed rules so one actor has one name on every day, whatever its window:
    the alias target as written; for a person, from the name key: each word capitalised, particles
    (:data:`PARTICLES`) lower-case except first, ``Mc``/``O'`` capitalised, roman numerals upper-case
    (``Willy de Clercq``, ``Robin Leigh-Pemberton``, ``Carl Icahn``); otherwise the best surface form
    of the key in the day and the window: a mixed-case form before an all-capitals or all-lower one,
    then the one with more capitals, then the alphabetically first (an all-capitals form of more than
    five letters, e.g. a dateline ``NEW YORK``, is shown title-cased).
11. Mentions whose key is blank (``'s``, ``The``, a bare title such as ``Mr.``) are dropped, so
    ``actor`` is never blank.

An actor is identified by ``(actor, actor_type)``: for non-alias actors the type follows the label,
so ``Taliban`` as ORG and as NORP keep their types (organization / group).
"""

from __future__ import annotations

import csv
import functools
import os
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from newsdag.text import APOSTROPHES

__all__ = [
    "AliasTable",
    "DEFAULT_ALIASES",
    "DEFAULT_NICKNAMES",
    "DOMINANCE",
    "LABEL_TYPES",
    "NAME_COLUMNS",
    "PARTICLES",
    "TITLES",
    "WINDOW_DAYS",
    "combine_names",
    "fold",
    "full_names",
    "load_aliases",
    "person_display",
    "resolve_actors",
    "sum_names",
]

DEFAULT_ALIASES = Path(__file__).resolve().parent / "aliases.csv"
DEFAULT_NICKNAMES = Path(__file__).resolve().parent / "nicknames.csv"
ALIASES_ENV = "NEWSDAG_ALIASES"
NICKNAMES_ENV = "NEWSDAG_NICKNAMES"

#: Days on each side of a day whose names resolve its short names (the pipeline's window).
WINDOW_DAYS = 30
#: A short name goes to the candidate named in this many times as many articles as all others together.
DOMINANCE = 2

#: A possible stray ('Athough Reagan') becomes the name its surname resolves to only when the window
#: names that person in at least this many articles.
STRAY_TARGET_ARTICLES = 5

#: NER label -> actor_type when no alias matched; other labels are lower-cased.
LABEL_TYPES: Mapping[str, str] = MappingProxyType(
    {"PERSON": "person", "ORG": "organization", "GPE": "place", "NORP": "group"}
)

#: actor_type of alias rows whose mentions are not actors at all (NER noise such as "cts", "Revs"):
#: such mentions are dropped.
IGNORE = "ignore"

#: actor_type values accepted in alias files.
ALIAS_TYPES = frozenset(
    {"person", "organization", "place", "group", IGNORE}
    | {"fac", "loc", "event", "product", "law", "work_of_art", "language"}
)

#: Output columns added by resolve_actors.
OUTPUT_COLUMNS = ("actor", "actor_type", "actor_code")
#: Columns of full_names / sum_names frames.
NAME_COLUMNS = ("kind", "name", "articles", "form")

#: Titles stripped from the front of PERSON mentions (matched on folded tokens, longest first).
#: Deliberately absent: Mullah, Sheikh, Ayatollah, Imam, King, Queen, Prince, Pope, Lord - they are
#: part of how these people are named ("Mullah Abdul Ghani Baradar", "King Hussein").
TITLES: tuple[str, ...] = (
    "president", "vice president", "president elect", "former president",
    "prime minister", "deputy prime minister", "premier", "chancellor",
    "foreign minister", "deputy foreign minister", "defence minister", "defense minister",
    "finance minister", "interior minister", "trade minister", "oil minister", "minister",
    "secretary of state", "us secretary of state", "secretary general", "secretary",
    "treasury secretary", "defense secretary", "defence secretary", "commerce secretary",
    "foreign secretary", "home secretary", "state secretary", "agriculture secretary",
    "energy secretary", "labor secretary", "attorney general", "treasurer",
    "white house chief of staff", "chief of staff", "spokesman", "spokeswoman",
    "ambassador", "envoy", "special envoy", "chairman", "chairwoman", "governor", "gov",
    "senator", "sen", "representative", "rep", "congressman", "congresswoman", "speaker",
    "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "sir",
    "general", "gen", "lieutenant general", "lt gen", "major general", "maj gen", "brigadier",
    "colonel", "col", "lt col", "captain", "capt", "admiral", "adm", "commander", "marshal",
    "judge", "justice", "chief justice",
)
#: Last tokens that mark a PERSON-labelled "full name" as really a company (spaCy mislabels);
#: such names never absorb short names.
CORPORATE_SUFFIXES = frozenset(
    "inc corp corporation co cos ltd plc sa ag nv bv gmbh llc lp spa ab as oy kk group holdings bank".split()
)
#: Name particles shown lower-case when not the first word of a person's name.
PARTICLES = frozenset(
    "de del della der den di da do dos das du des la le van von vom zu ter ten y e bin ibn al el".split()
)
#: Trailing words dropped from person names.
NAME_SUFFIXES = frozenset({"jr", "sr"})
#: Words that join the words of an organisation name or of a role ("Trade and Industry"); not content
#: words for acronyms.
CONNECTORS = frozenset({"of", "and", "for", "the", "on", "in", "at", "to", "de", "du", "des", "la", "le", "et", "y"})
_ROMAN = re.compile(r"^(?:ii|iii|iv|vi|vii|viii|ix)$")

_TITLE_TOKENS = sorted({tuple(t.split()) for t in TITLES}, key=len, reverse=True)

_POSSESSIVE = re.compile(r"'s\b|(?<=s)'(?=\s|$)")
_DROP = re.compile(r"[.'\u00ad]")  # removed without a space: U.S. -> us, O'Brien -> obrien
_NON_WORD = re.compile(r"[\W_]+")
_NAME_DROP = re.compile(r"[.\u00ad]")
_NAME_SPLIT = re.compile(r"[^\w'\-]+|_+")
_EDGE_PUNCT = "\"'()[]{}<>,;:!?*|/\\-\u201c\u201d\u2018\u2019\u00ab\u00bb "
_DISPLAY_POSSESSIVE = re.compile(r"(?:['\u2019]s|(?<=s)['\u2019])$")
_COMPOUND_SPLIT = re.compile(r"\s*[/\u2013-]\s*")


def fold(text: str) -> str:
    """Matching key: casefold, strip punctuation, drop a leading 'the' and possessives, collapse spaces."""
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).translate(APOSTROPHES).casefold()
    s = _POSSESSIVE.sub("", s)
    s = _DROP.sub("", s)
    s = _NON_WORD.sub(" ", s).strip()
    while s.startswith("the "):  # "the the Soviet Union" (a wire typo) too
        s = s[4:]
    return "" if s == "the" else s


_fold = functools.lru_cache(maxsize=500_000)(lambda text: fold(text))


@functools.lru_cache(maxsize=500_000)
def _initials(name: str) -> str:
    """Initials of an organisation name's content words ('' when fewer than two)."""
    content = [t for t in name.split() if t not in CONNECTORS]
    return "".join(t[0] for t in content) if len(content) >= 2 else ""


@functools.lru_cache(maxsize=500_000)
def _flat(key: str) -> str:
    """A name key with accents, apostrophes, hyphens and particles (after the first word) ignored:
    spelling variants share it ('Richard Weizsaecker' = 'Richard von Weizsaecker')."""
    s = unicodedata.normalize("NFKD", key)
    s = "".join(c for c in s if not unicodedata.combining(c))
    words = s.replace("'", "").replace("-", " ").split()
    return " ".join(w for i, w in enumerate(words) if i == 0 or w not in PARTICLES)


@functools.lru_cache(maxsize=500_000)
def _spelling_rank(key: str) -> tuple:
    """Which spelling of one name wins: more hyphens/apostrophes/accents, more words, then alphabetical."""
    return (-_marks(key), -key.count(" "), key)


@functools.lru_cache(maxsize=500_000)
def _marks(key: str) -> int:
    return key.count("-") + key.count("'") + sum(1 for c in unicodedata.normalize("NFKD", key) if unicodedata.combining(c))


# --------------------------------------------------------------------------------------------
# Alias table


@dataclass(frozen=True)
class AliasTable:
    """Folded alias -> (actor, actor_type).  ``sources`` lists the files loaded, in order.

    ``codes``: actor -> ISO 3166 alpha-3 code (country actors).  ``nicknames``: folded nickname ->
    folded formal first names (``jim`` -> {``james``}).
    """

    entries: Mapping[str, tuple[str, str]] = field(hash=False, compare=True)
    sources: tuple[str, ...] = ()
    codes: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    nicknames: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        for name in ("entries", "codes", "nicknames"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        given = set(self.nicknames)
        for formal in self.nicknames.values():
            given.update(formal)
        object.__setattr__(self, "_given", frozenset(given))
        object.__setattr__(self, "_prefix_keys", frozenset(
            k for k, (_, typ) in self.entries.items() if typ in ("place", "organization", "group")))
        object.__setattr__(self, "_analyses", {})  # (text, label) -> _Analysis, shared by every call

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and fold(text) in self.entries

    def lookup(self, text: str) -> tuple[str, str] | None:
        """(actor, actor_type) for a mention text (folded here), or None."""
        return self.entries.get(fold(text))

    def code(self, actor: str) -> str | None:
        """The ISO 3166 alpha-3 code of a country actor, else None."""
        return self.codes.get(actor)

    @property
    def given_names(self) -> frozenset[str]:
        """Every first name of the nickname table (nicknames and formal forms), folded."""
        return self._given  # type: ignore[attr-defined]

    @property
    def actor_types(self) -> dict[str, str]:
        """Canonical actor -> actor_type."""
        return {actor: typ for actor, typ in self.entries.values()}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple], source: str = "<rows>", *, countries: bool = False,
                  nicknames: Mapping[str, Iterable[str]] | None = None) -> "AliasTable":
        """Build a table from (alias, actor, actor_type[, actor_code]) rows (for tests and programmatic
        use); ``countries=True`` puts the country data under them, ``nicknames`` maps nickname -> formal names."""
        entries: dict[str, tuple[str, str]] = {}
        codes: dict[str, str] = {}
        if countries:
            _add_countries(entries, codes)
        file_codes: dict[str, str] = {}
        _add_rows(entries, file_codes, [(i, r) for i, r in enumerate(rows, 1)], source, width=4)
        _settle_codes(entries, codes, file_codes)
        nick = {fold(k): frozenset(fold(v) for v in vs) for k, vs in (nicknames or {}).items()}
        return cls(entries, (source,), codes, nick)


def _add_countries(entries: dict[str, tuple[str, str]], codes: dict[str, str]) -> None:
    from newsdag.countries import country_aliases

    for row in country_aliases():
        key = fold(row.alias)
        if key:
            entries[key] = (row.actor, "place")
            codes[row.actor] = row.code


def _settle_codes(entries: Mapping[str, tuple[str, str]], codes: dict[str, str], file_codes: Mapping[str, str]) -> None:
    """Codes given in alias files override; an alias-file actor named like a country gets its code."""
    codes.update(file_codes)
    names = None
    for actor, typ in set(entries.values()):
        if typ == "place" and actor not in codes:
            if names is None:
                from newsdag.countries import country_names

                names = country_names()
            if actor in names:
                codes[actor] = names[actor]


def _add_rows(entries: dict[str, tuple[str, str]], codes: dict[str, str], rows: list[tuple[int, list[str] | tuple]],
              source: str, width: int = 3) -> None:
    """Validate rows of one source and add them to `entries` (overriding earlier sources); codes of
    the rows' actors go to `codes`."""
    local: dict[str, tuple[str, str, int]] = {}
    actor_type: dict[str, tuple[str, int]] = {}
    actor_code: dict[str, tuple[str, int]] = {}
    for lineno, row in rows:
        where = f"{source}, line {lineno}"
        if width == 3 and len(row) != 3:
            raise ValueError(f"{where}: expected 3 fields alias,actor,actor_type, got {len(row)}: {list(row)!r}")
        if len(row) not in (3, 4):
            raise ValueError(f"{where}: expected 3 or 4 fields alias,actor,actor_type[,actor_code], got {len(row)}: {list(row)!r}")
        alias, actor, typ = (str(v).strip() for v in row[:3])
        code = str(row[3]).strip() if len(row) == 4 and row[3] is not None else ""
        if not alias or not actor or not typ:
            raise ValueError(f"{where}: empty field in {list(row)!r} (alias, actor and actor_type are required)")
        if typ not in ALIAS_TYPES:
            raise ValueError(f"{where}: unknown actor_type {typ!r}; use one of {sorted(ALIAS_TYPES)}")
        if code:
            from newsdag.countries import is_known_code

            if typ != "place":
                raise ValueError(f"{where}: actor_code {code!r} given for a {typ!r}; only countries (place) have codes")
            if not re.fullmatch(r"[A-Z]{3}", code) or not is_known_code(code):
                raise ValueError(f"{where}: actor_code {code!r} is no ISO 3166-1 alpha-3 code (nor ISO 3166-3, nor user-assigned)")
            prev_c = actor_code.get(actor)
            if prev_c and prev_c[0] != code:
                raise ValueError(f"{where}: actor {actor!r} has actor_code {code!r} but {prev_c[0]!r} on line {prev_c[1]}")
            actor_code.setdefault(actor, (code, lineno))
        key, akey = fold(alias), fold(actor)
        if not key:
            raise ValueError(f"{where}: alias {alias!r} is blank after folding")
        if not akey and typ != IGNORE:
            raise ValueError(f"{where}: actor {actor!r} is blank after folding")
        prev_t = actor_type.get(actor)
        if prev_t and prev_t[0] != typ:
            raise ValueError(f"{where}: actor {actor!r} has actor_type {typ!r} but {prev_t[0]!r} on line {prev_t[1]}")
        actor_type.setdefault(actor, (typ, lineno))
        prev = local.get(key)
        if prev and prev[:2] != (actor, typ):
            raise ValueError(
                f"{where}: alias {alias!r} maps to {actor!r}/{typ} but already to {prev[0]!r}/{prev[1]} on line {prev[2]}"
            )
        local.setdefault(key, (actor, typ, lineno))
    # every actor is an alias of itself (unless the file says otherwise)
    for actor, (typ, lineno) in actor_type.items():
        if typ != IGNORE:
            local.setdefault(fold(actor), (actor, typ, lineno))
    for key, (actor, typ, _) in local.items():
        entries[key] = (actor, typ)
    for actor, (code, _) in actor_code.items():
        codes[actor] = code


def _read_csv_file(path: Path, headers: tuple[tuple[str, ...], ...], what: str) -> tuple[tuple[str, ...], list[tuple[int, list[str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read {what} file {path}: {exc}") from exc
    rows: list[tuple[int, list[str]]] = []
    header: tuple[str, ...] | None = None
    expected = " or ".join(repr(",".join(h)) for h in headers)
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            raise ValueError(f"{path}, line {lineno}: malformed CSV ({exc}): {line!r}") from exc
        if header is None:
            got = tuple(f.strip().lower() for f in fields)
            if got not in headers:
                raise ValueError(f"{path}, line {lineno}: expected header {expected}, got {line!r}")
            header = got
            continue
        rows.append((lineno, fields))
    if header is None:
        raise ValueError(f"{path}: no header line {expected}")
    return header, rows


_ALIAS_HEADERS = (("alias", "actor", "actor_type"), ("alias", "actor", "actor_type", "actor_code"))


def _read_alias_file(path: Path) -> tuple[int, list[tuple[int, list[str]]]]:
    header, rows = _read_csv_file(path, _ALIAS_HEADERS, "alias")
    return len(header), rows


def load_nicknames(paths: Iterable[str | os.PathLike]) -> dict[str, frozenset[str]]:
    """Read nickname files (header ``nickname,name``; ``#`` comments): folded nickname -> formal names."""
    table: dict[str, set[str]] = defaultdict(set)
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ValueError(f"nickname file {path} does not exist")
        _, rows = _read_csv_file(path, (("nickname", "name"),), "nickname")
        for lineno, row in rows:
            if len(row) != 2 or not fold(row[0]) or not fold(row[1]):
                raise ValueError(f"{path}, line {lineno}: expected 2 non-blank fields nickname,name, got {row!r}")
            nick, formal = fold(row[0]), fold(row[1])
            if " " in nick or " " in formal:
                raise ValueError(f"{path}, line {lineno}: nickname and name must be single first names, got {row!r}")
            if nick != formal:
                table[nick].add(formal)
    return {k: frozenset(v) for k, v in table.items()}


def load_aliases(path: str | os.PathLike | None = None, *, include_defaults: bool = True, countries: bool = True,
                 nicknames: str | os.PathLike | None = None) -> AliasTable:
    """Load the alias table.

    Precedence, lowest first: the country data of :mod:`newsdag.countries` (unless ``countries=False``),
    the packaged ``newsdag/aliases.csv`` (unless ``include_defaults=False``), then ``path`` -- or when
    ``path`` is None the file named by ``$NEWSDAG_ALIASES`` if set: it extends the defaults and overrides
    any alias it repeats.  Alias files have the header ``alias,actor,actor_type`` or
    ``alias,actor,actor_type,actor_code``.  The nickname table is the packaged ``newsdag/nicknames.csv``
    (with the defaults) plus ``nicknames`` or ``$NEWSDAG_NICKNAMES``.
    Malformed files raise ValueError naming the file and line.
    """
    if path is None:
        env = os.environ.get(ALIASES_ENV, "").strip()
        path = env or None
    files: list[Path] = []
    if include_defaults:
        files.append(DEFAULT_ALIASES)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"alias file {p} does not exist" + (f" (from ${ALIASES_ENV})" if path == os.environ.get(ALIASES_ENV) else ""))
        if not files or p.resolve() != files[0].resolve():
            files.append(p)
    entries: dict[str, tuple[str, str]] = {}
    codes: dict[str, str] = {}
    if countries:
        _add_countries(entries, codes)
    file_entries: dict[str, tuple[str, str]] = {}
    file_codes: dict[str, str] = {}
    for f in files:
        width, rows = _read_alias_file(f)
        _add_rows(file_entries, file_codes, rows, str(f), width)
    # an actor must keep one type (and one code) across files
    types: dict[str, str] = {}
    for actor, typ in file_entries.values():
        if types.setdefault(actor, typ) != typ:
            raise ValueError(
                f"{files[-1]}: actor {actor!r} ends up with two actor_types ({types[actor]!r} and {typ!r}) across alias files"
            )
    entries.update(file_entries)
    _settle_codes(entries, codes, file_codes)

    nick_files: list[Path] = [DEFAULT_NICKNAMES] if include_defaults and DEFAULT_NICKNAMES.is_file() else []
    if nicknames is None:
        env = os.environ.get(NICKNAMES_ENV, "").strip()
        nicknames = env or None
    if nicknames is not None:
        nick_files.append(Path(nicknames))
    return AliasTable(entries, tuple(str(f) for f in files), codes, load_nicknames(nick_files))


# --------------------------------------------------------------------------------------------
# Per distinct (text, label) analysis


def _word_tokens(words: list[str]) -> list[tuple[int, str]]:
    """(word index, folded token) for every folded token of every surface word (no 'the' dropping)."""
    out: list[tuple[int, str]] = []
    for i, w in enumerate(words):
        s = unicodedata.normalize("NFKC", w).translate(APOSTROPHES).casefold()
        s = _POSSESSIVE.sub("", s)
        s = _DROP.sub("", s)
        for tok in _NON_WORD.sub(" ", s).split():
            out.append((i, tok))
    return out


def _name_tokens(words: list[str]) -> list[str]:
    """Folded name tokens keeping in-word hyphens and apostrophes ('leigh-pemberton', "o'brien")."""
    out: list[str] = []
    for w in words:
        s = unicodedata.normalize("NFKC", w).translate(APOSTROPHES).casefold()
        s = _POSSESSIVE.sub("", s)
        s = _NAME_DROP.sub("", s)
        for tok in _NAME_SPLIT.split(s):
            tok = re.sub(r"[-']{2,}", "-", tok).strip("-'")
            if tok:
                out.append(tok)
    return out


def _title_len(tokens: list[str], start: int) -> int:
    for t in _TITLE_TOKENS:
        if tuple(tokens[start:start + len(t)]) == t:
            return len(t)
    return 0


def _alias_prefix_len(tokens: list[str], start: int, aliases: AliasTable) -> int:
    """Length of the longest alias of a place/organisation/group starting at `start` (up to 4 tokens)."""
    for k in (4, 3, 2, 1):
        if start + k <= len(tokens) and " ".join(tokens[start:start + k]) in aliases._prefix_keys:  # type: ignore[attr-defined]
            return k
    return 0


def _strip_leading(toks: list[tuple[int, str]], aliases: AliasTable) -> list[tuple[int, str]]:
    """Drop leading titles (optionally after a country/demonym) and leading aliases followed by a name
    of two or more tokens, when they end on a word boundary."""
    tokens = [t for _, t in toks]
    pos = 0
    while pos < len(tokens):
        n = _title_len(tokens, pos)
        if not n:
            k = _alias_prefix_len(tokens, pos, aliases)
            if k:
                m = _title_len(tokens, pos + k)
                if m:
                    n = k + m  # "Chinese Foreign Minister ...", "US Secretary of State ..."
                elif len(tokens) - (pos + k) >= 2:
                    n = k  # "Belgian Willy de Clercq", "Bank of England Robin Leigh-Pemberton"
        if not n:
            break
        end = pos + n
        if end < len(toks) and toks[end][0] == toks[end - 1][0]:
            break  # ends inside a word: leave it
        pos = end
    return toks[pos:]


def _display(words: list[str], toks: list[tuple[int, str]]) -> str:
    """Surface words covered by `toks`, tidied: edge punctuation, a possessive and a final period dropped."""
    if not toks:
        return ""
    shown = words[toks[0][0]: toks[-1][0] + 1]
    s = " ".join(shown).strip(_EDGE_PUNCT)
    s = _DISPLAY_POSSESSIVE.sub("", s).strip(_EDGE_PUNCT)
    if s.endswith(".") and "." not in s.rsplit(" ", 1)[-1][:-1]:
        s = s[:-1].strip(_EDGE_PUNCT)  # "Texaco Inc." -> "Texaco Inc"; "U.S." keeps its periods
    return s


def _cap(part: str) -> str:
    if part.startswith("mc") and len(part) > 2:
        return "Mc" + part[2:3].upper() + part[3:]
    return part[:1].upper() + part[1:]


def person_display(key: str) -> str:
    """The display name of a person name key (rule 10): 'willy de clercq' -> 'Willy de Clercq'."""
    words = key.split()
    out = []
    last = len(words) - 1
    for i, word in enumerate(words):
        if i == last and _ROMAN.match(word):
            out.append(word.upper())
            continue
        if 0 < i < last and word in PARTICLES:
            out.append(word)
            continue
        parts = re.split(r"([-'])", word)
        shown = []
        for j, part in enumerate(parts):
            if part in ("-", "'", ""):
                shown.append(part)
                continue
            nxt = parts[j + 1] if j + 1 < len(parts) else ""
            prefix_particle = (nxt == "'" and part in ("d", "l")) or (nxt == "-" and part in PARTICLES)
            if prefix_particle and (i > 0 or j > 0):
                shown.append(part)
            else:
                shown.append(_cap(part))
        out.append("".join(shown))
    return " ".join(out)


def _shouting(form: str) -> bool:
    """An all-capitals form of a longer name (wire datelines: 'NEW YORK'), not an acronym ('OPEC')."""
    return form.isupper() and sum(c.isalpha() for c in form) > 5


@functools.lru_cache(maxsize=200_000)
def _form_rank(form: str) -> tuple:
    mixed = any(c.isupper() for c in form) and any(c.islower() for c in form)
    return (_shouting(form), not mixed, -sum(c.isupper() for c in form), form)


def _smart_title(form: str) -> str:
    return " ".join(_cap(w.lower()) if w.isalpha() else w.title() for w in form.split())


def _org_display(key: str) -> str:
    """A name known only by its key (an acronym's long form not seen in the day or the window)."""
    words = key.split()
    return " ".join(w if 0 < i and w in CONNECTORS else _cap(w) for i, w in enumerate(words))


def _best_form(forms: Iterable[str]) -> str:
    best = min(forms, key=_form_rank)
    return _smart_title(best) if _shouting(best) else best


@dataclass(frozen=True)
class _Analysis:
    kind: str  # 'drop' | 'alias' | 'compound' | 'person' | 'other'
    key: str = ""
    display: str = ""  # alias actor / surface form
    actor_type: str = ""
    parts: tuple = ()  # compound: ((actor, actor_type), ...)
    acronym: bool = False


_DROP_ANALYSIS = _Analysis("drop")


def _alias_hit(key: str, aliases: AliasTable) -> _Analysis | None:
    hit = aliases.entries.get(key)
    if hit is None:
        return None
    return _DROP_ANALYSIS if hit[1] == IGNORE else _Analysis("alias", key, hit[0], hit[1])


def _analyse(text: object, label: str, aliases: AliasTable) -> _Analysis:
    """What one distinct (text, label) is, before any cross-mention rule."""
    if not isinstance(text, str):
        return _DROP_ANALYSIS
    key = fold(text)
    if not key:
        return _DROP_ANALYSIS
    hit = _alias_hit(key, aliases)
    if hit:
        return hit
    parts = [p for p in _COMPOUND_SPLIT.split(text.strip()) if p]
    if len(parts) >= 2:
        hits = [aliases.entries.get(fold(p)) for p in parts]
        if all(h is not None and h[1] in ("place", "organization", "group") for h in hits):
            return _Analysis("compound", key, parts=tuple(dict.fromkeys(hits)))  # type: ignore[arg-type]
    if not any(c.isupper() for c in text):
        return _DROP_ANALYSIS
    words = unicodedata.normalize("NFKC", text).split()
    toks = _word_tokens(words)
    while toks and toks[0][1] == "the":
        toks = toks[1:]
    if label == "PERSON":
        toks = _strip_leading(toks, aliases)
        if not toks:
            return _DROP_ANALYSIS
        hit = _alias_hit(" ".join(t for _, t in toks), aliases)
        if hit:
            return hit
        names = _name_tokens(words[toks[0][0]:])
        while len(names) > 1 and names[-1] in NAME_SUFFIXES:
            names.pop()
        names = [t for i, t in enumerate(names) if i == len(names) - 1 or len(_flat(t).replace(" ", "")) > 1]
        if not names:
            return _DROP_ANALYSIS
        pkey = " ".join(names)
        hit = _alias_hit(fold(pkey), aliases)
        if hit:
            return hit
        return _Analysis("person", pkey, actor_type="person")
    key = " ".join(t for _, t in toks)
    if not key:
        return _DROP_ANALYSIS
    display = _display(words, toks) or key.title()
    letters = [c for c in display if c.isalpha()]
    acronym = label == "ORG" and " " not in key and 2 <= len(letters) <= 6 and all(c.isupper() for c in letters)
    return _Analysis("other", key, display, LABEL_TYPES.get(label, str(label).lower()), acronym=acronym)


def _is_subseq(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(tok in it for tok in short)


# --------------------------------------------------------------------------------------------
# The names of a day, summed over a window

REQUIRED_COLUMNS = ("article_id", "entity_text", "entity_label")


def _check_columns(mentions: pd.DataFrame, who: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in mentions.columns]
    if missing:
        raise ValueError(f"{who}: mentions lack column(s) {missing}")


def _distinct(mentions: pd.DataFrame, aliases: AliasTable):
    """codes per row into the distinct (text, label) pairs, the pairs, and their analyses."""
    text = mentions["entity_text"].astype(object).where(mentions["entity_text"].notna(), "")
    label = mentions["entity_label"].astype(object).where(mentions["entity_label"].notna(), "").astype(str)
    t_codes, t_uniq = pd.factorize(text.to_numpy(dtype=object))
    l_codes, l_uniq = pd.factorize(label.to_numpy(dtype=object))
    codes, pair_uniq = pd.factorize(t_codes.astype(np.int64) * max(len(l_uniq), 1) + l_codes)
    nl = max(len(l_uniq), 1)
    uniq = list(zip(t_uniq[pair_uniq // nl], l_uniq[pair_uniq % nl])) if len(codes) else []
    cache: dict = aliases._analyses  # type: ignore[attr-defined]
    if len(cache) > 500_000:
        cache.clear()
    analyses = []
    for pair in uniq:
        a = cache.get(pair)
        if a is None:
            a = cache[pair] = _analyse(pair[0], pair[1], aliases)
        analyses.append(a)
    return codes, uniq, analyses


def _empty_names() -> pd.DataFrame:
    return pd.DataFrame({"kind": pd.Series(dtype=object), "name": pd.Series(dtype=object),
                         "articles": pd.Series(dtype="int64"), "form": pd.Series(dtype=object)})


def full_names(mentions: pd.DataFrame, aliases: AliasTable) -> pd.DataFrame:
    """The names these mentions (typically one day's) know, for the window of other days.

    Columns: ``kind`` ('person': a person name key after the rules 5a-c, any length; 'org': the folded
    name of an ORG mention that is no alias), ``name``, ``articles`` (distinct articles naming it) and
    ``form`` (for 'org': the best surface form by rule 10's order, else ''). Frames of several days add
    up with :func:`sum_names`.
    """
    _check_columns(mentions, "full_names")
    if len(mentions) == 0:
        return _empty_names()
    codes, uniq, analyses = _distinct(mentions, aliases)
    article = mentions["article_id"].astype(str).to_numpy(dtype=object)
    kinds = np.array([("person" if a.kind == "person" else "org" if a.kind == "other" and lab == "ORG" else "")
                      for a, (_, lab) in zip(analyses, uniq)], dtype=object)
    keys = np.array([a.key for a in analyses], dtype=object)
    forms = np.array([a.display if a.kind == "other" else "" for a in analyses], dtype=object)
    row_kind = kinds[codes]
    sel = row_kind != ""
    if not sel.any():
        return _empty_names()
    df = pd.DataFrame({"kind": row_kind[sel], "name": keys[codes][sel], "article": article[sel],
                       "form": forms[codes][sel]})
    return _collapse(df, "article")


def _collapse(df: pd.DataFrame, articles: str) -> pd.DataFrame:
    """Group rows by (kind, name): `articles` summed (or distinct article ids counted), the best form kept."""
    forms = df["form"].fillna("").astype(object)
    order = sorted(forms.unique(), key=lambda f: (f == "", _form_rank(f) if f else ()))
    rank = pd.Series(np.arange(len(order)), index=pd.Index(order, dtype=object))
    work = pd.DataFrame({"kind": df["kind"].to_numpy(dtype=object), "name": df["name"].to_numpy(dtype=object),
                         "v": df[articles].to_numpy(), "r": rank.reindex(forms.to_numpy(dtype=object)).to_numpy()})
    g = work.groupby(["kind", "name"], sort=True)
    out = g.agg(articles=("v", "nunique" if articles == "article" else "sum"), r=("r", "min")).reset_index()
    out["form"] = np.asarray(order, dtype=object)[out["r"].to_numpy()] if len(order) else ""
    return out[list(NAME_COLUMNS)].astype({"articles": "int64"})


def sum_names(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up :func:`full_names` frames of several days (the window): articles summed, the best form kept.

    The result does not depend on the order of the frames."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return _empty_names()
    return _collapse(pd.concat(frames, ignore_index=True), "articles")


#: The same as :func:`sum_names` (the name the pipeline uses).
combine_names = sum_names


# --------------------------------------------------------------------------------------------
# Resolution with the window's names


def _pick(cands: list[tuple[str, ...]], articles: Mapping) -> tuple[str, ...] | None:
    """The one candidate rule 7 allows, or None: the only one, or one named in two or more articles
    and in at least DOMINANCE times as many articles as all the others together."""
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    ranked = sorted(cands, key=lambda t: (-articles.get(t, 0), t))
    top = articles.get(ranked[0], 0)
    rest = sum(articles.get(t, 0) for t in ranked[1:])
    if top >= 2 and top >= DOMINANCE * rest:
        return ranked[0]
    return None


def _maximal(cands: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [t for t in cands if not any(len(o) > len(t) and _is_subseq(t, o) for o in cands)]


class _Window:
    """The names of the window, and the person/organisation rules that need them."""

    def __init__(self, known: pd.DataFrame, aliases: AliasTable):
        self.aliases = aliases
        self.given = aliases.given_names
        persons: dict[str, int] = {}
        orgs: dict[str, int] = {}
        self.org_forms: dict[str, str] = {}
        if len(known):
            kind = known["kind"].to_numpy(dtype=object)
            names = known["name"].to_numpy(dtype=object)
            arts = known["articles"].to_numpy()
            forms = known["form"].fillna("").to_numpy(dtype=object) if "form" in known else [""] * len(known)
            for k, n, a, f in zip(kind, names, arts, forms):
                if k == "person":
                    persons[n] = persons.get(n, 0) + int(a)
                elif k == "org":
                    orgs[n] = orgs.get(n, 0) + int(a)
                    if f and (n not in self.org_forms or _form_rank(f) < _form_rank(self.org_forms[n])):
                        self.org_forms[n] = f
        self.raw = persons
        # spelling variants: flat form -> preferred spelling
        self.spelling: dict[str, str] = {}
        for n in persons:
            fl = _flat(n)
            if fl != n:
                cur = self.spelling.get(fl)
                if cur is None or _spelling_rank(n) < _spelling_rank(cur):
                    self.spelling[fl] = n
        self.first_names: Counter = Counter()  # first token -> distinct known full names starting with it
        self.first_articles: Counter = Counter()
        self.first_plain: Counter = Counter()  # ... whose rest is no known full name
        self.standalone: dict[str, int] = {}
        self.raw_full: set[str] = set()
        self.raw_last: set[str] = set()
        for n, a in persons.items():
            toks = n.split()
            if len(toks) == 1:
                self.standalone[n] = a
            else:
                self.first_names[toks[0]] += 1
                self.first_articles[toks[0]] += a
                if toks[-1] not in CORPORATE_SUFFIXES:
                    self.raw_full.add(n)
                    self.raw_last.add(toks[-1])
        for n in self.raw_full:
            first, _, rest = n.partition(" ")
            if " " not in rest or rest not in self.raw_full:
                self.first_plain[first] += 1
        self.org_words: Counter = Counter()
        self.org_first: Counter = Counter()
        for n, a in orgs.items():
            toks = n.split()
            for t in set(toks):
                self.org_words[t] += a
        self.orgs = orgs
        self._map: dict[str, str] = {}
        # person names after rules 5d-f, with their articles summed
        self.full: dict[tuple[str, ...], int] = defaultdict(int)
        entries = aliases.entries
        for n in self.raw_full:
            m = self.map(n)
            t = tuple(m.split())
            if len(t) > 1 and t[-1] not in CORPORATE_SUFFIXES and _fold(m) not in entries:
                self.full[t] += persons[n]
        self.by_last: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for t in self.full:
            self.by_last[t[-1]].append(t)
        self._lookup: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        self._acronyms: dict[str, list[str]] | None = None

    # -- rule 5d-f ------------------------------------------------------------------------
    def _spell(self, key: str) -> str:
        best = self.spelling.get(_flat(key))
        if best is None or best == key:
            return key
        return best if _spelling_rank(best) < _spelling_rank(key) else key

    def _junk(self, tok: str) -> bool:
        if tok in self.given:
            return False
        w = self.org_words.get(tok, 0)
        return w >= 2 and w > self.first_articles.get(tok, 0)

    def _known_person(self, rest: list[str]) -> bool:
        key = " ".join(rest)
        if len(rest) == 1:
            return self.standalone.get(key, 0) >= 2 or key in self.raw_last
        return key in self.raw_full or self._spell(key) in self.raw_full

    def _strip_prefix(self, key: str) -> str:
        toks = key.split()
        if len(toks) < 2 or toks[0] in self.given:
            return key
        first = _flat(toks[0]).replace(" ", "")
        own = self.raw.get(key, 0)
        for k in range(1, len(toks)):
            head, rest = toks[:k], toks[k:]
            if head[-1] in CONNECTORS:
                continue
            if not self._known_person(rest):
                continue
            if self._junk(first) and all(self._junk(_flat(t).replace(" ", "")) or t in CONNECTORS for t in head):
                return " ".join(rest)
            if (len(rest) >= 2 and self.first_plain.get(toks[0], 0) == 0
                    and self.raw.get(" ".join(rest), 0) >= max(own, 1)):
                return " ".join(rest)
        return key

    def _nickname(self, key: str) -> str:
        toks = key.split()
        if len(toks) < 2:
            return key
        formal = self.aliases.nicknames.get(toks[0])
        if not formal:
            return key
        rest = toks[1:]
        hits = sorted({self._spell(" ".join([f, *rest])) for f in formal} & self.raw_full)
        # the formal name must be how the window mostly names that person ('Jim Wright', the Speaker,
        # is not renamed after a rarer 'James Wright')
        if len(hits) == 1 and self.raw.get(hits[0], 0) >= self.raw.get(key, 0):
            return hits[0]
        return key

    def map(self, key: str) -> str:
        """A person name key after rules 5d-f (spelling, leading words, nicknames)."""
        got = self._map.get(key)
        if got is None:
            entries = self.aliases.entries
            got = self._spell(key)
            if _fold(got) not in entries:
                stripped = self._strip_prefix(got)
                if stripped != got:
                    got = self._spell(stripped)
                if _fold(got) not in entries:
                    got = self._nickname(got)
            self._map[key] = got
        return got

    # -- rule 7 -----------------------------------------------------------------------------
    def _stray(self, t: tuple[str, ...]) -> bool:
        """A two-word name known from one article whose first word is no given name and starts no other
        known name: maybe a typo or a stray word before a surname ('Athough Reagan')."""
        return (len(t) == 2 and self.full.get(t, 0) <= 1 and t[0] not in self.given
                and self.first_names.get(t[0], 0) <= 1)

    def lookup(self, toks: tuple[str, ...]) -> tuple[str, ...] | None:
        """The full name a short name (no candidate in its article) stands for in the window."""
        if toks in self._lookup:
            return self._lookup[toks]
        res = None
        if len(toks) == 1 or toks[0] not in self.given:
            n = len(toks)
            own = self.full.get(toks, 0)
            # a name of several words only goes to a longer name the window knows better
            cands = [t for t in self.by_last.get(toks[-1], ())
                     if len(t) > n and t[-n:] == toks and (n == 1 or self.full[t] > own)]
            # possible strays do not compete with other candidates
            cands = [t for t in cands if not self._stray(t)] or cands
            res = _pick(_maximal(cands), self.full)
        if res is None and self._stray(toks):
            # ... and are the name their surname stands for, when that is a person the window names
            # in at least STRAY_TARGET_ARTICLES articles
            target = self.lookup(toks[1:])
            if target is not None and target != toks and self.full.get(target, 0) >= STRAY_TARGET_ARTICLES:
                res = target
        self._lookup[toks] = res
        return res

    def person_in_org(self, key: str) -> str | None:
        """The person an ORG mention names (rule 6b): a full name the window knows more often as a
        person than as an organisation; a role in front of such a name ('agriculture richard lyng');
        one word, after the article's own names, that resolves like a surname to a full name the window
        names more often than it names that word as an organisation ('volcker')."""
        toks = key.split()
        if len(toks) >= 2 and toks[-1] not in CORPORATE_SUFFIXES:
            name = self._spell(key)
            if name in self.raw_full and self.raw[name] > self.orgs.get(key, 0):
                return self.map(name)  # 'Paul Volcker' tagged ORG, a name the window knows as a person
        if len(toks) == 1:
            target = self.lookup(tuple(toks))  # 'Volcker' tagged ORG, more often a person than an org
            if target is not None and self.full[target] + self.standalone.get(key, 0) > self.orgs.get(key, 0):
                return " ".join(target)
            return None
        if not self._junk(toks[0]):
            return None
        for k in range(1, len(toks) - 1):
            head, rest = toks[:k], toks[k:]
            if not all(self._junk(t) or t in CONNECTORS for t in head):
                return None
            if head[-1] in CONNECTORS or rest[0] in CONNECTORS:
                continue
            name = self._spell(" ".join(rest))
            if name in self.raw_full:
                return self.map(name)
        return None

    # -- rule 8 -----------------------------------------------------------------------------
    def acronym(self, key: str) -> str | None:
        if self._acronyms is None:
            self._acronyms = defaultdict(list)
            for n in self.orgs:
                ini = _initials(n)
                if ini:
                    self._acronyms[ini].append(n)
        cands = self._acronyms.get(key)
        if not cands:
            return None
        tup = [(n,) for n in cands]
        best = _pick(tup, {(n,): self.orgs.get(n, 0) for n in cands})
        return best[0] if best else None


def resolve_actors(mentions: pd.DataFrame, aliases: AliasTable, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``actor``, ``actor_type`` and ``actor_code`` to NER mentions (see the module docstring).

    mentions: columns article_id, entity_text, entity_label (start_char/end_char and any other
    columns are passed through unchanged) -- typically one day's.  known: the names of the window of
    days around them (:func:`full_names` per day, added up with :func:`sum_names` or simply
    concatenated: rows of one (kind, name) are added up here; it must include the mentions' own day);
    None = the mentions' own names.  Returns the rows in order, same index, minus
    those whose actor would be blank; a compound mention (``U.S.-Soviet``) gives one row per actor, with
    its index repeated.  actor and actor_type are str, actor_code a str or None.
    """
    _check_columns(mentions, "resolve_actors")
    base = mentions.drop(columns=[c for c in OUTPUT_COLUMNS if c in mentions.columns])
    if len(base) == 0:
        return _no_actors(base)
    window = _Window(full_names(base, aliases) if known is None else known, aliases)
    rows = _mention_rows(base, aliases, window)  # rules 1-5 and 11, strays, ORG spans that are persons
    _short_names(rows, window)                   # rules 6-7: short names within the article, then the window
    _org_surnames(rows, window)                  # rule 6: one-word ORGs that are persons the window knows
    _acronyms(rows, window)                      # rule 8
    _person_actors(rows, aliases)                # rules 2 and 10 on the final person names
    _other_actors(rows, window)                  # rule 10: display names of the other names
    _alias_codes(rows, aliases)                  # rule 9: country codes
    return _output(base, rows, aliases)          # rule 3: one row per part of a compound


@dataclass
class _Rows:
    """What resolve_actors knows of each mention row, handed from phase to phase (arrays by row)."""

    codes: np.ndarray  # row -> its distinct (text, label), an index into `analyses`
    analyses: list  # distinct (text, label) -> _Analysis
    article: np.ndarray  # article id as str
    kind: np.ndarray  # 'drop' | 'alias' | 'compound' | 'person' | 'other', after rules 1-5
    key: np.ndarray  # the name key, resolved phase by phase
    actor: np.ndarray  # alias actor / display name ('' until known)
    actor_type: np.ndarray
    org1: np.ndarray  # a one-word ORG name (no alias): it may be a person (rule 6)
    keep: np.ndarray = field(init=False)  # not dropped
    person: np.ndarray = field(init=False)  # a person name after rules 1-5
    to_person: np.ndarray = field(init=False)  # an ORG name found to be a person (rule 6)
    is_alias: np.ndarray = field(init=False)  # actor is an alias target
    code: np.ndarray = field(init=False)  # actor_code

    def __post_init__(self) -> None:
        self.keep = self.kind != "drop"
        self.person = self.kind == "person"
        self.to_person = np.zeros(len(self.codes), dtype=bool)
        self.is_alias = self.kind == "alias"
        self.code = np.full(len(self.codes), None, dtype=object)

    def final_person(self) -> np.ndarray:
        """Rows that name a person after rules 5-7."""
        return (self.person | self.to_person) & self.keep

    def make_persons(self, idx: np.ndarray, names: list[str | None]) -> None:
        """The ORG rows `idx` whose name is not None become that person."""
        sel = np.array([n is not None for n in names], dtype=bool)
        self.key[idx[sel]] = [n for n in names if n is not None]
        self.actor_type[idx[sel]] = "person"
        self.to_person[idx[sel]] = True


def _no_actors(base: pd.DataFrame) -> pd.DataFrame:
    """No mentions: the frame with the (empty) output columns."""
    out = base.copy()
    for c in OUTPUT_COLUMNS:
        out[c] = pd.Series(dtype=object)
    return out


def _mention_rows(base: pd.DataFrame, aliases: AliasTable, window: _Window) -> _Rows:
    """Rules 1-5 on each distinct (text, label), the window's person rules on its key, spread over the rows."""
    codes, uniq, analyses = _distinct(base, aliases)
    labels = [lab for _, lab in uniq]
    kind = np.array([a.kind for a in analyses], dtype=object)
    key = np.array([window.map(a.key) if a.kind == "person" else a.key for a in analyses], dtype=object)
    actor = np.array([a.display if a.kind == "alias" else "" for a in analyses], dtype=object)
    typ = np.array([a.actor_type for a in analyses], dtype=object)
    for i, (a, lab) in enumerate(zip(analyses, labels)):
        if a.kind == "other" and lab == "ORG" and " " in a.key:
            who = window.person_in_org(a.key)  # "Agriculture Richard Lyng" tagged ORG
            if who is not None:
                kind[i], key[i], typ[i] = "person", who, "person"
        if kind[i] == "person":
            key[i] = _unstray(key[i], window)  # "Athough Reagan"
            hit = aliases.entries.get(fold(key[i]))
            if hit:  # the resolved name is an alias (rule 2)
                actor[i], typ[i] = hit
                kind[i] = "drop" if typ[i] == IGNORE else "alias"
    org1 = np.array([a.kind == "other" and lab == "ORG" and " " not in a.key
                     for a, lab in zip(analyses, labels)], dtype=bool)
    article = base["article_id"].astype(str).to_numpy(dtype=object)
    return _Rows(codes, analyses, article, kind[codes], key[codes], actor[codes], typ[codes], org1[codes])


def _unstray(key: str, window: _Window) -> str:
    """A possible stray ('Athough Reagan') becomes the person the window resolves it to (rule 7)."""
    t = tuple(key.split())
    if window._stray(t):
        target = window.lookup(t)
        if target is not None:
            return " ".join(target)
    return key


def _short_names(rows: _Rows, window: _Window) -> None:
    """Rules 6-7: person short names and one-word ORGs to the article's full names, else the window's."""
    if not rows.person.any():
        return
    names: dict[str, set[str]] = defaultdict(set)
    for a, k in zip(rows.article[rows.person], rows.key[rows.person]):
        names[a].add(k)
    orgs: dict[str, set[str]] = defaultdict(set)
    for a, k in zip(rows.article[rows.org1], rows.key[rows.org1]):
        if a in names:
            orgs[a].add(k)
    persons: dict[tuple[str, str], str] = {}
    org_persons: dict[tuple[str, str], str] = {}
    for a, ns in names.items():
        p, o = _article_short_names(ns, orgs.get(a, ()), window)
        persons.update(((a, n), full) for n, full in p.items())
        org_persons.update(((a, n), full) for n, full in o.items())
    if persons:
        idx = np.flatnonzero(rows.person)
        rows.key[idx] = [persons.get((a, k), k) for a, k in zip(rows.article[idx], rows.key[idx])]
    if org_persons:
        idx = np.flatnonzero(rows.org1 & rows.keep)
        rows.make_persons(idx, [org_persons.get((a, k)) for a, k in zip(rows.article[idx], rows.key[idx])])


def _article_short_names(names: Iterable[str], orgs: Iterable[str],
                         window: _Window) -> tuple[dict[str, str], dict[str, str]]:
    """One article's person names -> full names (rule 6, else rule 7), one-word ORGs -> persons (rule 6)."""
    tup = {n: tuple(n.split()) for n in names}
    maximal = _maximal([t for t in tup.values() if len(t) > 1 and t[-1] not in CORPORATE_SUFFIXES])
    persons: dict[str, str] = {}
    for n, t in tup.items():
        if t in maximal:
            continue
        cands = [m for m in maximal if len(m) > len(t) and _is_subseq(t, m)]
        if len(cands) == 1:
            persons[n] = " ".join(cands[0])
        elif not cands:
            target = window.lookup(t)
            if target is not None:
                persons[n] = " ".join(target)
    # the maximal names themselves (and ambiguous ones) may still be a window short name ("Perez de Cuellar")
    for n, t in tup.items():
        if n not in persons and len(t) > 1:
            target = window.lookup(t)
            if target is not None:
                persons[n] = " ".join(target)
    org_persons: dict[str, str] = {}
    for o in orgs:
        cands = [m for m in maximal if o in (m[0], m[-1])]
        if len(cands) == 1:
            org_persons[o] = " ".join(cands[0])
    return persons, org_persons


def _org_surnames(rows: _Rows, window: _Window) -> None:
    """One-word ORGs their article did not resolve: a surname the window knows as a person (rule 6)."""
    rest = rows.org1 & rows.keep & ~rows.to_person
    if rest.any():
        idx = np.flatnonzero(rest)
        who = {k: window.person_in_org(k) for k in set(rows.key[idx])}
        rows.make_persons(idx, [who[k] for k in rows.key[idx]])


def _acronyms(rows: _Rows, window: _Window) -> None:
    """Rule 8: an all-capitals ORG word becomes the window's organisation whose initials spell it."""
    acronym = np.array([a.kind == "other" and a.acronym for a in rows.analyses], dtype=bool)[rows.codes]
    acronym &= ~rows.to_person
    if acronym.any():
        target = {k: window.acronym(k) for k in set(rows.key[acronym])}
        idx = np.flatnonzero(acronym)
        rows.key[idx] = [target.get(k) or k for k in rows.key[idx]]


def _person_actors(rows: _Rows, aliases: AliasTable) -> None:
    """Rules 2 and 10 on final person names: an alias renames (or splits) them, else the person display."""
    for i in np.flatnonzero(rows.final_person()):
        hit = aliases.entries.get(fold(rows.key[i]))
        if hit and hit[1] != IGNORE:
            rows.actor[i], rows.actor_type[i] = hit
            rows.is_alias[i] = True
        else:
            rows.actor[i] = person_display(rows.key[i])


def _other_actors(rows: _Rows, window: _Window) -> None:
    """Rule 10 for the other names: the best surface form of the key in the day and the window."""
    other = rows.keep & ~rows.is_alias & ~rows.final_person() & (rows.kind == "other")
    if not other.any():
        return
    forms: dict[str, set[str]] = defaultdict(set)
    display = np.array([a.display for a in rows.analyses], dtype=object)[rows.codes]
    for k, d in zip(rows.key[other], display[other]):
        if fold(d) == k:
            forms[k].add(d)
    idx = np.flatnonzero(other)
    best: dict[str, str] = {}
    for k in set(rows.key[idx]):
        fs = forms.get(k, set())
        wf = window.org_forms.get(k)
        if wf:
            fs = fs | {wf}
        best[k] = _best_form(fs) if fs else _org_display(k)
    rows.actor[idx] = [best[k] for k in rows.key[idx]]


def _alias_codes(rows: _Rows, aliases: AliasTable) -> None:
    """Rule 9: the ISO 3166 code of each alias actor that is a country."""
    idx = np.flatnonzero(rows.is_alias & rows.keep)
    if len(idx):
        rows.code[idx] = [aliases.codes.get(a) for a in rows.actor[idx]]


def _output(base: pd.DataFrame, rows: _Rows, aliases: AliasTable) -> pd.DataFrame:
    """The kept rows with actor, actor_type and actor_code; a compound gives one row per part (rule 3)."""
    pos = np.flatnonzero(rows.keep)
    actor, typ, code = rows.actor[pos], rows.actor_type[pos], rows.code[pos]
    compound = rows.kind[pos] == "compound"
    if compound.any():
        pos, actor, typ, code = _split_compounds(pos, compound, rows, aliases)
    out = base.iloc[pos].copy()
    out["actor"] = pd.Series(actor, index=out.index, dtype=object).astype(str)
    out["actor_type"] = pd.Series(typ, index=out.index, dtype=object).astype(str)
    code = pd.Series(code, index=out.index, dtype=object)
    out["actor_code"] = code.where(code.notna(), None)
    return out


def _split_compounds(pos: np.ndarray, compound: np.ndarray, rows: _Rows, aliases: AliasTable):
    """Rule 3: each compound row repeated once per part, with that part's actor, type and code."""
    parts = {j: rows.analyses[rows.codes[pos[j]]].parts for j in np.flatnonzero(compound)}
    n = np.ones(len(pos), dtype=np.int64)
    for j, p in parts.items():
        n[j] = len(p)
    rep = np.repeat(np.arange(len(pos)), n)
    pos = pos[rep]
    actor, typ, code = rows.actor[pos], rows.actor_type[pos], rows.code[pos]
    first = np.cumsum(n) - n  # where each row's first copy goes
    for j, p in parts.items():
        for k, (act, t) in enumerate(p):
            actor[first[j] + k], typ[first[j] + k], code[first[j] + k] = act, t, aliases.codes.get(act)
    return pos, actor, typ, code
