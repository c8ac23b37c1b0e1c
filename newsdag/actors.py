"""Map spaCy NER mentions to canonical actors (pure pandas, no Dagster).

Rules, in the order they are applied by :func:`resolve_actors`:

1. **Folding** (:func:`fold`): NFKC, curly quotes made straight, casefold, possessive ``'s`` / ``s'``
   dropped, periods and apostrophes removed (``U.S.`` -> ``us``), any other punctuation becomes a
   space, whitespace collapsed, one leading ``the`` dropped.  The folded string is the matching key.
2. **Aliases** (:func:`load_aliases`, ``newsdag/aliases.csv`` + ``$NEWSDAG_ALIASES``): a mention whose
   key is an alias takes the alias' actor and actor_type, whatever its NER label.  Demonyms are
   aliases of their country (``Chinese`` NORP -> ``China``/place, same as GPE ``China``).
3. **Titles** (PERSON mentions only): leading titles in :data:`TITLES` are stripped, optionally
   preceded by a country/demonym (``Chinese Foreign Minister Wang Yi`` -> ``Wang Yi``,
   ``Treasury Secretary James Baker`` -> ``James Baker``, ``Mr. Reagan`` -> ``Reagan``).
   Honorifics that are part of how a person is named (Mullah, Sheikh, Ayatollah, King...) are kept.
4. **Type** when no alias matched: PERSON->person, ORG->organization, GPE->place, NORP->group,
   any other label -> the label lower-cased.
5. **Short names within an article** (PERSON): a person key whose tokens are an ordered subsequence
   of exactly one longer ("maximal") PERSON name in the same article becomes that name
   (``Baradar`` -> ``Mullah Abdul Ghani Baradar``, ``President Biden`` -> ``Joe Biden``).
   A one-token ORG mention equal to the first or last token of exactly one PERSON full name in the
   same article becomes that person (spaCy tagging ``Wang`` as ORG next to ``Wang Yi``).
   PERSON "full names" ending in a company suffix (Inc, Corp, SA, ...: :data:`CORPORATE_SUFFIXES`)
   are spaCy mislabels and never absorb short names.
6. **Surnames across articles** (PERSON): a one-token person key with *no* candidate full name in
   its own article becomes the full name the corpus knows for that surname (last token), if the
   corpus' maximal full names with that surname are exactly one (``Reagan`` -> ``Ronald Reagan``),
   or exactly one of several is named in two or more articles (the others once: typos, relatives);
   otherwise it stays as is (``Baker`` when both James and Howard Baker occur).
7. **Display name**: the alias target as written in the alias file; otherwise the most frequent
   cleaned surface form among all mentions with that key (ties: a mixed-case form before an
   all-upper/all-lower one, then the alphabetically first).
8. Mentions whose key is blank (``'s``, ``The``, a bare title such as ``Mr.``) are dropped, so
   ``actor`` is never blank.

An actor is identified by ``(actor, actor_type)``: for non-alias actors the type follows the label,
so ``Taliban`` as ORG and as NORP keep their types (organization / group).
"""

from __future__ import annotations

import csv
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

__all__ = [
    "AliasTable",
    "DEFAULT_ALIASES",
    "LABEL_TYPES",
    "TITLES",
    "fold",
    "load_aliases",
    "resolve_actors",
]

DEFAULT_ALIASES = Path(__file__).resolve().parent / "aliases.csv"
ALIASES_ENV = "NEWSDAG_ALIASES"

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
    "energy secretary", "labor secretary", "attorney general",
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
_TITLE_TOKENS = sorted({tuple(t.split()) for t in TITLES}, key=len, reverse=True)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_POSSESSIVE = re.compile(r"'s\b|(?<=s)'(?=\s|$)")
_DROP = re.compile(r"[.'\u00ad]")  # removed without a space: U.S. -> us, O'Brien -> obrien
_NON_WORD = re.compile(r"[\W_]+")
_EDGE_PUNCT = "\"'()[]{}<>,;:!?*|/\\-\u201c\u201d\u2018\u2019\u00ab\u00bb "
_DISPLAY_POSSESSIVE = re.compile(r"(?:['\u2019]s|(?<=s)['\u2019])$")


def fold(text: str) -> str:
    """Matching key: casefold, strip punctuation, drop a leading 'the' and possessives, collapse spaces."""
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    s = _POSSESSIVE.sub("", s)
    s = _DROP.sub("", s)
    s = _NON_WORD.sub(" ", s).strip()
    if s == "the":
        return ""
    if s.startswith("the "):
        s = s[4:]
    return s


# --------------------------------------------------------------------------------------------
# Alias table


@dataclass(frozen=True)
class AliasTable:
    """Folded alias -> (actor, actor_type).  ``sources`` lists the files loaded, in order."""

    entries: Mapping[str, tuple[str, str]] = field(hash=False, compare=True)
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.entries, MappingProxyType):
            object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and fold(text) in self.entries

    def lookup(self, text: str) -> tuple[str, str] | None:
        """(actor, actor_type) for a mention text (folded here), or None."""
        return self.entries.get(fold(text))

    @property
    def actor_types(self) -> dict[str, str]:
        """Canonical actor -> actor_type."""
        return {actor: typ for actor, typ in self.entries.values()}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]], source: str = "<rows>") -> "AliasTable":
        """Build a table from (alias, actor, actor_type) triples (for tests and programmatic use)."""
        entries: dict[str, tuple[str, str]] = {}
        _add_rows(entries, [(i, r) for i, r in enumerate(rows, 1)], source)
        return cls(entries, (source,))


def _add_rows(entries: dict[str, tuple[str, str]], rows: list[tuple[int, list[str] | tuple]], source: str) -> None:
    """Validate rows of one source and add them to `entries` (overriding earlier sources)."""
    local: dict[str, tuple[str, str, int]] = {}
    actor_type: dict[str, tuple[str, int]] = {}
    for lineno, row in rows:
        where = f"{source}, line {lineno}"
        if len(row) != 3:
            raise ValueError(f"{where}: expected 3 fields alias,actor,actor_type, got {len(row)}: {list(row)!r}")
        alias, actor, typ = (str(v).strip() for v in row)
        if not alias or not actor or not typ:
            raise ValueError(f"{where}: empty field in {list(row)!r} (alias, actor and actor_type are required)")
        if typ not in ALIAS_TYPES:
            raise ValueError(f"{where}: unknown actor_type {typ!r}; use one of {sorted(ALIAS_TYPES)}")
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


def _read_alias_file(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read alias file {path}: {exc}") from exc
    rows: list[tuple[int, list[str]]] = []
    header_seen = False
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            raise ValueError(f"{path}, line {lineno}: malformed CSV ({exc}): {line!r}") from exc
        if not header_seen:
            if [f.strip().lower() for f in fields] != ["alias", "actor", "actor_type"]:
                raise ValueError(f"{path}, line {lineno}: expected header 'alias,actor,actor_type', got {line!r}")
            header_seen = True
            continue
        rows.append((lineno, fields))
    if not header_seen:
        raise ValueError(f"{path}: no header line 'alias,actor,actor_type'")
    return rows


def load_aliases(path: str | os.PathLike | None = None, *, include_defaults: bool = True) -> AliasTable:
    """Load the alias table.

    The packaged ``newsdag/aliases.csv`` is always loaded first (unless ``include_defaults=False``);
    then ``path``, or when ``path`` is None the file named by ``$NEWSDAG_ALIASES`` if set, is loaded
    on top of it: it extends the defaults and overrides any alias it repeats.
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
    for f in files:
        _add_rows(entries, _read_alias_file(f), str(f))
    # an actor must keep one type across files
    types: dict[str, str] = {}
    for actor, typ in entries.values():
        if types.setdefault(actor, typ) != typ:
            raise ValueError(
                f"{files[-1]}: actor {actor!r} ends up with two actor_types ({types[actor]!r} and {typ!r}) across alias files"
            )
    return AliasTable(entries, tuple(str(f) for f in files))


# --------------------------------------------------------------------------------------------
# Per distinct (text, label) analysis


def _word_tokens(words: list[str]) -> list[tuple[int, str]]:
    """(word index, folded token) for every folded token of every surface word (no 'the' dropping)."""
    out: list[tuple[int, str]] = []
    for i, w in enumerate(words):
        s = unicodedata.normalize("NFKC", w).translate(_APOSTROPHES).casefold()
        s = _POSSESSIVE.sub("", s)
        s = _DROP.sub("", s)
        for tok in _NON_WORD.sub(" ", s).split():
            out.append((i, tok))
    return out


def _title_len(tokens: list[str], start: int) -> int:
    for t in _TITLE_TOKENS:
        if tuple(tokens[start:start + len(t)]) == t:
            return len(t)
    return 0


def _strip_titles(toks: list[tuple[int, str]], aliases: AliasTable) -> list[tuple[int, str]]:
    """Drop leading titles (optionally after a country/demonym) when they end on a word boundary."""
    tokens = [t for _, t in toks]
    pos = 0
    while pos < len(tokens):
        n = _title_len(tokens, pos)
        if not n:
            # "Chinese Foreign Minister ...", "US Secretary of State ...": alias then title
            for k in (3, 2, 1):
                if pos + k < len(tokens) and " ".join(tokens[pos:pos + k]) in aliases.entries:
                    m = _title_len(tokens, pos + k)
                    if m:
                        n = k + m
                        break
        if not n:
            break
        end = pos + n
        if end < len(toks) and toks[end][0] == toks[end - 1][0]:
            break  # title ends inside a word: leave it
        pos = end
    return toks[pos:]


def _display(words: list[str], toks: list[tuple[int, str]]) -> str:
    """Surface words covered by `toks`, tidied: edge punctuation and a possessive dropped."""
    if not toks:
        return ""
    shown = words[toks[0][0]: toks[-1][0] + 1]
    s = " ".join(shown).strip(_EDGE_PUNCT)
    s = _DISPLAY_POSSESSIVE.sub("", s).strip(_EDGE_PUNCT)
    return s


def _analyse(text: str, label: str, aliases: AliasTable) -> tuple[str, str, str, bool]:
    """-> (key, display, actor_type, is_alias); key '' means: drop the mention."""
    if not isinstance(text, str):
        return "", "", "", False
    key = fold(text)
    if not key:
        return "", "", "", False
    hit = aliases.entries.get(key)
    if hit:
        return ("", "", "", False) if hit[1] == IGNORE else (key, hit[0], hit[1], True)
    words = unicodedata.normalize("NFKC", text).split()
    toks = _word_tokens(words)
    if toks and toks[0][1] == "the":
        toks = toks[1:]
    if label == "PERSON":
        toks = _strip_titles(toks, aliases)
        key = " ".join(t for _, t in toks)
        if not key:
            return "", "", "", False
        hit = aliases.entries.get(key)
        if hit:
            return ("", "", "", False) if hit[1] == IGNORE else (key, hit[0], hit[1], True)
    else:
        key = " ".join(t for _, t in toks)
    display = _display(words, toks) or key.title()
    return key, display, LABEL_TYPES.get(label, str(label).lower()), False


def _shouting(form: str) -> bool:
    """An all-capitals form of a longer name (wire datelines: 'NEW YORK'), not an acronym ('OPEC')."""
    return form.isupper() and sum(c.isalpha() for c in form) > 5


def _best_display(forms: Counter) -> str:
    """The most frequent surface form, preferring normal case over all-capitals and mixed over lower."""
    def rank(item: tuple[str, int]):
        form, n = item
        mixed = any(c.isupper() for c in form) and any(c.islower() for c in form)
        return (_shouting(form), -n, not mixed, form)

    best = min(forms.items(), key=rank)[0]
    return best.title() if _shouting(best) else best


def _is_subseq(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(tok in it for tok in short)


# --------------------------------------------------------------------------------------------
# Resolution over the corpus

REQUIRED_COLUMNS = ("article_id", "entity_text", "entity_label")


def resolve_actors(mentions: pd.DataFrame, aliases: AliasTable) -> pd.DataFrame:
    """Add ``actor`` and ``actor_type`` to NER mentions (see module docstring for the rules).

    mentions: columns article_id, entity_text, entity_label (start_char/end_char and any other
    columns are passed through unchanged). Returns the same rows, same index and order, minus those
    whose actor would be blank, with ``actor`` (str) and ``actor_type`` (str) added (replaced if present).
    Works on the whole corpus at once (needed for the cross-article surname rule).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in mentions.columns]
    if missing:
        raise ValueError(f"resolve_actors: mentions lack column(s) {missing}")
    base = mentions.drop(columns=[c for c in ("actor", "actor_type") if c in mentions.columns])
    if len(base) == 0:
        out = base.copy()
        out["actor"] = pd.Series(dtype=object)
        out["actor_type"] = pd.Series(dtype=object)
        return out

    text = base["entity_text"].astype(object).where(base["entity_text"].notna(), "")
    label = base["entity_label"].astype(object).where(base["entity_label"].notna(), "").astype(str)
    article = base["article_id"].astype(str).to_numpy(dtype=object)

    # 1. each distinct (text, label) once
    t_codes, t_uniq = pd.factorize(text.to_numpy(dtype=object))
    l_codes, l_uniq = pd.factorize(label.to_numpy(dtype=object))
    codes, pair_uniq = pd.factorize(t_codes.astype(np.int64) * len(l_uniq) + l_codes)
    uniq = list(zip(t_uniq[pair_uniq // len(l_uniq)], l_uniq[pair_uniq % len(l_uniq)]))
    counts = np.bincount(codes, minlength=len(uniq))
    u_key, u_disp, u_type, u_alias = [], [], [], []
    for t, lab in uniq:
        k, d, ty, al = _analyse(t, lab, aliases)
        u_key.append(k), u_disp.append(d), u_type.append(ty), u_alias.append(al)
    u_key_a = np.array(u_key, dtype=object)
    u_disp_a = np.array(u_disp, dtype=object)
    u_type_a = np.array(u_type, dtype=object)
    u_alias_a = np.array(u_alias, dtype=bool)

    # display name per key, weighted by number of mentions
    forms: dict[str, Counter] = defaultdict(Counter)
    for k, d, al, n in zip(u_key, u_disp, u_alias, counts):
        if k and not al:
            forms[k][d] += int(n)
    display = {k: _best_display(c) for k, c in forms.items()}

    key = u_key_a[codes]
    atype = u_type_a[codes].copy()
    is_alias = u_alias_a[codes]
    actor = u_disp_a[codes].copy()  # alias rows already hold their canonical actor
    keep = key != ""

    # 2. short person names within an article / surnames across the corpus
    u_person = np.array([(not al) and ty == "person" for ty, al in zip(u_type, u_alias)], dtype=bool)
    u_org1 = np.array(
        [(not al) and lab == "ORG" and k != "" and " " not in k for (t, lab), k, al in zip(uniq, u_key, u_alias)],
        dtype=bool,
    )
    person_rows = u_person[codes] & keep
    org_rows = u_org1[codes] & keep
    new_key = key.copy()
    new_type = atype.copy()
    if person_rows.any():
        art_names: dict[str, set[str]] = defaultdict(set)
        for a, k in zip(article[person_rows], key[person_rows]):
            art_names[a].add(k)
        art_orgs: dict[str, set[str]] = defaultdict(set)
        for a, k in zip(article[org_rows], key[org_rows]):
            if a in art_names:
                art_orgs[a].add(k)

        resolved: dict[tuple[str, str], str] = {}
        org_resolved: dict[tuple[str, str], str] = {}
        orphans: set[str] = set()  # one-token person keys with no candidate in some article
        orphan_pairs: list[tuple[str, str]] = []
        corpus_full: set[str] = set()
        full_articles: dict[str, set[str]] = defaultdict(set)  # full name -> articles that name it
        for a, names in art_names.items():
            tup = {n: tuple(n.split()) for n in names}
            full = [t for t in tup.values() if len(t) > 1 and t[-1] not in CORPORATE_SUFFIXES]
            maximal = [t for t in full if not any(len(o) > len(t) and _is_subseq(t, o) for o in full)]
            for t in maximal:
                full_articles[" ".join(t)].add(a)
            for n, t in tup.items():
                if t in maximal:
                    corpus_full.add(n)
                    continue
                cands = [m for m in maximal if len(m) > len(t) and _is_subseq(t, m)]
                if len(cands) == 1:
                    resolved[(a, n)] = " ".join(cands[0])
                    corpus_full.add(resolved[(a, n)])
                elif not cands and len(t) == 1:
                    orphans.add(n)
                    orphan_pairs.append((a, n))
                elif not cands and t[-1] not in CORPORATE_SUFFIXES:
                    corpus_full.add(n)
            for o in art_orgs.get(a, ()):
                cands = [m for m in maximal if o in (m[0], m[-1])]
                if len(cands) == 1:
                    org_resolved[(a, o)] = " ".join(cands[0])

        # cross-article: unique maximal full name with that surname
        if orphans:
            by_surname: dict[str, list[tuple[str, ...]]] = defaultdict(list)
            for n in corpus_full:
                t = tuple(n.split())
                if len(t) > 1 and t[-1] in orphans:
                    by_surname[t[-1]].append(t)
            surname_to: dict[str, str] = {}
            for s, fulls in by_surname.items():
                maximal = [t for t in fulls if not any(len(o) > len(t) and _is_subseq(t, o) for o in fulls)]
                if len(maximal) > 1:
                    # several candidates: a full name met in one article only (a typo, a passing
                    # relative: 'Athough Reagan', 'Nancy Reagan') does not compete with one the
                    # corpus names again and again ('Ronald Reagan'); two recurring ones stay ambiguous
                    recurring = [t for t in maximal if len(full_articles.get(" ".join(t), ())) >= 2]
                    maximal = recurring if len(recurring) == 1 else maximal
                if len(maximal) == 1:
                    surname_to[s] = " ".join(maximal[0])
            for a, n in orphan_pairs:
                if n in surname_to:
                    resolved[(a, n)] = surname_to[n]

        if resolved:
            idx = np.flatnonzero(person_rows)
            new_key[idx] = [resolved.get((a, k), k) for a, k in zip(article[idx], key[idx])]
        if org_resolved:
            idx = np.flatnonzero(org_rows)
            hits = [org_resolved.get((a, k)) for a, k in zip(article[idx], key[idx])]
            sel = np.array([h is not None for h in hits], dtype=bool)
            new_key[idx[sel]] = [h for h in hits if h is not None]
            new_type[idx[sel]] = "person"

    # 3. display names for non-alias rows
    non_alias = keep & ~is_alias
    if non_alias.any():
        idx = np.flatnonzero(non_alias)
        actor[idx] = [display.get(k) or k.title() for k in new_key[idx]]

    out = base.loc[keep].copy()
    out["actor"] = pd.Series(actor[keep], index=out.index, dtype=object).astype(str)
    out["actor_type"] = pd.Series(new_type[keep], index=out.index, dtype=object).astype(str)
    return out
