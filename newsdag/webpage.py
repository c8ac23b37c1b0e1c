"""Web pages: recognise HTML, decode its bytes, extract (date, title, main text, canonical URL).

The work is done by maintained libraries:

* main text: ``trafilatura.bare_extraction`` in its balanced focus and fast mode, without reader
  comments (:data:`TRAFILATURA_OPTIONS`), and again in full mode when the fast text is shorter than
  :data:`FULL_BELOW_CHARS`; title: trafilatura's metadata helpers (OpenGraph/meta tags, JSON-LD,
  ``<h1>``, ``<title>``);
* publication date: ``htmldate.find_date(original_date=True)`` with the page's canonical URL (or
  the fetch URL) and the fetch date as upper bound (a page cannot be published after it was
  fetched); a 1st-of-month date that only htmldate's free-text fallback finds is refused (it is
  a copyright year or a year/month without a day), see :func:`page_date`;
* undeclared encodings: ``charset_normalizer`` (a dependency of trafilatura and htmldate).

What we add is "where the corpus helps": lines that recur across many pages of the same site
(menus, newsletter boxes, legal footers that trafilatura let through) are dropped when the caller
passes them as ``recurring`` (see :func:`find_site_recurring_lines`)."""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
from collections import defaultdict
from typing import Iterable, NamedTuple
from urllib.parse import urlsplit

from newsdag.cleaning import Parsed, Rejected, normalise_line
from newsdag.reading import Undecodable

__all__ = [
    "looks_like_html",
    "decode_html",
    "extract_page",
    "site_of",
    "page_paragraphs",
    "extract_parts",
    "finish_page",
    "PageParts",
    "page_date",
    "find_site_recurring_lines",
    "TRAFILATURA_OPTIONS",
    "FULL_BELOW_CHARS",
]

# trafilatura and htmldate log every discarded page at WARNING/ERROR: that is our Rejected, not a fault.
for _name in ("trafilatura", "htmldate", "charset_normalizer"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

# Options passed to trafilatura.bare_extraction (measured on trafilatura's 990-page evaluation set,
# see the module's report): its defaults, except that reader comments are not article text and that it
# runs in fast mode (no comparison with readability's and jusText's answers), with the full mode as a
# second pass where the fast text is short (FULL_BELOW_CHARS).
TRAFILATURA_OPTIONS: dict[str, object] = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
}
# A fast-mode text shorter than this (characters) is extracted again in full mode, where the fast mode
# most often missed the article.  Measured on the 990 pages (`with` snippets kept / `without` dropped /
# CPU of trafilatura per page): full mode 94.6 % / 90.0 % / 42 ms; fast mode 93.4 % / 90.1 % / 29 ms;
# fast, full below 500 characters 94.0 % / 90.1 % / 31 ms (4.5 % of these pages and 6.1 % of htmldate's
# 999 pages take the second pass); below 1,000: 94.5 % / 90.0 % / 36 ms.
FULL_BELOW_CHARS = 500

SNIFF_BYTES = 4096           # how far looks_like_html and the <meta charset> search look
MAX_NUL_FRACTION = 0.01      # more NUL bytes than this (without a UTF-16/32 BOM): binary, not a page
MAX_PAGE_CHARS = 20_000_000  # larger "pages" are rejected before parsing

# --------------------------------------------------------------------------- sniffing

# what may precede the first tag: whitespace, comments, an XML declaration
_PROLOGUE = re.compile(r"(?:\s|<!--.*?-->|<\?xml[^>]*>)*", re.S)
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.I)
_EARLY_TAG = re.compile(r"<(?:head|body|meta|title)[\s>/]", re.I)


def looks_like_html(data: bytes | str) -> bool:
    """True when the content is an HTML document: after an optional BOM, whitespace, comments or
    XML declaration it starts with ``<!doctype html`` or ``<html``, or it starts with a tag and has
    a ``<head>``/``<body>``/``<meta>``/``<title>`` tag within its first 4 KB (case-insensitive).
    A text that merely mentions "<html" somewhere does not start with a tag, so it is not HTML."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        head = bytes(data[:SNIFF_BYTES])
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = head.decode("utf-16", errors="ignore")
        else:
            text = head.decode("latin-1")  # only ASCII matters for sniffing
    else:
        text = data[:SNIFF_BYTES]
    text = text.lstrip("\ufeff\xef\xbb\xbf")
    pos = _PROLOGUE.match(text).end()
    if _HTML_START.match(text, pos):
        return True
    return text.startswith("<", pos) and text[pos + 1:pos + 2].isalpha() and \
        _EARLY_TAG.search(text, pos) is not None


# --------------------------------------------------------------------------- decoding

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
# WHATWG encoding standard: on the web these labels mean a superset encoding
_WEB_ALIASES = {
    "latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252", "iso8859-9": "cp1254",
    "gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "shift_jis": "cp932",
    "tis-620": "cp874", "iso8859-11": "cp874", "big5": "big5hkscs",
}
_LABELS = {"windows-874": "cp874", "x-sjis": "cp932", "x-gbk": "gb18030", "x-mac-roman": "mac_roman"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
MOSTLY_UTF8 = 20  # at least this many valid multi-byte UTF-8 characters per invalid byte


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("x-user-defined", "replacement"):
        return None
    label = _LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    return _WEB_ALIASES.get(name, name)


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:SNIFF_BYTES])
    return m.group(1).decode("ascii", "replace") if m else None


def _finish(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_html(data: bytes, declared_charset: str | None = None) -> str:
    """Decode a page's bytes.  Honoured in order: a BOM; the charset declared by HTTP
    (``declared_charset``, e.g. from a WARC record's Content-Type); the document's own
    ``<meta charset>`` / ``<meta http-equiv=Content-Type>`` in its first 4 KB; UTF-8; the
    encoding charset_normalizer detects; cp1252.

    Two exceptions to that order, both because bytes are better evidence than labels:
    bytes that are valid UTF-8 and contain non-ASCII characters are UTF-8 whatever the labels say
    (pages re-saved as UTF-8 keep their old ``<meta charset=iso-8859-1>``; text in a single-byte
    charset is practically never valid UTF-8), and bytes that are *mostly* UTF-8 (a few invalid
    bytes among many valid multi-byte characters) are decoded as UTF-8 with U+FFFD for the bad
    bytes rather than as a single-byte charset.  A declared charset that is unknown, or that the
    bytes do not decode under, is skipped; a UTF-16/32 declaration on bytes without NULs is
    wrong and skipped; labels follow the WHATWG mapping (iso-8859-1 and ascii mean windows-1252,
    gb2312 means GB18030, ...).  CRLF becomes LF.  Raises :class:`newsdag.reading.Undecodable`
    (one-line message) when nothing decodes the bytes or they look binary (many NUL bytes)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _finish(data[len(bom):].decode(codec))
            except UnicodeDecodeError:
                break  # a BOM followed by bytes that don't fit it: try the other ways
    nul = data.count(b"\x00")
    declared = [_codec(declared_charset), _codec(_meta_charset(data))]
    wide = [c for c in declared if c and c.startswith(("utf-16", "utf-32"))]
    if not nul:  # markup in UTF-16/32 is full of NUL bytes: without any, such a declaration is wrong
        declared = [c for c in declared if c not in wide]
    elif not wide and nul > MAX_NUL_FRACTION * len(data):
        first = data.find(b"\x00")
        raise Undecodable(f"{nul} NUL bytes in {len(data)} bytes (first at offset {first}): binary, not a page")
    if not wide:
        try:
            return _finish(data.decode("utf-8"))  # valid UTF-8 (pure ASCII reads the same in any label)
        except UnicodeDecodeError:
            pass
        if _mostly_utf8(data):
            return _finish(data.decode("utf-8", errors="replace"))
    tried: list[str] = ["utf-8"] if not wide else []
    for codec in (*declared, "utf-8"):
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            return _finish(data.decode(codec))
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding:
            codec = _codec(best.encoding)
            if codec and codec not in tried:
                tried.append(codec)
                return _finish(data.decode(codec))
    except (UnicodeDecodeError, LookupError, ImportError, RuntimeError):
        pass
    if "cp1252" not in tried:
        tried.append("cp1252")
        try:
            return _finish(data.decode("cp1252"))
        except UnicodeDecodeError:
            pass
    raise Undecodable(f"page bytes decode under none of {', '.join(tried)}")


def _mostly_utf8(data: bytes) -> bool:
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # valid non-ASCII characters
    return good >= MOSTLY_UTF8 * max(bad, 1)


# --------------------------------------------------------------------------- sites and recurring lines

def site_of(url: str | None) -> str | None:
    """The host of a URL, lowercase, without a leading ``www.``; None when there is none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") and len(host) > 4 else host


def find_site_recurring_lines(pages: Iterable[tuple[str | None, Iterable[str]]], min_pages: int = 5,
                              min_fraction: float = 0.3, max_words: int = 12) -> dict[str, frozenset[str]]:
    """Per site, the normalised paragraphs (:func:`newsdag.cleaning.normalise_line`) that occur in at
    least max(min_pages, min_fraction x the site's page count) of its pages.

    ``pages`` yields (site, paragraphs) -- e.g. (``site_of(url)``, :func:`page_paragraphs` of the page);
    pages without a site are ignored.  Only short paragraphs (<= ``max_words`` words) qualify, so
    a paragraph of real prose that a site repeats (a standing disclaimer is fine to drop, a story
    is not) never counts.  Pass ``result.get(site_of(url), frozenset())`` as ``recurring`` to
    :func:`extract_page`.  A site with fewer than ``min_pages`` pages gets nothing."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    n_pages: dict[str, int] = defaultdict(int)
    for site, paragraphs in pages:
        if not site:
            continue
        n_pages[site] += 1
        site_counts = counts[site]
        for key in {normalise_line(p) for p in paragraphs if 0 < len(p.split()) <= max_words}:
            site_counts[key] = site_counts.get(key, 0) + 1
    result: dict[str, frozenset[str]] = {}
    for site, site_counts in counts.items():
        threshold = max(min_pages, min_fraction * n_pages[site])
        lines = frozenset(k for k, c in site_counts.items() if c >= threshold)
        if lines:
            result[site] = lines
    return result


# --------------------------------------------------------------------------- extraction

_CANONICAL_XPATH = (
    './/link[@rel="canonical"]/@href | .//link[@rel="Canonical"]/@href | .//link[@rel="CANONICAL"]/@href'
    ' | .//meta[@property="og:url"]/@content | .//meta[@name="og:url"]/@content'
)


def _canonical(tree) -> str | None:
    """The first absolute http(s) canonical link or og:url the page states."""
    try:
        candidates = tree.xpath(_CANONICAL_XPATH)
    except Exception:  # noqa: BLE001 - lxml on a broken tree
        return None
    for href in candidates:
        href = str(href).strip()
        try:
            parts = urlsplit(href)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname and " " not in href:
            return href
    return None


def page_paragraphs(text: str | None) -> list[str]:
    """Extracted text to paragraphs: one per non-empty line, inner whitespace collapsed."""
    if not text:
        return []
    out = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out


def _clean_title(title: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())
    return title or None


class PageParts(NamedTuple):
    """What one page yields before the corpus is known (see :func:`extract_parts`)."""
    title: str | None
    paragraphs: tuple[str, ...]          # main text, one paragraph per extracted line/block
    published_date: dt.date | None       # htmldate's answer (None: no date found)
    url: str | None                      # canonical URL when the page states one, else the fetch URL


def extract_page(html: str, url: str | None = None, fetched: dt.date | None = None,
                 recurring: frozenset[str] = frozenset()) -> Parsed | Rejected:
    """Date, title, main text and canonical URL of one decoded HTML page, or why it has none.

    * date: htmldate ``find_date(original_date=True, extensive_search=True)`` with the page's
      canonical URL (else ``url``) and ``max_date`` = end of the ``fetched`` day when given
      (see :func:`page_date`);
    * title and text: trafilatura (:data:`TRAFILATURA_OPTIONS`; a fast-mode text shorter than
      :data:`FULL_BELOW_CHARS` is extracted again in full mode), one paragraph per extracted
      line, joined with ``"\\n\\n"``; paragraphs whose :func:`normalise_line` form is in
      ``recurring`` are dropped;
    * url: the page's absolute ``<link rel=canonical>`` or ``og:url``, else ``url``.

    The title is also the first body paragraph (as for scraped text files) unless the text
    already starts with it.  Never raises: ``Rejected('missing_date' | 'empty_body' |
    'unparseable_html', one-line detail)``.  Same as ``finish_page(extract_parts(html, url,
    fetched), recurring, fetched)``."""
    return finish_page(extract_parts(html, url, fetched), recurring, fetched)


def finish_page(parts: PageParts | Rejected, recurring: frozenset[str] = frozenset(),
                fetched: dt.date | None = None) -> Parsed | Rejected:
    """Turn :func:`extract_parts` output into the article: drop the ``recurring`` paragraphs,
    require text and a date, put the title first.  Cheap (no HTML work): extract every page of a
    site once, compute :func:`find_site_recurring_lines` from the parts, then finish each."""
    if isinstance(parts, Rejected):
        return parts
    paragraphs = list(parts.paragraphs)
    if recurring:
        paragraphs = [p for p in paragraphs if normalise_line(p) not in recurring]
    if not paragraphs:
        return Rejected("empty_body", "no main text left on the page after removing the site's recurring lines"
                        if recurring and parts.paragraphs else "trafilatura found no main text on the page")
    if parts.published_date is None:
        return Rejected("missing_date", "no publication date in the page's metadata, URL or text"
                        + (f" (on or before the fetch date {fetched.isoformat()})" if fetched else ""))
    title = parts.title
    if title and normalise_line(paragraphs[0]) != normalise_line(title):
        paragraphs.insert(0, title)
    return Parsed(parts.published_date, "html", title, "\n\n".join(paragraphs), url=parts.url)


def extract_parts(html: str, url: str | None = None, fetched: dt.date | None = None,
                  **trafilatura_options) -> PageParts | Rejected:
    """The HTML work behind :func:`extract_page`: title, paragraphs, date and canonical URL, before
    recurring lines are removed and before a missing date is a rejection.  ``trafilatura_options``
    override :data:`TRAFILATURA_OPTIONS` (for measurements; ``fast=False``: one pass in full mode).
    Never raises: hostile input gives ``Rejected('unparseable_html' | 'empty_body', detail)``."""
    try:
        return _extract_parts(html, url, fetched, trafilatura_options)
    except RecursionError:
        return Rejected("unparseable_html", "page nesting too deep to parse")
    except Exception as exc:  # noqa: BLE001 - libraries' errors on hostile input become a reason
        msg = " ".join(str(exc).split())[:200]
        return Rejected("unparseable_html", f"{type(exc).__name__} while parsing the page: {msg}")


def _extract_parts(html: str, url: str | None, fetched: dt.date | None,
                   trafilatura_options: dict) -> PageParts | Rejected:
    from trafilatura.utils import load_html

    if not isinstance(html, str):
        return Rejected("unparseable_html", f"expected decoded text, got {type(html).__name__}")
    if len(html) > MAX_PAGE_CHARS:
        return Rejected("unparseable_html", f"page of {len(html):,} characters is larger than "
                                            f"the {MAX_PAGE_CHARS:,} accepted")
    if not html.strip():
        return Rejected("empty_body", "the page is empty")
    tree = load_html(html)
    if tree is None:
        return Rejected("unparseable_html", "lxml could not build a document tree from the page")
    canonical = _canonical(tree) or url
    title = _title(tree)
    found = page_date(html, canonical, fetched)
    try:
        date = dt.date.fromisoformat(found[:10]) if found else None
    except ValueError:
        date = None
    text = _main_text(tree, canonical, {**TRAFILATURA_OPTIONS, **trafilatura_options})
    if text is None:
        return Rejected("empty_body", "trafilatura found no main text on the page")
    return PageParts(title, tuple(page_paragraphs(text)), date, canonical)


def _main_text(tree, url: str | None, options: dict) -> str | None:
    """trafilatura's main text of the page (None: none found).  In fast mode a text shorter than
    :data:`FULL_BELOW_CHARS` is extracted again in full mode, whose answer is kept when it has one.
    trafilatura copies the tree it is given, so the tree serves both passes."""
    from trafilatura import bare_extraction

    doc = bare_extraction(tree, url=url, with_metadata=False, **options)
    text = doc.text if doc is not None else None
    if options.get("fast") and len(text or "") < FULL_BELOW_CHARS:
        full = bare_extraction(tree, url=url, with_metadata=False, **{**options, "fast": False})
        if full is not None and full.text:
            text = full.text
    return text


def _title(tree) -> str | None:
    """The title as trafilatura's metadata step finds it: OpenGraph/meta tags, JSON-LD, then
    a single <h1>, title XPaths, <title>."""
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

    title = None
    try:
        meta = examine_meta(tree)
        try:
            meta = extract_meta_json(tree, meta)
        except Exception:  # noqa: BLE001 - trafilatura's own JSON-LD bugs, as it guards them
            pass
        title = meta.title
    except Exception:  # noqa: BLE001
        pass
    if not title:
        title = extract_title(tree)
    return _clean_title(title)


def page_date(html: str, url: str | None = None, fetched: dt.date | None = None) -> str | None:
    """The page's publication date (ISO string) by htmldate, or None.

    htmldate gets the page text (it parses it itself: its parser keeps HTML comments, where some
    CMSs put the date), ``original_date=True``, the URL, and ``max_date`` = end of the ``fetched``
    day.  A date on the 1st of a month that only htmldate's extensive free-text search finds is
    refused: that is its "copyright year"/"year only"/"month only" fallback (``2020-01-01`` for
    "(c) 2020"), not a day of publication."""
    from htmldate import find_date

    if html.startswith("http"):
        html = " " + html  # htmldate would take a string starting like a URL for a URL to download
    params: dict[str, object] = {"original_date": True, "url": url}
    if fetched is not None:
        params["max_date"] = dt.datetime.combine(fetched, dt.time.max)
    found = find_date(html, extensive_search=True, **params)
    if found and found.endswith("-01") and find_date(html, extensive_search=False, **params) != found:
        return None
    return found
