"""Countries, their names and demonyms, from maintained libraries (pure Python, no Dagster).

Sources:

* ``pycountry`` (the Debian iso-codes data): the list of current ISO 3166-1 countries with their
  alpha-3 codes and ISO names (``name``, ``common_name``, ``official_name``), and ISO 3166-3 for the
  codes of historical states (``SUN``, ``DDR``, ``YUG``, ``CSK`` ...), used to validate codes given in
  alias files.
* ``countryinfo``: the everyday short name of each country (``Russia``, ``South Korea``, ``Iran``:
  the display name), alternative spellings and the demonym (``German``, ``Chinese``).  Neither
  pycountry nor country_converter carries demonyms; countryinfo does.

:func:`country_aliases` turns these into alias rows ``(alias, actor, alpha3, kind)`` by general rules:

* aliases of a country: its display name, pycountry's name / common name / official name, and
  countryinfo's alternative spellings that are in Latin script, are not an ISO code of any country
  (``IN``, ``CAN``, ``PER`` are words) and have two or more words or share their first three letters
  with the display name (``Czechia``; not ``Island`` for Iceland, ``Mann`` for the Isle of Man);
* the demonym (``Antiguan,Barbudan`` gives two) and its plural: ``+s`` unless it ends in
  ``-ese``, ``-ss``, ``-sh``, ``-ch`` or ``-s`` (``Germans``, ``Iraqis``; ``Chinese``, ``Swiss``, ``Dutch``);
* a key claimed by several countries goes to a country whose *name* it is before one whose alternative
  spelling or demonym it is, then to the more populous country (``Chinese`` -> China, not Hong Kong;
  ``American`` -> United States, not the Northern Mariana Islands; ``Indian`` -> India).

What the libraries cannot know (``U.S.``, ``Britain``, ``Britons``, ``Holland``, historical states such as
the Soviet Union or West Germany) stays in ``newsdag/aliases.csv``, which is loaded on top of these rows
and overrides them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

__all__ = ["CountryAlias", "country_aliases", "is_known_code", "USER_ASSIGNED_CODE", "country_names"]

#: ISO 3166-1 reserves these alpha-3 ranges for user-assigned codes (e.g. XKX for Kosovo).
USER_ASSIGNED_CODE = re.compile(r"^(?:AA[A-Z]|Q[M-Z][A-Z]|X[A-Z]{2}|ZZ[A-Z])$")

_NAME, _ALT, _DEMONYM = 0, 1, 2


class CountryAlias(NamedTuple):
    alias: str
    actor: str
    code: str
    kind: str  # 'name', 'alt' or 'demonym'


def _latin(text: str) -> bool:
    plain = unicodedata.normalize("NFKD", text)
    return all(ord(c) < 0x250 or unicodedata.combining(c) for c in plain)


def _plural(demonym: str) -> str | None:
    low = demonym.lower()
    if low.endswith(("ese", "ss", "sh", "ch", "s")):
        return None
    return demonym + "s"


def _entry_rank(info: dict, iso_names: set[str]) -> tuple[bool, int, int, str]:
    from newsdag.actors import fold

    return (fold(info["name"]) not in iso_names, -int(info.get("population") or 0), len(info["name"]), info["name"])


def _display(name: str) -> str:
    return name[4:] if name.startswith("The ") else name


@functools.lru_cache(maxsize=1)
def _iso_codes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(current alpha-3 codes, historical alpha-3 codes, every alpha-2 and alpha-3 code)."""
    import pycountry

    current = frozenset(c.alpha_3 for c in pycountry.countries)
    historic = frozenset(c.alpha_3 for c in pycountry.historic_countries)
    every = set(current | historic)
    every.update(c.alpha_2 for c in pycountry.countries)
    every.update(getattr(c, "alpha_2", "") for c in pycountry.historic_countries)
    every.discard("")
    return current, historic, frozenset(every)


def is_known_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code (current), an ISO 3166-3 code of a former country, or a
    code in the user-assigned ranges."""
    current, historic, _ = _iso_codes()
    return code in current or code in historic or bool(USER_ASSIGNED_CODE.match(code))


@functools.lru_cache(maxsize=1)
def country_aliases() -> tuple[CountryAlias, ...]:
    """Alias rows for every current ISO 3166-1 country (see the module docstring for the rules).

    One row per distinct folded alias (the folding is newsdag.actors.fold's: callers fold again).
    """
    import pycountry
    from countryinfo import CountryInfo

    from newsdag.actors import fold  # late import: actors imports this module lazily too

    current, _, codes = _iso_codes()
    iso_names = {c.alpha_3: {fold(n) for n in (c.name, getattr(c, "common_name", None)) if n and "," not in n}
                 for c in pycountry.countries}
    info_by_code: dict[str, dict] = {}
    for info in CountryInfo.all().values():
        iso = info.get("ISO") or {}
        code = iso.get("alpha3") if isinstance(iso, dict) else None
        if code not in current:
            continue
        prev = info_by_code.get(code)
        # one code, several entries (United Kingdom / Wales, Myanmar / Burma, Holy See / Vatican City
        # State): the one named as ISO names the country, then the more populous, then the shorter name
        if prev is None or _entry_rank(info, iso_names[code]) < _entry_rank(prev, iso_names[code]):
            info_by_code[code] = info

    # key -> (rank, -population, code, alias, actor)
    best: dict[str, tuple[int, int, str, str, str]] = {}

    def offer(alias: str, actor: str, code: str, rank: int, population: int) -> None:
        alias = alias.strip()
        key = fold(alias)
        if not key or not alias:
            return
        cand = (rank, -population, code, alias, actor)
        if key not in best or cand < best[key]:
            best[key] = cand

    for c in pycountry.countries:
        code = c.alpha_3
        info = info_by_code.get(code, {})
        common = getattr(c, "common_name", None)
        name = info.get("name") or common or c.name
        actor = _display(name)
        population = int(info.get("population") or 0)
        for n in (actor, name, c.name, common, getattr(c, "official_name", None)):
            if n:
                offer(n, actor, code, _NAME, population)
        first3 = fold(actor)[:3]
        for alt in info.get("altSpellings") or ():
            alt = (alt or "").strip()
            if not alt or alt.upper() in codes or not _latin(alt):
                continue
            if len(alt.split()) >= 2 or fold(alt)[:3] == first3:
                offer(alt, actor, code, _ALT, population)
        for dem in re.split(r"[,/]", info.get("demonym") or ""):
            dem = dem.strip()
            if not dem or not _latin(dem):
                continue
            offer(dem, actor, code, _DEMONYM, population)
            plural = _plural(dem)
            if plural:
                offer(plural, actor, code, _DEMONYM, population)

    kinds = {_NAME: "name", _ALT: "alt", _DEMONYM: "demonym"}
    return tuple(
        CountryAlias(alias, actor, code, kinds[rank])
        for _key, (rank, _pop, code, alias, actor) in sorted(best.items())
    )


@functools.lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Display name -> alpha-3 code for every current country."""
    return {a.actor: a.code for a in country_aliases()}
