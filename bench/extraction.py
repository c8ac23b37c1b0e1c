"""Benchmark: dates and main text of web pages -- newsdag against no cleaning and trafilatura.

    .venv/bin/python bench/extraction.py                 # all 999 + 990 pages, ~10 min on 2 cores
    .venv/bin/python bench/extraction.py --limit 40      # 40 pages per set: a quick check
    .venv/bin/python bench/extraction.py --web-dir DIR --json bench/results/x.json --workers 2

Data (read-only, never copied into the repository): two archives in ``../shared/corpus/web/``
(``--web-dir``), unpacked into a temporary directory that is deleted at the end:

* ``htmldate.tar.xz``: htmldate's evaluation pages, ``htmldate/pages/*.html`` and
  ``htmldate/dates.json`` = {file: {url, date, set}}; sets ``mediacloud_2020`` (200 English news
  pages, 5 of them with gold date ``null``: they have no publication date) and ``bbaw`` (799
  German pages: news, blogs, institutions).
* ``trafilatura.tar.xz``: trafilatura's evaluation pages, ``trafilatura/pages/*.html`` and
  ``trafilatura/evaldata.json`` = {file: {url, with: [snippets], without: [snippets]}}.

Pages are bytes; they are decoded as newsdag decodes them (``newsdag.webpage.decode_html``, else
``trafilatura.utils.decode_file``).  Every page is measured in two modes:

* **HTML** -- the page as fetched.
* **page text** -- the page rendered to its visible text with ``inscriptis.get_text`` (the format
  of the scraped seed files: no markup, one block per line).

Methods (columns of the table):

* ``no cleaning`` -- the rendered visible text as the body, no date (dates: n/a).  Same in both
  modes, so one column.
* ``trafilatura + htmldate`` (HTML) -- ``trafilatura.extract(html, url=url)`` with its defaults for
  the body (its text output, which has no title) and
  ``htmldate.find_date(html, url=url, original_date=True)`` for the date.  The baseline of both
  modes: what a library does with the HTML that the page text no longer has.
* ``newsdag HTML`` -- ``newsdag.webpage.extract_page(html, url)``.  When the module offers
  ``find_site_recurring_lines``, the per-site recurring lines are computed over the pages of the
  same set (paragraphs: ``page_paragraphs`` of the body of a first pass without them) and the
  pages of sites that have some are extracted again with them; the figures are those of the
  second pass.  Missing module: the column says "not available".
* ``newsdag page text`` -- ``newsdag.cleaning.parse_document(text, recurring_lines)`` with
  ``recurring_lines = find_recurring_lines(the rendered texts of all pages of the set)``.

Measures:

* **dates**, for each set (``mediacloud_2020``, ``bbaw``, both = ``all``): a page's date is
  *right* when it is within one day of the gold date (|date - gold| <= 1 day), *wrong* when the
  method gives a date that is not right, *missing* when it gives none.  Reported: right % and
  wrong % of all pages of the set, and wrong % of the pages the method dated ("accepted").  The 5
  pages whose gold date is null are in the denominator of the first two but are neither right nor
  wrong (that is how the reference figures below count them: htmldate's 93.0 % / 3.0 % are
  186 and 6 of 200); how many of them a method dates anyway is reported on its own row (a date
  on a page that has none is an error a reader should see, too).
* **pages whose visible text shows their date** (page-text mode's fair denominator: a method
  reading the text cannot find a date the text does not contain): the gold date occurs in the
  rendered text in a common written form -- ISO ``2020-05-21`` (also ``/`` or ``.``);
  ``21.05.2020``, ``21/05/2020``, ``21-05-2020`` (day first); ``05/21/2020`` (US); day and month
  with or without leading zeros; ``21 May 2020``, ``21st of May, 2020``, ``21. Mai 2020``,
  ``May 21, 2020``, ``May 21st 2020``, month names in English or German, full or abbreviated, with
  or without a period (``Sept.``, ``Okt``, ``Mär``); four-digit years only; the match must not be
  part of a longer number.  Case-insensitive, whitespace collapsed.  Reported: how many pages
  qualify, and right % on them.
* **body**, on the trafilatura set: *with kept* = share of all ``with`` snippets (over all pages)
  found in the extracted title + body; *without dropped* = share of all ``without`` snippets NOT
  found.  Matching is substring search after collapsing runs of whitespace to one space on both
  sides (case-sensitive, as trafilatura's own evaluation).  A page the method rejects or fails on
  counts as empty output (nothing kept, everything dropped).  ``parse_document`` and
  ``extract_page`` reject undated pages, so for them a body-only cleaner is used when the module
  offers one -- ``newsdag.cleaning.clean_page(text, recurring_lines)`` -> (title, body) and
  ``newsdag.webpage.extract_parts(html, url)`` -> (title, paragraphs, date, url), with the
  same recurring lines removed (see ``TEXT_BODY_ONLY`` / ``HTML_BODY_ONLY``); otherwise a page rejected for ``missing_date`` counts as
  empty and the report says so.
* **speed**: mean milliseconds per page of each method, per call in one worker process (the
  workers run side by side, one per core), and the wall time of the whole benchmark.

Targets (from the issue): HTML -- dates right on >= 90 % of ``mediacloud_2020`` with <= 3 % of
its pages wrong; ``with`` kept and ``without`` dropped at least as high as trafilatura's defaults
measured on the same pages (reference: 93.1 % and 89.4 %; htmldate: 93.0 % right, 3.0 % wrong on
``mediacloud_2020``).  Page text -- dates right on >= 75 % of the pages whose visible text shows
their date, wrong on <= 3 % of the pages dated (both sets together); >= 90 % of ``with`` kept and
>= 80 % of ``without`` dropped.

Prints the Markdown table the README shows and writes a JSON report (default
``bench/results/extraction-latest.json``).  Exits 0 whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import re
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATE_SETS = ("mediacloud_2020", "bbaw")
BODY_SET = "trafilatura"
# body cleaners that do not require a date, looked up by name in newsdag.cleaning / newsdag.webpage
TEXT_BODY_ONLY = ("clean_page", "clean_page_text", "extract_body", "clean_body")  # (text, recurring) -> (title, body)
HTML_BODY_ONLY = ("extract_parts",)  # (html, url) -> (title, paragraphs, date, url) | Rejected
REFERENCE = {"trafilatura_with_kept": 93.1, "trafilatura_without_dropped": 89.4,
             "htmldate_mediacloud_right": 93.0, "htmldate_mediacloud_wrong": 3.0}

# --------------------------------------------------------------------------- helpers


def _quiet() -> None:
    for name in ("trafilatura", "htmldate", "charset_normalizer", "inscriptis"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _decoder():
    try:
        from newsdag.webpage import decode_html

        return "newsdag.webpage.decode_html", decode_html
    except ImportError:
        pass
    try:
        from trafilatura.utils import decode_file

        return "trafilatura.utils.decode_file", decode_file
    except ImportError:
        return "utf-8 (replace)", lambda b: b.decode("utf-8", "replace")


def _newsdag_html():
    try:
        from newsdag import webpage
    except Exception as exc:  # noqa: BLE001 - a module being written may not import yet
        return None, f"newsdag.webpage not importable: {type(exc).__name__}: {exc}"
    if not hasattr(webpage, "extract_page"):
        return None, "newsdag.webpage has no extract_page"
    return webpage, None


def _body_only(module, names: tuple[str, ...]) -> tuple[str | None, object]:
    for name in names:
        fn = getattr(module, name, None)
        if callable(fn):
            return f"{module.__name__}.{name}", fn
    return None, None


def _as_text(result) -> str | None:
    """title + body of whatever a method returned; None for a rejection / nothing."""
    if result is None:
        return None
    if isinstance(result, str):
        return result
    if isinstance(result, (list, tuple)):
        parts = [p for p in result if isinstance(p, str)]
        return "\n".join(parts) if parts else None
    body = getattr(result, "body", None)
    if body is None:
        return None  # a Rejected
    title = getattr(result, "title", None)
    return f"{title}\n{body}" if title else body


def _as_date(result) -> str | None:
    date = getattr(result, "published_date", None)
    return date.isoformat() if date is not None else None


def _reason(result) -> str | None:
    return getattr(result, "reason", None)


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    try:
        out, err = fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - a method that raises has failed on the page
        out, err = None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return out, (time.perf_counter() - started) * 1000, err


_WS = re.compile(r"\s+")


def _norm(text: str | None) -> str:
    return _WS.sub(" ", text).strip() if text else ""


# --------------------------------------------------------------------------- "the visible text shows the date"

_MONTHS = {
    1: ["january", "jan", "januar", "jänner", "jaenner", "jän"],
    2: ["february", "feb", "februar"],
    3: ["march", "mar", "märz", "maerz", "mär", "mrz"],
    4: ["april", "apr"],
    5: ["may", "mai"],
    6: ["june", "jun", "juni"],
    7: ["july", "jul", "juli"],
    8: ["august", "aug"],
    9: ["september", "sep", "sept"],
    10: ["october", "oct", "oktober", "okt"],
    11: ["november", "nov"],
    12: ["december", "dec", "dezember", "dez"],
}


def date_pattern(gold: dt.date) -> re.Pattern[str]:
    """A regex matching `gold` written in a common form (see the module docstring)."""
    y, m, d = gold.year, gold.month, gold.day
    D = f"0?{d}" if d < 10 else str(d)
    M = f"0?{m}" if m < 10 else str(m)
    day = rf"{D}(?:st|nd|rd|th|\.)?"
    mon = "(?:" + "|".join(sorted(map(re.escape, _MONTHS[m]), key=len, reverse=True)) + r")\.?"
    forms = [
        rf"{y}(?P<a>[-/.]){M}(?P=a){D}",    # 2020-05-21, 2020/5/21, 2020.05.21
        rf"{D}(?P<b>[-/.]){M}(?P=b){y}",    # 21.05.2020, 21/5/2020, 21-05-2020
        rf"{M}/{D}/{y}",                             # 05/21/2020 (US)
        rf"{day}\s*(?:of\s+)?{mon},?\s*{y}",         # 21 May 2020, 21st of May, 2020, 21. Mai 2020
        rf"(?<![a-zäöü]){mon}\s*{day},?\s*{y}",      # May 21, 2020, Sept. 21st 2020
    ]
    return re.compile(r"(?<![\d])(?:" + "|".join(forms) + r")(?!\d)", re.I)


def shows_date(text: str, gold: dt.date) -> bool:
    return bool(date_pattern(gold).search(_norm(text)))


# --------------------------------------------------------------------------- workers

_STATE: dict = {}


def _init_worker() -> None:
    _quiet()
    _STATE["decoder_name"], _STATE["decode"] = _decoder()
    _STATE["webpage"], _ = _newsdag_html()
    if _STATE["webpage"] is not None:
        _STATE["html_body_only"] = _body_only(_STATE["webpage"], HTML_BODY_ONLY)
    try:
        from newsdag import cleaning

        _STATE["cleaning"] = cleaning
        _STATE["text_body_only"] = _body_only(cleaning, TEXT_BODY_ONLY)
    except Exception:  # noqa: BLE001
        _STATE["cleaning"] = None


def _read(path: str) -> str:
    return _STATE["decode"](Path(path).read_bytes())


def phase1(task: dict) -> dict:
    """Decode, render, baselines, newsdag HTML first pass (no recurring lines)."""
    import htmldate
    import trafilatura
    from inscriptis import get_text

    out = {"key": task["key"], "errors": {}}
    html, out["ms_decode"], err = _timed(_read, task["path"])
    if html is None:
        out["errors"]["decode"] = err
        html = ""
    text, out["ms_render"], err = _timed(get_text, html)
    if err:
        out["errors"]["render"] = err
    out["text"] = text or ""
    body, out["ms_trafilatura"], err = _timed(trafilatura.extract, html, url=task["url"])
    if err:
        out["errors"]["trafilatura"] = err
    date, out["ms_htmldate"], err = _timed(htmldate.find_date, html, url=task["url"], original_date=True)
    if err:
        out["errors"]["htmldate"] = err
    out["baseline"] = {"body": body, "date": date[:10] if date else None}
    webpage = _STATE["webpage"]
    if webpage is not None:
        res, out["ms_newsdag_html"], err = _timed(webpage.extract_page, html, task["url"])
        if err:
            out["errors"]["newsdag_html"] = err
        out["newsdag_html"] = _html_entry(webpage, html, task["url"], res, frozenset())
        if hasattr(webpage, "page_paragraphs") and hasattr(webpage, "site_of"):
            out["site"] = webpage.site_of(task["url"])
            out["paragraphs"] = out["newsdag_html"].pop("paragraphs", None) \
                or webpage.page_paragraphs(getattr(res, "body", None))
    return out


def _html_entry(webpage, html: str, url: str, res, recurring: frozenset[str]) -> dict:
    """extract_page's date and title + body; for a page rejected as undated, the body
    extract_parts finds (recurring lines removed as extract_page removes them)."""
    entry = {"body": _as_text(res), "date": _as_date(res), "reason": _reason(res)}
    name, fn = _STATE.get("html_body_only") or (None, None)
    if fn is not None and _reason(res) == "missing_date":
        parts, _, err = _timed(fn, html, url)
        if isinstance(parts, tuple) and len(parts) >= 2:
            title, paragraphs = parts[0], list(parts[1] or [])
            entry["paragraphs"] = paragraphs
            kept = [p for p in paragraphs if webpage.normalise_line(p) not in recurring] if recurring \
                else paragraphs
            entry["body"] = "\n".join(([title] if title else []) + kept) if kept else None
            entry["body_only"] = True
    return entry


def phase2(task: dict) -> dict:
    """newsdag page text (and the newsdag HTML second pass for pages of sites with recurring lines)."""
    out = {"key": task["key"], "errors": {}}
    cleaning = _STATE["cleaning"]
    if cleaning is not None:
        recurring = task["recurring_lines"]
        res, out["ms_newsdag_text"], err = _timed(cleaning.parse_document, task["text"], recurring)
        if err:
            out["errors"]["newsdag_text"] = err
        out["newsdag_text"] = {"body": _as_text(res), "date": _as_date(res), "reason": _reason(res)}
        name, fn = _STATE.get("text_body_only") or (None, None)
        if fn is not None and _reason(res) == "missing_date":
            body, _, err = _timed(fn, task["text"], recurring)
            if err and err.startswith("TypeError"):
                body, _, err = _timed(fn, task["text"])
            out["newsdag_text"]["body"] = _as_text(body)
            out["newsdag_text"]["body_only"] = True
    if task.get("site_recurring") and _STATE["webpage"] is not None:
        webpage = _STATE["webpage"]
        html = _read(task["path"])
        res, out["ms_newsdag_html_recurring"], err = _timed(webpage.extract_page, html, task["url"],
                                                            recurring=task["site_recurring"])
        out["newsdag_html"] = _html_entry(webpage, html, task["url"], res, task["site_recurring"])
        out["newsdag_html"].pop("paragraphs", None)
    return out


def _run(pool, fn, tasks: list[dict], label: str) -> dict[str, dict]:
    results, n, started = {}, len(tasks), time.perf_counter()
    step = max(1, n // 20)
    for i, res in enumerate(pool.imap_unordered(fn, tasks, chunksize=2), 1):
        results[res["key"]] = res
        if i % step == 0 or i == n:
            print(f"  {label}: {i}/{n} pages, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return results


# --------------------------------------------------------------------------- scoring


def score_dates(pages: list[dict], method: str, texts: dict[str, str] | None) -> dict:
    right = wrong = missing = shown = shown_right = no_gold = no_gold_dated = 0
    for page in pages:
        got = page[method]["date"] if page.get(method) else None
        gold = page["gold"]
        if gold is None:  # neither right nor wrong (as in the reference figures); reported apart
            no_gold += 1
            no_gold_dated += got is not None
            continue
        ok = got is not None and abs((dt.date.fromisoformat(got) - dt.date.fromisoformat(gold)).days) <= 1
        if ok:
            right += 1
        elif got is None:
            missing += 1
        else:
            wrong += 1
        if texts is not None and shows_date(texts[page["key"]], dt.date.fromisoformat(gold)):
            shown += 1
            shown_right += ok
    n = len(pages)
    dated = right + wrong
    pct = lambda a, b: round(100 * a / b, 1) if b else None  # noqa: E731
    return {"pages": n, "right": right, "wrong": wrong, "missing": missing, "dated": dated,
            "right_pct": pct(right, n), "wrong_pct": pct(wrong, n), "wrong_pct_of_dated": pct(wrong, dated),
            "no_gold_pages": no_gold, "no_gold_dated": no_gold_dated,
            "date_shown_pages": shown, "date_shown_pct": pct(shown, n),
            "right_on_date_shown": shown_right, "right_pct_on_date_shown": pct(shown_right, shown)}


def score_body(pages: list[dict], method: str) -> dict:
    kept = with_n = dropped = without_n = empty = body_only = 0
    reasons: dict[str, int] = {}
    for page in pages:
        out = page.get(method) or {}
        text = _norm(out.get("body"))
        body_only += bool(out.get("body_only"))
        if not text:
            empty += 1
            reason = out.get("reason") or "no output"
            reasons[reason] = reasons.get(reason, 0) + 1
        for s in page["with"]:
            with_n += 1
            kept += bool(text) and _norm(s) in text
        for s in page["without"]:
            without_n += 1
            dropped += not (text and _norm(s) in text)
    return {"pages": len(pages), "with": with_n, "with_kept": kept,
            "with_kept_pct": round(100 * kept / with_n, 1) if with_n else None,
            "without": without_n, "without_dropped": dropped,
            "without_dropped_pct": round(100 * dropped / without_n, 1) if without_n else None,
            "empty_pages": empty, "empty_reasons": reasons, "undated_pages_measured_by_body_only": body_only}


def _ms(values: list[float]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": round(statistics.fmean(values), 1), "median": round(statistics.median(values), 1),
            "max": round(max(values), 1), "pages": len(values)}


# --------------------------------------------------------------------------- main


def load(web_dir: Path, tmp: Path, limit: int | None) -> list[dict]:
    for name in ("htmldate.tar.xz", "trafilatura.tar.xz"):
        with tarfile.open(web_dir / name) as tar:
            tar.extractall(tmp, filter="data")
    pages = []
    gold = json.loads((tmp / "htmldate" / "dates.json").read_text(encoding="utf-8"))
    per_set: dict[str, int] = {}
    for key in sorted(gold):
        item = gold[key]
        if limit and per_set.get(item["set"], 0) >= limit:
            continue
        per_set[item["set"]] = per_set.get(item["set"], 0) + 1
        pages.append({"key": f"htmldate/{key}", "set": item["set"], "url": item["url"], "gold": item["date"],
                      "path": str(tmp / "htmldate" / "pages" / key)})
    evaldata = json.loads((tmp / "trafilatura" / "evaldata.json").read_text(encoding="utf-8"))
    for key in sorted(evaldata)[:limit] if limit else sorted(evaldata):
        item = evaldata[key]
        pages.append({"key": f"trafilatura/{key}", "set": BODY_SET, "url": item["url"],
                      "with": item["with"], "without": item["without"],
                      "path": str(tmp / "trafilatura" / "pages" / key)})
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web-dir", type=Path, default=ROOT.parent / "shared" / "corpus" / "web")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "extraction-latest.json")
    parser.add_argument("--limit", type=int, default=None, help="at most N pages per set (quick runs)")
    parser.add_argument("--workers", type=int, default=min(2, len(os.sched_getaffinity(0))))
    args = parser.parse_args()
    _quiet()
    wall = time.perf_counter()
    decoder_name, _ = _decoder()
    webpage, webpage_missing = _newsdag_html()
    notes: list[str] = []
    if webpage_missing:
        notes.append(f"newsdag HTML: not available yet ({webpage_missing})")
    try:
        from newsdag import cleaning
    except Exception as exc:  # noqa: BLE001
        cleaning = None
        notes.append(f"newsdag page text: not available ({type(exc).__name__}: {exc})")
    text_body_only = _body_only(cleaning, TEXT_BODY_ONLY)[0] if cleaning else None
    html_body_only = _body_only(webpage, HTML_BODY_ONLY)[0] if webpage else None
    for mode, fn in (("page text", text_body_only), ("HTML", html_body_only)):
        if fn:
            notes.append(f"newsdag {mode}: body of undated pages measured with {fn}")
        elif (mode == "page text" and cleaning) or (mode == "HTML" and webpage):
            notes.append(f"newsdag {mode}: no body-only cleaner in the module, so pages rejected for "
                         "missing_date count as empty output in the body measures")

    with tempfile.TemporaryDirectory(prefix="newsdag-extraction-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"unpacking {args.web_dir} ...", file=sys.stderr, flush=True)
        pages = load(args.web_dir, tmp, args.limit)
        by_key = {p["key"]: p for p in pages}
        ctx = mp.get_context("fork")
        with ctx.Pool(args.workers, initializer=_init_worker) as pool:
            t1 = time.perf_counter()
            first = _run(pool, phase1, [{k: p[k] for k in ("key", "path", "url")} for p in pages],
                         "decode, render, trafilatura, htmldate, newsdag HTML")
            t1 = time.perf_counter() - t1
            for key, res in first.items():
                by_key[key].update(res)
            # recurring lines per set: page text (find_recurring_lines), HTML (per site)
            recurring, recurring_ms, site_recurring = {}, {}, {}
            for set_name in (*DATE_SETS, BODY_SET):
                members = [p for p in pages if p["set"] == set_name]
                if cleaning is not None:
                    started = time.perf_counter()
                    recurring[set_name] = cleaning.find_recurring_lines([p["text"] for p in members])
                    recurring_ms[set_name] = round((time.perf_counter() - started) * 1000, 1)
                if webpage is not None and hasattr(webpage, "find_site_recurring_lines"):
                    site_recurring[set_name] = webpage.find_site_recurring_lines(
                        (p.get("site"), p.get("paragraphs") or []) for p in members)
            tasks = []
            for p in pages:
                site_lines = site_recurring.get(p["set"], {}).get(p.get("site")) if p.get("site") else None
                tasks.append({"key": p["key"], "path": p["path"], "url": p["url"], "text": p["text"],
                              "recurring_lines": recurring.get(p["set"], frozenset()),
                              "site_recurring": site_lines or None})
            t2 = time.perf_counter()
            second = _run(pool, phase2, tasks, "newsdag page text")
            t2 = time.perf_counter() - t2
            for key, res in second.items():
                errors = by_key[key]["errors"]
                by_key[key].update({k: v for k, v in res.items() if k != "errors"})
                errors.update(res["errors"])
    wall = time.perf_counter() - wall

    # ------------------------------------------------------------------ scores
    methods = {"no_cleaning": "no cleaning", "baseline": "trafilatura + htmldate",
               "newsdag_html": "newsdag HTML", "newsdag_text": "newsdag page text"}
    for p in pages:
        p["no_cleaning"] = {"body": p.get("text"), "date": None}
    texts = {p["key"]: p.get("text") or "" for p in pages}
    date_pages = {s: [p for p in pages if p["set"] == s] for s in DATE_SETS}
    date_pages["all"] = [p for p in pages if p["set"] in DATE_SETS]
    body_pages = [p for p in pages if p["set"] == BODY_SET]
    available = {"no_cleaning": True, "baseline": True, "newsdag_html": webpage is not None,
                 "newsdag_text": cleaning is not None}
    dates = {m: {s: score_dates(ps, m, texts) for s, ps in date_pages.items()}
             for m in methods if m != "no_cleaning" and available[m]}
    bodies = {m: score_body(body_pages, m) for m in methods if available[m]}
    errors: dict[str, dict[str, int]] = {}
    for p in pages:
        for method, err in p.get("errors", {}).items():
            kind = err.split(":", 1)[0]
            errors.setdefault(method, {})[kind] = errors.get(method, {}).get(kind, 0) + 1
    speed = {}
    for name, field in (("decode", "ms_decode"), ("render (inscriptis)", "ms_render"),
                        ("trafilatura.extract", "ms_trafilatura"), ("htmldate.find_date", "ms_htmldate"),
                        ("newsdag extract_page", "ms_newsdag_html"),
                        ("newsdag extract_page (2nd pass, recurring)", "ms_newsdag_html_recurring"),
                        ("newsdag parse_document", "ms_newsdag_text")):
        speed[name] = {"htmldate_pages": _ms([p.get(field) for p in pages if p["set"] in DATE_SETS]),
                       "trafilatura_pages": _ms([p.get(field) for p in pages if p["set"] == BODY_SET])}

    # ------------------------------------------------------------------ targets
    def get(d, *path):
        for k in path:
            if d is None:
                return None
            d = d.get(k)
        return d

    def check(value, op, threshold):
        if value is None or threshold is None:
            return None
        return value >= threshold if op == ">=" else value <= threshold

    base_with, base_without = bodies["baseline"]["with_kept_pct"], bodies["baseline"]["without_dropped_pct"]
    targets = {
        "html_mediacloud_right>=90": (get(dates, "newsdag_html", "mediacloud_2020", "right_pct"), ">=", 90.0),
        "html_mediacloud_wrong<=3": (get(dates, "newsdag_html", "mediacloud_2020", "wrong_pct"), "<=", 3.0),
        "html_with_kept>=trafilatura": (get(bodies, "newsdag_html", "with_kept_pct"), ">=", base_with),
        "html_without_dropped>=trafilatura": (get(bodies, "newsdag_html", "without_dropped_pct"), ">=", base_without),
        "text_right_on_date_shown>=75": (get(dates, "newsdag_text", "all", "right_pct_on_date_shown"), ">=", 75.0),
        "text_wrong_of_dated<=3": (get(dates, "newsdag_text", "all", "wrong_pct_of_dated"), "<=", 3.0),
        "text_with_kept>=90": (get(bodies, "newsdag_text", "with_kept_pct"), ">=", 90.0),
        "text_without_dropped>=80": (get(bodies, "newsdag_text", "without_dropped_pct"), ">=", 80.0),
    }
    target_ok = {k: check(*v) for k, v in targets.items()}

    report = {
        "date": dt.date.today().isoformat(), "limit": args.limit, "workers": args.workers,
        "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version()},
        "versions": _versions(), "decoder": decoder_name, "notes": notes,
        "pages": {s: len(ps) for s, ps in date_pages.items()} | {BODY_SET: len(body_pages)},
        "dates": dates, "bodies": bodies, "speed_ms_per_page": speed,
        "recurring_lines": {s: len(v) for s, v in recurring.items()},
        "find_recurring_lines_ms": recurring_ms,
        "site_recurring": {s: {site: len(lines) for site, lines in v.items()} for s, v in site_recurring.items()},
        "errors": errors, "wall_seconds": round(wall, 1),
        "phase_seconds": {"decode+render+baselines+newsdag_html": round(t1, 1), "newsdag_text": round(t2, 1)},
        "reference": REFERENCE,
        "targets": {k: {"value": v[0], "op": v[1], "threshold": v[2], "met": target_ok[k]} for k, v in targets.items()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = args.json.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    tmp_json.replace(args.json)
    print(render(report, available, target_ok))
    print(f"\nreport: {args.json}")
    return 0


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("trafilatura", "htmldate", "inscriptis", "lxml", "charset-normalizer"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def render(report: dict, available: dict, ok: dict) -> str:
    """The Markdown table: rows = measures, columns = methods, targets next to the newsdag columns."""
    cols = ["no_cleaning", "baseline", "newsdag_html", "newsdag_text"]
    dates, bodies, n = report["dates"], report["bodies"], report["pages"]

    def pct(v):
        return "–" if v is None else f"{v:.1f} %"

    def mark(key, text):
        return text if ok.get(key) is None else f"{text} {'✓' if ok[key] else '✗'}"

    def cell(method, fn):
        if not available[method]:
            return "not available yet"
        return fn(method)

    rows = []

    def row(label, fns, html_target="", text_target=""):
        values = [cell(m, fns[m]) if m in fns else "n/a" for m in cols]
        rows.append([label, values[0], values[1], values[2], html_target, values[3], text_target])

    def date_fn(s, field):
        return lambda m: pct(dates[m][s][field])

    for s in ("mediacloud_2020", "bbaw", "all"):
        label = {"all": "both"}.get(s, f"`{s}`")
        fns = {m: date_fn(s, "right_pct") for m in ("baseline", "newsdag_html", "newsdag_text")}
        row(f"dates right, {label} ({n[s]} pages)", fns,
            mark("html_mediacloud_right>=90", "≥ 90 %") if s == "mediacloud_2020" else "")
        fns = {m: date_fn(s, "wrong_pct") for m in ("baseline", "newsdag_html", "newsdag_text")}
        row(f"dates wrong, {label}, % of pages", fns,
            mark("html_mediacloud_wrong<=3", "≤ 3 %") if s == "mediacloud_2020" else "")
        fns = {m: date_fn(s, "wrong_pct_of_dated") for m in ("baseline", "newsdag_html", "newsdag_text")}
        row(f"dates wrong, {label}, % of pages dated", fns, "",
            mark("text_wrong_of_dated<=3", "≤ 3 %") if s == "all" else "")
    a = dates["baseline"]["all"]
    if a["no_gold_pages"]:
        fns = {m: (lambda m: f"{dates[m]['all']['no_gold_dated']}")
               for m in ("baseline", "newsdag_html", "newsdag_text")}
        row(f"pages with no publication date (gold null, {a['no_gold_pages']}) given a date", fns)
    rows.append(["pages whose visible text shows their date (both sets)",
                 f"{a['date_shown_pages']} ({a['date_shown_pct']:.1f} %)", "", "", "", "", ""])
    fns = {m: date_fn("all", "right_pct_on_date_shown") for m in ("baseline", "newsdag_html", "newsdag_text")}
    row("dates right on those pages", fns, "", mark("text_right_on_date_shown>=75", "≥ 75 %"))
    b = bodies["baseline"]
    fns = {m: (lambda m: pct(bodies[m]["with_kept_pct"])) for m in cols}
    row(f"`with` kept (trafilatura set, {b['with']} snippets, {n[BODY_SET]} pages)", fns,
        mark("html_with_kept>=trafilatura", f"≥ trafilatura ({pct(b['with_kept_pct'])})"),
        mark("text_with_kept>=90", "≥ 90 %"))
    fns = {m: (lambda m: pct(bodies[m]["without_dropped_pct"])) for m in cols}
    row(f"`without` dropped ({b['without']} snippets)", fns,
        mark("html_without_dropped>=trafilatura", f"≥ trafilatura ({pct(b['without_dropped_pct'])})"),
        mark("text_without_dropped>=80", "≥ 80 %"))

    def empty_fn(m):
        e = bodies[m]
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(e["empty_reasons"].items(), key=lambda kv: -kv[1]))
        out = f"{e['empty_pages']}" + (f" ({reasons})" if reasons and m != "no_cleaning" else "")
        if e.get("undated_pages_measured_by_body_only"):
            out += f"; {e['undated_pages_measured_by_body_only']} undated, body measured without the date"
        return out
    row("trafilatura-set pages with no output", {m: empty_fn for m in cols})
    sp = report["speed_ms_per_page"]

    def speed_cell(name):
        s = sp[name]
        if not s["htmldate_pages"]:
            return "–"
        t = s["trafilatura_pages"]
        return f"{s['htmldate_pages']['mean']:.0f} / {t['mean']:.0f}" if t else f"{s['htmldate_pages']['mean']:.0f}"
    speed_methods = {"no_cleaning": lambda m: speed_cell("render (inscriptis)"),
                     "baseline": lambda m: f"{speed_cell('trafilatura.extract')} + {speed_cell('htmldate.find_date')}",
                     "newsdag_html": lambda m: speed_cell("newsdag extract_page"),
                     "newsdag_text": lambda m: speed_cell("newsdag parse_document")}
    row("ms per page, htmldate / trafilatura pages (one process)", speed_methods)

    header = ["", "no cleaning (visible text)", "trafilatura + htmldate (HTML)", "newsdag HTML `extract_page`",
              "target (HTML)", "newsdag page text `parse_document`", "target (page text)"]
    lines = [f"extraction benchmark: {n['all']} htmldate pages ({n['mediacloud_2020']} mediacloud_2020, "
             f"{n['bbaw']} bbaw), {n[BODY_SET]} trafilatura pages; decoded with {report['decoder']}; "
             f"wall {report['wall_seconds']:.0f} s with {report['workers']} workers", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    if report["notes"] or report["errors"]:
        lines.append("")
    for note in report["notes"]:
        lines.append(f"- {note}")
    if report["errors"]:
        lines.append(f"- exceptions (page counted as failed): {report['errors']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
