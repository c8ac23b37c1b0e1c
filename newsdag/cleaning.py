"""Parse one decoded news file into (date, title, cleaned body), or say why it was rejected.

Two input formats:

1. Header files: the text starts (after optional whitespace) with the exact lowercase word
   ``date``, whitespace, then an ISO calendar date ``YYYY-MM-DD`` followed by whitespace or end
   of text; the body follows on the same line and the next lines.  Anything else after ``date``
   is ``Rejected('malformed_date_header', ...)`` -- we never guess.  ``Date`` with a capital D
   is NOT a header (it is ordinary page text).
2. Scraped pages without a header: the date is read from the page text near its top (first
   ``TOP_LINES`` non-empty lines), from a line that says ``Published``/``Posted``/``Updated``
   or that is a bare "dateline" (a date with at most a few other words, e.g. a section name).
   Only unambiguous formats are accepted (month names or ISO ``YYYY-MM-DD`` / ``YYYY/MM/DD``);
   ``28/07/2021`` style numeric dates are ignored because day/month order is ambiguous.

Body cleaning is line based and uses general rules (no site-specific strings):

* line patterns for page chrome (banner tokens, image/caption lines, bylines, reading time,
  dateline near the top, labels such as "Story highlights"/"Watch:", "ALSO READ" teasers,
  social/share buttons, "(With inputs from ...)" style credits, the wire sign-off ``Reuter``);
* ``Previous Story`` / ``Next Story`` lines and the teaser headline right after each;
* footer markers (``Latest from ...``, ``Don't Miss``, ``Go to top``, ``Related stories``,
  copyright ...): everything from the marker to the end of the document is cut, provided at
  least one prose line was kept before it (otherwise only the marker line is dropped);
* lines whose :func:`normalise_line` key is in ``recurring_lines`` (see
  :func:`find_recurring_lines`).

Each remaining non-empty line is one paragraph; paragraphs are joined with ``"\\n\\n"``.
For scraped pages the first kept line is the title when it is heading-like (short, no
sentence-final punctuation) and more text follows; it stays as the first body paragraph too.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from dataclasses import dataclass
from typing import Iterable

__all__ = [
    "Parsed",
    "Rejected",
    "parse_document",
    "normalise_line",
    "find_recurring_lines",
]


@dataclass(frozen=True)
class Parsed:
    published_date: dt.date
    date_source: str  # 'header', 'page_text' or 'html'
    title: str | None
    body: str  # cleaned article text, paragraphs joined with "\n\n"
    url: str | None = None  # the page's canonical URL when it states one, else the URL it was fetched from


@dataclass(frozen=True)
class Rejected:
    reason: str  # 'malformed_date_header' | 'missing_date' | 'empty_body' | ...
    detail: str


# --------------------------------------------------------------------------- constants

TOP_LINES = 15  # how many non-empty lines count as "the top of the page"
RECURRING_MAX_WORDS = 6
RECURRING_MAX_CHARS = 80
TITLE_MAX_WORDS = 25
TITLE_MAX_CHARS = 200
TEASER_MAX_WORDS = 25

# --------------------------------------------------------------------------- text normalisation

_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_LITERAL_CR = re.compile(r"\^M")  # wire artefact: a carriage return printed as caret-M
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _normalise_text(text: str) -> str:
    text = _NEWLINES.sub("\n", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    if "^M" in text:
        text = _LITERAL_CR.sub("", text)
    return _CONTROL.sub("", text)


def normalise_line(line: str) -> str:
    """The key used for recurring-line detection: collapse whitespace, strip, casefold."""
    return " ".join(line.split()).casefold()


# --------------------------------------------------------------------------- date header

# the word 'date' (exactly lowercase) at the start, then horizontal whitespace or end of text
_HEADER = re.compile(r"\s*date(?=\s|$)")
_HEADER_VALUE = re.compile(r"[^\S\n]*(\S*)")
_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def header_value(text: str) -> str | None:
    """What follows a leading date header ('' when nothing does), or None when the text has none."""
    m = _HEADER.match(text)
    return None if m is None else _HEADER_VALUE.match(text, m.end()).group(1)


def _parse_header(text: str) -> tuple[dt.date | Rejected, str] | None:
    """None if the text has no date header, else (date or Rejected, rest of text)."""
    m = _HEADER.match(text)
    if m is None:
        return None
    v = _HEADER_VALUE.match(text, m.end())
    value = v.group(1)
    rest = text[v.end():]
    if not value:
        return Rejected("malformed_date_header", "date header has no date"), rest
    if not _ISO_SHAPE.fullmatch(value):
        return Rejected("malformed_date_header",
                        f"header date {value!r} is not ISO YYYY-MM-DD"), rest
    try:
        date = dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return Rejected("malformed_date_header",
                        f"header date {value!r} is not a calendar date"), rest
    return date, rest


# --------------------------------------------------------------------------- dates in page text

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTH_ALT})\.?\s+(?P<d1>\d{{1,2}}){_ORD},?\s+(?P<y1>\d{{4}})"
    rf"|(?P<d2>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m2>{_MONTH_ALT})\.?,?\s+(?P<y2>\d{{4}})"
    rf"|(?P<y3>\d{{4}})[-/](?P<m3>\d{{1,2}})[-/](?P<d3>\d{{1,2}}))\b",
    re.IGNORECASE,
)
_PUBLISHED_KW = re.compile(r"\b(?:published|posted|first published|publish date|released)\b", re.I)
_UPDATED_KW = re.compile(r"\b(?:updated|modified|last updated|edited)\b", re.I)
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?(?=\W|$)", re.I)
_DATELINE_FILLER = re.compile(
    r"\b(?:updated|last|first|published|posted|modified|edited|on|at|date|time|am|pm|"
    r"ist|gmt|utc|bst|cet|cest|et|est|edt|ct|cdt|pt|pst|pdt|hkt|sgt|jst|aest|pkt|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)\b",
    re.I,
)
_WORD = re.compile(r"\w+")


def _match_to_date(m: re.Match[str]) -> dt.date | None:
    g = m.groupdict()
    year = int(g["y1"] or g["y2"] or g["y3"])
    if not 1900 <= year <= 2099:
        return None
    try:
        if g["y1"]:
            return dt.date(int(g["y1"]), _MONTHS[g["m1"].lower()], int(g["d1"]))
        if g["y2"]:
            return dt.date(int(g["y2"]), _MONTHS[g["m2"].lower()], int(g["d2"]))
        return dt.date(int(g["y3"]), int(g["m3"]), int(g["d3"]))
    except ValueError:  # not a calendar date: ignored
        return None


def _is_dateline(line: str) -> bool:
    """A line that is mostly a date: at most 3 other words once dates, times, keywords go."""
    if len(line) > 120 or line.endswith(".") or not _DATE.search(line):
        return False
    rest = _DATELINE_FILLER.sub(" ", _TIME.sub(" ", _DATE.sub(" ", line)))
    return len(_WORD.findall(rest)) <= 3


def _page_date(top_lines: list[str]) -> dt.date | None:
    """The publication date stated near the top of a page, or None."""
    published = dateline = updated = None
    for line in top_lines:
        for m in _DATE.finditer(line):
            d = _match_to_date(m)
            if d is None:
                continue
            if _PUBLISHED_KW.search(line):
                published = published or d
            elif _UPDATED_KW.search(line):
                updated = updated or d
            elif _is_dateline(line):
                dateline = dateline or d
            break
        if published:
            break
    return published or dateline or updated


# --------------------------------------------------------------------------- chrome patterns
# All matched against the line key: whitespace collapsed, casefolded, curly apostrophes -> "'".

_DROP_PATTERNS = [
    # banner / layout tokens such as ugc_banner, main img, advertisement
    r"[a-z0-9]+(?:[_][a-z0-9]+)+",
    r"(?:main|featured|lead|hero|top)?\s*(?:img|image|photo|picture|banner|thumbnail)",
    r"advertisements?|advert|sponsored(?: content)?|ad|ads|promoted|scroll to continue(?: with content)?",
    r"continue reading.{0,40}|read full (?:story|article)|click here.{0,80}",
    # captions and photo credits
    r"(?:file\s+)?(?:photograph|photo|image|picture|pic|representational image|representative image)s?"
    r"(?:\s*(?:credit|courtesy|source)s?)?\s*[:(|].{0,120}",
    # reading time
    r"(?:\d+|one|two|three|four|five)\s*(?:-\s*)?(?:min|mins|minute|minutes)\.?\s*(?:read|to read)",
    r"(?:read(?:ing)?\s+time|time to read)\s*:?\s*\d+\s*(?:min|mins|minutes?)\.?",
    # labels
    r"(?:story|key|article|top)?\s*highlights?\s*:?|key (?:points|takeaways)\s*:?|in brief\s*:?",
    r"(?:also\s+)?watch(?:\s+(?:video|here|now|the video|live))?\s*(?:[:|].{0,200})?",
    r"(?:video|listen(?: to this article)?|audio)\s*:?",
    # "also read" style teasers (label plus optional headline on the same line)
    r"(?:also\s+read|read\s+also|read\s+more|also\s+see|see\s+also|must\s+read|suggested\s+read)"
    r"(?:\s*(?:[:|>\-\u2013\u2014.]|\.\.\.).{0,200}|\s.{0,150}(?<![.!?]))?",
    # share / social buttons
    r"(?:(?:share|share this(?: article| story)?|tweet|facebook|twitter|whatsapp|linkedin|email|e-mail|"
    r"print|copy link|pinterest|reddit|telegram|comments?|save|follow us(?: on)?)\s*[|,/\u00b7\u2022]?\s*)+",
    r"follow (?:us|\w+) on .{0,60}|subscribe(?: to| now| for)?.{0,60}|sign up (?:for|to) .{0,60}",
    # agency-only / desk bylines
    r"(?:agencies|agency|pti|ians|ani|afp|ap|xinhua|dpa|efe|reuters|bloomberg)(?:\s*[|,/&]\s*"
    r"(?:agencies|pti|ians|ani|afp|ap|xinhua|dpa|efe|reuters|bloomberg))*",
    r"(?:[\w&.'-]+\s+){0,3}(?:web|news|digital|online|editorial|wire|sports|world|india)\s+"
    r"(?:team|desk|service|staff|bureau)",
    r"(?:[\w&.'-]+\s+){0,2}(?:bureau|desk|staff reporter|special correspondent|correspondent)",
    # credits in parentheses / brackets on their own line
    r"[(\[]\s*(?:with\s+(?:agency\s+)?inputs?|inputs|reporting|writing|editing|edited|compiled|"
    r"additional reporting|this (?:story|article|report) (?:has|was)|only the headline|"
    r"except for the headline|agencies|source)\b.{0,300}[)\]]\.?",
    r"with (?:agency\s+)?inputs? from [^.]{0,60}",
    # wire sign-off: Reuter / REUTER / Reuters, maybe with "..." or an end-of-text marker
    r"reuters?\s*(?:\.\.\.|\u2026)?(?:\s*(?:&#3;|\x03))*",
]
_DROP = re.compile("|".join(f"(?:{p})" for p in _DROP_PATTERNS))

# caption lines ending with a parenthesised credit: "US B-52 Bomber strike Taliban(Pic credit ANI)"
_CAPTION_TAIL = re.compile(
    r".{0,200}\(\s*(?:pic|photo|image|picture|photograph|file photo|representational|representative|"
    r"video|credit|courtesy|source: (?:twitter|file|ani|pti|reuters|afp|ap))\b[^()]{0,80}\)\s*\.?"
)

# byline: "By John Smith", "By Jane Doe and Bob Roe", "By John Smith | WION"
_BYLINE = re.compile(
    r"(?i:by|written by|posted by|reported by)\s*:?\s+"
    r"[A-Z][\w.'\u2019-]*"
    r"(?:\s*(?:[A-Z][\w.'\u2019-]*|and|&|,|\||[-\u2013\u2014]|in|for))*"
)

# previous/next links: the label, then (usually) a teaser headline on the next line
_NAV = re.compile(r"(?:previous|prev|next)\s*(?:story|article|post|news)?\s*[:>\u00bb\u203a]?|[<\u00ab\u2039]\s*(?:previous|prev)|(?:next|previous)\s*[>\u00bb\u203a]")

# footer markers: cut the rest of the document from here
_FOOTER = re.compile(
    r"(?:latest|more|most read|top stories)\s+(?:from|in|on)\b.{0,80}"
    r"|don'?t\s*miss(?:\s+out)?\s*:?"
    r"|(?:go|back|return|scroll)\s*to\s*top"
    r"|(?:related|similar|recommended|trending|popular|more|latest|other|top)\s+"
    r"(?:stories|articles|news|posts|coverage|topics|reads|videos|headlines)\s*:?"
    r"|you (?:may|might) (?:also )?(?:like|be interested in|have missed)\s*:?"
    r"|recommended(?: for you)?|trending(?: now)?|most (?:read|popular|viewed|shared)|read next"
    r"|leave a (?:reply|comment)|(?:\d+\s+)?comments?\s*\(\d+\)|tags?\s*:.{0,300}|topics?\s*:.{0,300}"
    r"|(?:\u00a9|copyright\b|\(c\)\s*\d{4}).{0,200}|.{0,100}all rights reserved\.?"
)

# breadcrumbs / nav bars: several short items separated by | > / etc.
_BREADCRUMB_SEP = re.compile(r"\s[|>\u00bb\u203a/\u2022\u00b7]\s")

# a wire sign-off glued to the end of the last line ("... 105.9 mln. REUTER") or followed by an
# editor's code ("REUTER TAW"): only ever removed from the last kept line
_SIGNOFF_TAIL = re.compile(
    r"(?:(?<=[.)\"'\u201d\d])\s+(?i:reuters?)|(?:^|\s+)REUTERS?|^(?i:reuters?))"
    r"(?:\.\.\.|\u2026)?(?:\s+[A-Z]{1,3})?$"
)
_ALNUM = re.compile(r"\w", re.UNICODE)


def _key(line: str) -> str:
    """Pattern key of an already whitespace-collapsed line."""
    key = line.casefold()
    return key.translate(_APOSTROPHES) if "\u2019" in key or "\u2018" in key or "`" in key else key


def _is_byline(line: str) -> bool:
    """'By John Smith', 'By Jane Doe and Bob Roe | WION': names only, no lowercase prose."""
    return len(line.split()) <= 12 and _BYLINE.fullmatch(line) is not None


def _is_breadcrumb(line: str) -> bool:
    if len(line) > 150:
        return False
    parts = _BREADCRUMB_SEP.split(line)
    return len(parts) >= 3 and all(0 < len(p.split()) <= 4 for p in parts)


def _heading_like(line: str, max_words: int) -> bool:
    words = line.split()
    if not words or len(words) > max_words or len(line) > TITLE_MAX_CHARS:
        return False
    return not line.rstrip().endswith((".", ";", ",", ":"))


def _is_prose(line: str) -> bool:
    """A line that reads like article text (used to decide whether a footer cut is safe)."""
    return len(line.split()) >= 8


def _is_chrome(line: str, key: str, top: bool, recurring: frozenset[str]) -> bool:
    if recurring and len(key) <= RECURRING_MAX_CHARS * 2 and key in recurring:
        return True
    if len(key) <= 220 and _DROP.fullmatch(key):
        return True
    if len(key) <= 320 and "(" in key and _CAPTION_TAIL.fullmatch(key):
        return True
    if len(line) <= 100 and line[:2].lower() in ("by", "wr", "po", "re") and _is_byline(line):
        return True
    if top and _is_dateline(line):
        return True
    return _is_breadcrumb(line)


def _clean_lines(lines: list[str], recurring: frozenset[str], datelines: bool) -> list[str]:
    kept: list[str] = []
    seen_prose = False
    skip_teaser = False
    n_nonempty = 0
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            continue
        n_nonempty += 1
        if len(line) > 320:  # long prose line: no chrome rule applies (recurring lines are short)
            kept.append(line)
            seen_prose = True
            skip_teaser = False
            continue
        key = _key(line)
        if skip_teaser:
            skip_teaser = False
            if _heading_like(line, TEASER_MAX_WORDS) and not _NAV.fullmatch(key):
                continue
        if len(key) <= 120:
            if _NAV.fullmatch(key):
                skip_teaser = True
                continue
            if _FOOTER.fullmatch(key):
                if seen_prose:
                    break
                continue
        if _is_chrome(line, key, datelines and n_nonempty <= TOP_LINES, recurring):
            continue
        if not _ALNUM.search(line):
            continue
        kept.append(line)
        if not seen_prose and _is_prose(line):
            seen_prose = True
    if kept:
        last = _SIGNOFF_TAIL.sub("", kept[-1]).rstrip()
        if _ALNUM.search(last):
            kept[-1] = last
        else:
            kept.pop()
    return kept


# --------------------------------------------------------------------------- public API

_EMPTY_AFTER_CLEANING = "body is empty after removing page chrome"


def parse_document(text: str, recurring_lines: frozenset[str] = frozenset()) -> Parsed | Rejected:
    """Parse one decoded news file; see the module docstring for the rules."""
    text = _normalise_text(text)
    header = _parse_header(text)
    if header is not None:
        date, rest = header
        if isinstance(date, Rejected):
            return date
        if not _ALNUM.search(rest):
            return Rejected("empty_body", "file has a date header but no body")
        kept = _clean_lines(rest.split("\n"), recurring_lines, datelines=False)
        if not kept:
            return Rejected("empty_body", _EMPTY_AFTER_CLEANING)
        return Parsed(date, "header", None, "\n\n".join(kept))

    lines = text.split("\n")
    top = [l for l in (x.strip() for x in lines[: TOP_LINES * 4]) if l][:TOP_LINES]
    date = _page_date(top)
    if date is None:
        return Rejected("missing_date", "no date header and no date near the top of the page")
    kept = _clean_lines(lines, recurring_lines, datelines=True)
    if not kept:
        return Rejected("empty_body", _EMPTY_AFTER_CLEANING)
    title = None
    if len(kept) > 1 and _heading_like(kept[0], TITLE_MAX_WORDS) and not _is_prose_sentence(kept[0]):
        title = kept[0]
    return Parsed(date, "page_text", title, "\n\n".join(kept))


def _is_prose_sentence(line: str) -> bool:
    # a heading is short; a lede sentence without its final period is usually long
    return len(line.split()) > 20 or line[:1].islower()


def find_recurring_lines(texts: Iterable[str], min_files: int = 20,
                         min_fraction: float = 0.01) -> frozenset[str]:
    """Normalised short lines that occur in at least max(min_files, min_fraction*n) files.

    Only short lines qualify (<= 6 words, <= 80 characters, not ending like a sentence with
    . ! ? ; or ,), so templated prose that repeats every day is never returned.  A date header
    at the start of a file is skipped, so the first body line is judged like the others.
    """
    counts: dict[str, int] = {}
    n = 0
    for text in texts:
        n += 1
        header = _HEADER.match(text)
        if header is not None:
            text = _strip_header_value(text[header.end():])
        seen = set()
        for line in text.splitlines():
            if not line or len(line) > RECURRING_MAX_CHARS + 20:
                continue
            words = line.split()
            if not words or len(words) > RECURRING_MAX_WORDS:
                continue
            key = " ".join(words).casefold()
            if len(key) > RECURRING_MAX_CHARS or key[-1] in ".!?;," or not _ALNUM.search(key):
                continue
            seen.add(key)
        for key in seen:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(min_files, math.ceil(min_fraction * n))
    return frozenset(k for k, c in counts.items() if c >= threshold)


def _strip_header_value(rest: str) -> str:
    v = _HEADER_VALUE.match(rest)
    return rest[v.end():] if v else rest
