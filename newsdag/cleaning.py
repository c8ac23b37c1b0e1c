"""Parse one decoded news file into (date, title, cleaned body), or say why it was rejected.

Two input formats:

1. Header files: the text starts (after optional whitespace) with the exact lowercase word
   ``date``, whitespace, then an ISO calendar date ``YYYY-MM-DD`` followed by whitespace or end
   of text; the body follows on the same line and the next lines.  Anything else after ``date``
   is ``Rejected('malformed_date_header', ...)`` -- we never guess.  ``Date`` with a capital D
   is NOT a header (it is ordinary page text).
2. Scraped pages without a header (visible page text, one line per block element, list items
   as ``* item`` the way ``inscriptis.get_text`` renders them) are read by :func:`_read_page`:

   *Lines* are classified: BAD (chrome by the line rules below, consent / privacy / copyright
   notices, footer markers like "Related Stories" and "Next Story" with the teaser after it,
   lines that are only a date, lines without letters), GOOD (running prose: at least
   ``GOOD_MIN_CHARS`` characters, ending like a sentence -- not with a truncating "..." -- and at
   least ``GOOD_MIN_FUNCTION_WORDS`` of its words in a small multilingual function-word set; in
   scripts that set does not cover, length and punctuation decide -- including the full stops
   of CJK, Indic and Arabic script), NEAR (a shorter sentence; in a script written without
   spaces, ``UNSPACED_MIN_CHARS`` characters) or SHORT (headings, menu entries, teasers).  A
   line jusText's context-free classifier calls "good" (over 200 characters, at least 32 %
   stopwords of jusText's stoplist for the page's language, detected on its longest lines;
   jusText's defaults) is GOOD too, unless BAD or it holds an ellipsis (teasers cut short) --
   running prose that does not end like a sentence.
   *The article's block* is the run of GOOD lines (NEAR when a page has no GOOD line) with the
   most text, where GOOD lines at most ``MAX_GAP_LINES`` apart belong together and a bare date
   line after prose ends a run (comments and story lists carry dates); a run right under a
   dated headline counts ``HEADED_WEIGHT`` times its text.  Prose runs above it that only a gap
   of at most ``MERGE_UP_GAP_LINES`` lines without a box marker separates are its first
   paragraphs (above a gallery or a table of contents) and join it.  It takes in an
   unpunctuated lede above it and short final sentences below it.  That extent is where the
   headline and the date are looked for; *the text kept* reaches further: up over every prose
   run above that no box marker separates from it, down over prose runs that at most
   ``BODY_MERGE_DOWN_GAP_LINES`` in-article lines separate (code, a table, a quote: no box
   marker, no chrome, no date line) and that share ``MERGE_DOWN_MIN_SHARED_WORDS`` of their
   content words with the article (a sidebar, a bio or a newsletter pitch is about something
   else), and over final prose lines that a link cut short (``LOOSE_PROSE_MIN_WORDS`` words,
   ``LOOSE_PROSE_MIN_FUNCTION_WORDS`` function words); a standfirst between the headline and
   the prose (``STANDFIRST_MIN_WORDS`` words of prose) is kept too.  Everything outside is
   dropped: menus, tickers, banners, "most read" lists, comments.  Inside it, BAD lines go
   (except a notice that is running prose over ``LONG_LINE_CHARS`` characters between two
   prose lines: an article about privacy), and a gap between prose lines that is a box of
   links (a footer marker, or ``BOX_MIN_LINES`` link-like lines: list items / headline-like
   lines) is dropped -- the prose after it stays -- but for the lines in it that cannot be
   links: short sentences (a list item ending with a full stop), lines of two sentences
   (``SENTENCES_MIN_WORDS`` words), items continuing a sentence (lower case, at least
   ``LIST_ITEM_MIN_WORDS`` words), and the items of a list that a line ending with a colon
   introduces, up to the next chrome line.  A single heading-like line between prose lines is
   a sub-heading and stays.  An ordered list item keeps its number.  A date line that starts
   with a dash is a quote's or an embedded post's attribution, not the end of the article.
   *The title* is the best heading-like line (longest up to ``TITLE_MAX_WORDS_SCORED`` words,
   minus ``TITLE_DISTANCE_PENALTY`` per line of distance) within ``TITLE_SEARCH_LINES`` above
   the block, skipping chrome, list items and lines that start with a date; it is also the
   first body paragraph.
   *The date* is searched over the whole page but taken only from lines near the article:
   from ``DATE_ABOVE_TITLE`` lines above the headline to ``DATE_INTO_BODY`` lines below it,
   or a "Published"/"By ..." line within ``DATE_BELOW_BODY`` lines after the block.
   Unlabelled dates that disagree are too weak: ``LIST_MIN_DATES`` different ones around the
   headline are a list of other stories, and of two different ones only a date standing
   between the headline and the prose is taken; else the page is ``missing_date``.  A line
   qualifies when it says Published/Posted/Veröffentlicht/... (best), is a byline or a
   dateline (a date with at most ``DATELINE_MAX_OTHER_WORDS`` other words, or starting with
   a date), or says Updated/Aktualisiert/Stand (last resort); ties go to the line nearest the
   headline.  Never used: dates in running prose, in consent/privacy/copyright notices, in list
   items further than ``BULLET_DATE_NEAR`` lines from the headline (lists of other stories),
   in a site header far above the headline, or in comments below the article.  A page with no
   such date but exactly one distinct "Published ..." date elsewhere takes that one; else it
   is ``missing_date``.  A page without any prose takes a date from its first ``TOP_LINES``
   lines (its body is then empty).
   *Date forms* (:func:`find_dates`, the one parser): ``Nov. 19, 2019``, ``November 19th,
   2019``, ``Tuesday, November 19, 2019``, ``19 NOV 2019``, ``19th of November 2019``,
   ``19. November 2019`` (English and German month names and abbreviations), ISO
   ``2019-11-18`` / ``2019-11-18T20:51:19Z`` / ``2019/11/18``, and the German dotted
   ``19.11.2019`` (always day.month.year: dotted dates are day-first wherever they are used).
   Day/month-ambiguous ``07/08/2021`` forms, two-digit years and dates without a day are
   never read.

Body cleaning is line based and uses general rules (no site-specific strings):

* line patterns for page chrome (banner tokens, image/caption lines, bylines, reading time,
  dateline near the top, labels such as "Story highlights"/"Watch:", "ALSO READ" teasers,
  social/share buttons, "(With inputs from ...)" style credits, the wire sign-off ``Reuter``);
* ``Previous Story`` / ``Next Story`` lines and the teaser headline right after each;
* footer markers (``Latest from ...``, ``Don't Miss``, ``Go to top``, ``Related stories``,
  copyright ...): in header files everything from the marker to the end of the document is
  cut, provided at least one prose line was kept before it (otherwise only the marker line is
  dropped); in scraped pages the marker starts a box of links (see above);
* lines whose :func:`normalise_line` key is in ``recurring_lines`` (see
  :func:`find_recurring_lines`).

Each remaining non-empty line is one paragraph; paragraphs are joined with ``"\\n\\n"``.
:func:`clean_page` gives (title, body) of a scraped page without needing a date (benchmarks).

Why these rules and not a library alone (measured on trafilatura's 990 evaluation pages rendered
with ``inscriptis``, with the benchmark's measures: ``with`` snippets kept / ``without`` dropped,
recurring lines removed; each library fed the page text as one ``<p>`` per non-empty line,
HTML-escaped; ms/page on a loaded 2-core machine, indicative only):

=========================================================  ==========  ============  =========
body method                                                with kept   without drop  ms/page
=========================================================  ==========  ============  =========
rules alone (before jusText)                                83.6 %      86.3 %        ~9
jusText alone, defaults, stoplist of the page's language    85.3 %      65.7 %        ~25
jusText alone, defaults, union stoplist when undetermined   87.2 %      64.3 %
trafilatura.extract (default / favor_recall / no comments)  98.8 %      18.1 %        65-100
rules, GOOD = jusText's final "good" (context-revised)      87.3 %      70.8 %
rules, GOOD = ours or jusText's final "good"                89.4 %      69.3 %
rules, GOOD = ours and jusText's final "good"               81.5 %      87.3 %
rules' region, only jusText-good lines kept                 79.0 %      84.8 %
rules' body minus jusText context-free "bad" lines          83.1 %      86.6 %
rules' body plus jusText-good lines in the region           85.7 %      81.9 %
rules, GOOD = ours or jusText context-free "good"           85.0 %      85.9 %
  the same, lines with an ellipsis not raised               84.8 %      85.9 %        ~15
  the same, length_high 100-200, stopwords_high .25-.40     85.2-85.9   84.6-85.8
  the same, the text kept reaching further (used, below)    90.4 %      83.4 %        ~15
=========================================================  ==========  ============  =========

What the text kept gained, on the same pages (``with`` kept / ``without`` dropped, points,
each change measured when it was added to the ones before it): prose runs above the article
with no box marker between, at any distance, +1.6 / -0.3; in a box of links, the list a colon
introduces and items in lower case +1.4 / -0.7; final prose lines a link cut short
+0.2 / -0.1; a standfirst +0.1 / -0.0; ordered list items keeping their number +0.1 / 0;
sentence ends and sentences of scripts without spaces +0.3 / 0; quote attributions not ending
the article +0.4 / -0.3; long notice prose between article paragraphs +0.1 / -0.0; list items
that are sentences, bare separators not ending the article +0.2 / -0.1; prose runs below
sharing the article's topic +0.7 / -0.6; lines of two sentences in a box +0.3 / -0.5.
Tried and left out, for dropping more chrome than the article text they kept: any prose run
below (no shared topic) +0.9 / -1.3, more link-like lines before a gap is a box (3)
+0.5 / -1.5, unpunctuated prose lines in a box +0.6 / -1.2, lines starting with a quantity
+0.1 / -0.2, a heading-like line followed by a sentence in a box +0.2 / -0.3 (it keeps
comment-form prompts).

Without markup every line looks alike to trafilatura (it keeps nearly everything), and jusText
alone keeps the prose of menus, teasers and comments (its context rules need markup: headings,
links).  Its paragraph classifier is better than ours at one thing -- long prose that does not
end like a sentence -- so that is what is used (the "used" row, jusText's default thresholds;
the ellipsis exception keeps teasers run together in a "latest from" box out).  Dates, on
htmldate's 995 pages (page text): right on 76.1 % (was 75.1 %) of the pages showing their
date, wrong on 2.8 % (was 3.0 %) of the pages dated; the gain is the sentence ends of CJK
script.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from dataclasses import dataclass
from typing import Iterable

from newsdag.text import APOSTROPHE_CHARS, APOSTROPHES, MONTH_ALTERNATION, MONTHS

__all__ = [
    "Parsed",
    "Rejected",
    "parse_document",
    "normalise_line",
    "find_recurring_lines",
    "find_dates",
    "clean_page",
    "header_value",
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
RECURRING_MAX_RAW_CHARS = RECURRING_MAX_CHARS + 20  # cheap pre-test before whitespace is collapsed
TITLE_MAX_WORDS = 25
TITLE_MAX_CHARS = 200
TEASER_MAX_WORDS = 25

# --------------------------------------------------------------------------- text normalisation

_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_LITERAL_CR = re.compile(r"\^M")  # wire artefact: a carriage return printed as caret-M


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
# ONE parser for every written date form (see the module docstring for the list).

_ORD = r"(?:st|nd|rd|th)?"
_WEEKDAY = (r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
            r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag")
_DATE = re.compile(
    # Nov. 19, 2019 / November 19th, 2019 / Tuesday, November 19, 2019
    rf"(?<!\w)(?:(?P<m1>{MONTH_ALTERNATION})\.?\s+(?P<d1>\d{{1,2}}){_ORD}\.?,?\s+(?P<y1>\d{{4}})"
    # 19 NOV 2019 / 19. November 2019 / 19th of November, 2019
    rf"|(?P<d2>\d{{1,2}}){_ORD}\.?\s*(?:of\s+)?(?P<m2>{MONTH_ALTERNATION})\.?,?\s+(?P<y2>\d{{4}})"
    # ISO 2019-11-18, 2019-11-18T20:51:19Z, 2019/11/18
    rf"|(?P<y3>\d{{4}})(?P<sep>[-/])(?P<m3>\d{{1,2}})(?P=sep)(?P<d3>\d{{1,2}})(?![\d/])"
    r"(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?"
    # German 19.11.2019 / 19. 11. 2019 (day first: the only order dotted dates have)
    rf"|(?<![\d.])(?P<d4>\d{{1,2}})\.\s?(?P<m4>\d{{1,2}})\.\s?(?P<y4>\d{{4}}))(?!\d)",
    re.IGNORECASE,
)
MIN_YEAR, MAX_YEAR = 1900, 2099
_YEAR = re.compile(r"\d{4}")  # cheap pre-test: every date form we read has a 4-digit year


def _match_to_date(m: re.Match[str]) -> dt.date | None:
    """The calendar date of a :data:`_DATE` match, or None when it is no calendar date."""
    g = m.groupdict()
    for y, mo, d in (("y1", "m1", "d1"), ("y2", "m2", "d2"), ("y3", "m3", "d3"), ("y4", "m4", "d4")):
        if g[y]:
            month = int(g[mo]) if g[mo].isdigit() else MONTHS[g[mo].lower()]
            year = int(g[y])
            if not MIN_YEAR <= year <= MAX_YEAR:
                return None
            try:
                return dt.date(year, month, int(g[d]))
            except ValueError:  # not a calendar date: ignored
                return None
    return None


def find_dates(line: str) -> list[dt.date]:
    """Every date written in ``line`` in a form we read, in order."""
    if not _YEAR.search(line):
        return []
    return [d for d in map(_match_to_date, _DATE.finditer(line)) if d is not None]


_PUBLISHED_KW = re.compile(
    r"\b(?:published|posted|first published|publish(?:ed)? (?:date|on)|released|issued|"
    r"ver(?:ö|oe)ffentlich\w*|erschien\w*|erscheinungsdatum|publi(?:é|e)|publicado|pubblicato|gepubliceerd)\b",
    re.I)
_UPDATED_KW = re.compile(
    r"\b(?:updated|modified|last updated|edited|aktualisiert|ge(?:ä|ae)ndert|stand|mis à jour)\b", re.I)
_DATE_KW = re.compile(r"^(?:date|datum|on|am|le|vom)\b", re.I)
_TIME = re.compile(r"\b\d{1,2}[:.h]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?|uhr|h)?(?=\W|$)", re.I)
_DATELINE_FILLER = re.compile(
    rf"\b(?:updated|last|first|published|posted|modified|edited|on|at|um|am|date|datum|time|"
    r"pm|uhr|ist|gmt|utc|bst|cet|cest|mez|mesz|et|est|edt|ct|cdt|pt|pst|pdt|hkt|sgt|jst|aest|pkt|"
    rf"{_WEEKDAY})\b",
    re.I,
)
_WORD = re.compile(r"\w+")
DATELINE_MAX_CHARS = 120  # a line that is mostly a date is at most this long
DATELINE_MAX_OTHER_WORDS = 3  # a dateline may carry a section name, a city, a source


def _is_dateline(line: str) -> bool:
    """A line that is mostly a date: at most 3 other words once dates, times, keywords go."""
    if (len(line) > DATELINE_MAX_CHARS or line.endswith(".") or not _YEAR.search(line)
            or not _DATE.search(line)):
        return False
    rest = _DATELINE_FILLER.sub(" ", _TIME.sub(" ", _DATE.sub(" ", line)))
    return len(_WORD.findall(rest)) <= DATELINE_MAX_OTHER_WORDS


# --------------------------------------------------------------------------- chrome patterns
# All matched against the line key: whitespace collapsed, casefolded, curly apostrophes -> "'".
# Each pattern is tried only on lines up to its limit below; the limit is at least the longest
# text any of the pattern's alternatives spells out, so no alternative is cut off by it.

LONG_LINE_CHARS = 320  # a longer line is running prose: no chrome rule applies to it
DROP_MAX_CHARS = LONG_LINE_CHARS  # _DROP: the longest alternative, a credit in brackets, is ~300
MARKER_MAX_CHARS = LONG_LINE_CHARS  # _FOOTER: a "Tags: ..." list or copyright line is up to ~300
NAV_MAX_CHARS = 40  # _NAV: "previous story >" and the like
BYLINE_MAX_CHARS = 100  # a byline ("By Jane Doe and Bob Roe | WION") is at most this long ...
BYLINE_MAX_WORDS = 12  # ... and has at most this many words
BREADCRUMB_MAX_CHARS = 150  # a breadcrumb / nav bar ("Home | World | Asia") is at most this long
BREADCRUMB_MIN_PARTS = 3  # ... has at least this many items ...
BREADCRUMB_MAX_PART_WORDS = 4  # ... of at most this many words each
FOOTER_CUT_MIN_WORDS = 8  # in a header file a footer marker cuts the rest once a line this long was kept

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
    r"except for the headline|agencies|source)\b.{0,290}[)\]]\.?",
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
_BYLINE_LEADS = ("by", "written by", "posted by", "reported by")  # what a byline starts with
_BYLINE = re.compile(
    r"(?i:" + "|".join(_BYLINE_LEADS) + r")\s*:?\s+"
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
    return key.translate(APOSTROPHES) if any(c in key for c in APOSTROPHE_CHARS) else key


def _is_byline(line: str) -> bool:
    """'By John Smith', 'By Jane Doe and Bob Roe | WION': names only, no lowercase prose."""
    return len(line.split()) <= BYLINE_MAX_WORDS and _BYLINE.fullmatch(line) is not None


def _is_breadcrumb(line: str) -> bool:
    if len(line) > BREADCRUMB_MAX_CHARS:
        return False
    parts = _BREADCRUMB_SEP.split(line)
    return len(parts) >= BREADCRUMB_MIN_PARTS and all(0 < len(p.split()) <= BREADCRUMB_MAX_PART_WORDS
                                                      for p in parts)


def _heading_like(line: str, max_words: int) -> bool:
    words = line.split()
    if not words or len(words) > max_words or len(line) > TITLE_MAX_CHARS:
        return False
    return not line.rstrip().endswith((".", ";", ",", ":"))


def _is_prose(line: str) -> bool:
    """A line that reads like article text (used to decide whether a footer cut is safe)."""
    return len(line.split()) >= FOOTER_CUT_MIN_WORDS


def _is_chrome(line: str, key: str, top: bool, recurring: frozenset[str]) -> bool:
    if key in recurring:
        return True
    if len(key) <= DROP_MAX_CHARS and _DROP.fullmatch(key):
        return True
    if len(key) <= LONG_LINE_CHARS and "(" in key and _CAPTION_TAIL.fullmatch(key):
        return True
    if len(line) <= BYLINE_MAX_CHARS and key.startswith(_BYLINE_LEADS) and _is_byline(line):
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
        if len(line) > LONG_LINE_CHARS:  # running prose: no chrome rule applies (recurring are short)
            kept.append(line)
            seen_prose = True
            skip_teaser = False
            continue
        key = _key(line)
        if skip_teaser:
            skip_teaser = False
            if _heading_like(line, TEASER_MAX_WORDS) and not _NAV.fullmatch(key):
                continue
        if len(key) <= NAV_MAX_CHARS and _NAV.fullmatch(key):
            skip_teaser = True
            continue
        if len(key) <= MARKER_MAX_CHARS and _FOOTER.fullmatch(key):
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
    return _strip_signoff(kept)


# --------------------------------------------------------------------------- scraped pages
# Line classes, from worst to best.  See the module docstring for the rules.
BAD, SHORT, NEAR, GOOD = range(4)

GOOD_MIN_CHARS = 80  # a paragraph of running prose is at least this long ...
GOOD_MIN_FUNCTION_WORDS = 0.15  # ... and at least this share of its words are function words
FALLBACK_MIN_WORDS = 3  # on a page without any GOOD line, a punctuated line this long will do
LEDE_MIN_WORDS = 8  # an unpunctuated line this long just before the prose block is its lede
MAX_GAP_LINES = 10  # prose blocks this close (in non-empty lines) are one article
HEADED_WEIGHT = 3.0  # a block under a dated headline counts this many times its prose
HEAD_DATE_LINES = 3  # how far above the headline its date may stand for that weight
MERGE_UP_GAP_LINES = 25  # prose this close above the article's block (no box between) is its start
BODY_MERGE_DOWN_GAP_LINES = 40  # the text kept takes in prose this close below the article's block ...
MERGE_DOWN_MIN_SHARED_WORDS = 0.15  # ... when this share of its content words are the article's too
LOOSE_PROSE_MIN_WORDS = 14  # an unpunctuated line this long ...
LOOSE_PROSE_MIN_FUNCTION_WORDS = 0.2  # ... and this dense in function words is prose (a link ended it)
STANDFIRST_MIN_WORDS = 10  # a line this long between the headline and the prose is its standfirst
LIST_ITEM_MIN_WORDS = 3  # a line this long starting in lower case continues a sentence: a list item
SENTENCES_MIN_WORDS = 12  # a line this long holding a sentence end and another sentence is prose
UNSPACED_MIN_CHARS = 10  # a punctuated line this long in a script without spaces is a sentence
CONTENT_WORD_MIN_CHARS = 4  # words this long that are no function words carry a text's topic
BOX_MIN_LINES = 2  # a gap with this many link-like lines is a box of links, dropped whole
TITLE_SEARCH_LINES = 12  # how far above the prose block the headline may be
TITLE_MAX_WORDS_SCORED = 12  # longer headlines score no better
TITLE_DISTANCE_PENALTY = 0.5  # headline score lost per line of distance from the prose block
DATE_ABOVE_TITLE = 15  # lines above the headline where the article's date may stand
DATE_INTO_BODY = 8  # lines into the prose block where the date may stand
DATE_BELOW_BODY = 4  # lines below the prose block where a "Posted ... by" date may stand
LATIN_MIN_SHARE = 0.5  # below this share of Latin letters, function words are not counted

_BULLET = re.compile(r"(?:[*+\u2022\u00b7]|o(?= \S)|-(?= \S)|\d{1,3}\.(?= \S))\s+")
# sentence ends: Latin punctuation and quotes, and the full stops of other scripts (CJK 。！？,
# Devanagari/Bengali danda, Arabic question mark)
_SENTENCE_END = re.compile(r"[.!?\"'\u201c\u201d\u00bb\u00ab)\]:;"
                           r"\u3002\uff01\uff1f\uff09\u300d\u300f\u0964\u0965\u061f]$")
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|\u2026)\)?$")
_ELLIPSIS = re.compile(r"\.\.\.|\u2026")
# consent, privacy and copyright notices: never the article, never its date
_NOTICE = re.compile(
    r"cookie|\bconsent|\bprivacy (?:policy|statement|notice)|datenschutz|einwillig|\bgdpr\b|\bdsgvo\b"
    r"|\u00a9|\bcopyright\b|all rights reserved|alle rechte vorbehalten|\bterms (?:of|and) ")
# a small multilingual set of function words (en, de, fr, es, it, nl, pt)
_FUNCTION_WORDS = frozenset("""
the a an and or of to in on at for with is are was were be been that this it as by from has have
had not but he she they we you his her their its will would said which who than also
der die das und oder im zu zum zur den dem des ein eine einen einem einer ist sind war nicht mit
von auf für es sich auch als an dass wie bei aus nach wird werden hat haben er sie wir ich noch
so nur aber um über vor
le la les de des du et un une est en que qui dans pour pas sur au avec il elle ce se
el los las del y por con para una lo su al
il di che è per non della sono
het een en van op niet voor
o os do da em não um uma
""".split())
_TOKEN = re.compile(r"[^\W\d_]+")
# kana, CJK ideographs, hangul: scripts written without spaces between words
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{4}")


@dataclass
class _Line:
    text: str  # whitespace collapsed, list bullet removed
    bullet: bool  # a list item
    cls: int = SHORT  # BAD / SHORT / NEAR / GOOD
    box: bool = False  # a box heading / nav label: the links after it are no article text
    number: str = ""  # the "3. " of an ordered list item: part of the text kept, not of the rules
    notice_prose: bool = False  # a BAD notice line that is long running prose (see _body_lines)

    @property
    def shown(self) -> str:
        """The line as the body keeps it (an ordered list item keeps its number)."""
        return self.number + self.text


def _function_word_share(text: str) -> float:
    words = _TOKEN.findall(text.lower())
    if not words:
        return 0.0
    latin = sum(w.isascii() or w[0] < "\u0250" for w in words)
    if latin < LATIN_MIN_SHARE * len(words):
        return 1.0  # a script the list has no words for: judged by length and punctuation only
    return sum(w in _FUNCTION_WORDS for w in words) / len(words)


def _is_notice(line: str) -> bool:
    return _NOTICE.search(line.lower()) is not None


def _line_class(line: _Line, key: str, recurring: frozenset[str], notices: bool = True) -> int:
    text = line.text
    if not _ALNUM.search(text) or (notices and _is_notice(text)):
        return BAD
    if len(text) <= LONG_LINE_CHARS and (_is_chrome(text, key, False, recurring) or _is_dateline(text)):
        return BAD
    punctuated = _SENTENCE_END.search(text) is not None and not _ELLIPSIS_END.search(text)
    if (len(text) >= GOOD_MIN_CHARS and punctuated
            and _function_word_share(text) >= GOOD_MIN_FUNCTION_WORDS):
        return GOOD
    if punctuated and (len(text.split()) >= FALLBACK_MIN_WORDS
                       or (len(text) >= UNSPACED_MIN_CHARS and _UNSPACED.search(text))):
        return NEAR
    return SHORT


def _page_lines(text: str, recurring: frozenset[str]) -> list[_Line]:
    """The non-empty lines of a page, classified."""
    out: list[_Line] = []
    after_nav = False
    for raw in text.split("\n"):
        text_ = " ".join(raw.split())
        if not text_:
            continue
        m = _BULLET.match(text_)
        if m and _DATE.match(text_):
            m = None  # "19. November 2019" is a date, not item 19 of a numbered list
        line = _Line(text_[m.end():] if m else text_, m is not None,
                     number=m.group(0) if m and m.group(0)[0].isdigit() else "")
        if not line.text:
            continue
        key = _key(line.text)
        is_nav = len(key) <= NAV_MAX_CHARS and _NAV.fullmatch(key) is not None
        line.box = is_nav or (len(key) <= MARKER_MAX_CHARS and _FOOTER.fullmatch(key) is not None)
        line.cls = BAD if line.box else _line_class(line, key, recurring)
        if (line.cls == BAD and not line.box and len(line.text) > LONG_LINE_CHARS
                and _is_notice(line.text) and _line_class(line, key, recurring, notices=False) == GOOD):
            line.notice_prose = True  # long running prose that mentions privacy or copyright
        if after_nav and line.cls < GOOD and _heading_like(line.text, TEASER_MAX_WORDS):
            line.cls = BAD  # the teaser headline after "Next Story"
        after_nav = is_nav
        out.append(line)
    _justext_good(out)
    return out


# jusText (a maintained boilerplate remover) judges each line on its own: a line longer than
# JUSTEXT_LENGTH_HIGH characters whose share of stopwords (jusText's stoplist of the page's
# language) is at least JUSTEXT_STOPWORDS_HIGH is "good" -- running prose even when it does not
# end like a sentence.  Those lines are GOOD here too (jusText's default thresholds).
JUSTEXT_LENGTH_LOW = 70
JUSTEXT_LENGTH_HIGH = 200
JUSTEXT_STOPWORDS_LOW = 0.30
JUSTEXT_STOPWORDS_HIGH = 0.32
LANGUAGE_SAMPLE_CHARS = 1000  # the page's language is read on its longest lines, this much of them
# ISO 639-1 code -> jusText stoplist name (undetermined or unlisted languages: English)
_JUSTEXT_STOPLISTS = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian",
    "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "is": "Icelandic", "it": "Italian",
    "ko": "Korean", "lb": "Luxembourgish", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian",
    "mr": "Marathi", "ms": "Malay", "nb": "Norwegian_Bokmal", "nl": "Dutch", "nn": "Norwegian_Nynorsk",
    "no": "Norwegian_Bokmal", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "tl": "Tagalog", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
}


def _page_language(lines: list[_Line]) -> str:
    """ISO code of the page's language, read on its longest lines (its top is a menu)."""
    from newsdag.language import detect_language

    sample: list[str] = []
    n = 0
    for line in sorted((l for l in lines if l.cls != BAD), key=lambda l: len(l.text), reverse=True):
        sample.append(line.text)
        n += len(line.text)
        if n >= LANGUAGE_SAMPLE_CHARS:
            break
    return detect_language(" ".join(sample))


def _justext_good(lines: list[_Line]) -> None:
    """Raise the lines jusText's context-free classifier calls "good" to GOOD (not BAD ones)."""
    import justext
    from justext.core import PathInfo, classify_paragraphs
    from justext.paragraph import Paragraph

    candidates = [l for l in lines if l.cls not in (BAD, GOOD) and len(l.text) > JUSTEXT_LENGTH_HIGH
                  and not _ELLIPSIS.search(l.text)]  # "...": teasers cut short, run together
    if not candidates:
        return
    stoplist = justext.get_stoplist(_JUSTEXT_STOPLISTS.get(_page_language(lines), "English"))
    paragraphs = []
    for line in candidates:
        paragraph = Paragraph(PathInfo().append("body").append("p"))
        paragraph.append_text(line.text)
        paragraphs.append(paragraph)
    classify_paragraphs(paragraphs, stoplist, JUSTEXT_LENGTH_LOW, JUSTEXT_LENGTH_HIGH,
                        JUSTEXT_STOPWORDS_LOW, JUSTEXT_STOPWORDS_HIGH)
    for line, paragraph in zip(candidates, paragraphs):
        if paragraph.cf_class == "good":
            line.cls = GOOD


def _blocks(lines: list[_Line], level: int) -> list[tuple[int, int]]:
    """Runs of lines of class >= level, joined across gaps of at most MAX_GAP_LINES lines.

    A short date line after prose ends a block (what follows is a comment or another story).
    """
    blocks: list[tuple[int, int]] = []
    start = last = None
    for i, line in enumerate(lines):
        if line.cls >= level:
            if start is None or i - last > MAX_GAP_LINES + 1:
                if start is not None:
                    blocks.append((start, last))
                start = i
            last = i
        elif start is not None and _ends_block(line):
            blocks.append((start, last))
            start = None
    if start is not None:
        blocks.append((start, last))
    return blocks


def _ends_block(line: _Line) -> bool:
    """A date line after prose: a comment or another story follows.  Not the attribution line
    of a quote or an embedded post ("\u2014 Jane Doe (@jane) May 1, 2020"), which starts with a dash."""
    return _is_dateline(line.text) and not _ATTRIBUTION.match(line.text)


_ATTRIBUTION = re.compile(r"[\u2014\u2013]\s")


def _block_score(lines: list[_Line], block: tuple[int, int], level: int) -> int:
    return sum(len(l.text) for l in lines[block[0]: block[1] + 1] if l.cls >= level)


def _main_block(lines: list[_Line]) -> tuple[int, int, int, int, int] | None:
    """(head, start, end, body_start, body_end) of the article, or None when it has no prose.

    ``head`` is the first line of the block with the most prose (weighted, see
    :func:`_head_weight`): its headline and date are the article's.  ``start``/``end`` bound
    the article's header and prose where its date is looked for: that block and the prose blocks
    above it that only a short gap without a box of links separates from it (the article's first
    paragraphs above a photo gallery or a table of contents).  ``body_start``/``body_end`` bound
    the text kept: the same, taking in every prose block above that no box marker separates,
    the prose blocks below that continue the article (see :func:`_merge_down`) and the final
    prose lines a link cut short (see :func:`_extend_body`).
    """
    for level in (GOOD, NEAR):
        blocks = _blocks(lines, level)
        if blocks:
            best = max(blocks, key=lambda b: _block_score(lines, b, level) * _head_weight(lines, b))
            k = blocks.index(best)
            head = _extend(lines, *best)[0]
            start, end = _extend(lines, *_merge_up(lines, blocks, k, MERGE_UP_GAP_LINES))
            body_start, _ = _extend_body(lines, *_merge_up(lines, blocks, k, None))
            _, body_end = _extend_body(lines, *_merge_down(lines, blocks, k, BODY_MERGE_DOWN_GAP_LINES))
            return head, start, end, min(start, body_start), max(end, body_end)
    return None


def _merge_up(lines: list[_Line], blocks: list[tuple[int, int]], k: int,
              max_gap: int | None) -> tuple[int, int]:
    """The block k, taking in the blocks above it that only max_gap (None: any number of) lines
    without a box marker separate."""
    start, end = blocks[k]
    while k > 0:
        prev = blocks[k - 1]
        gap = lines[prev[1] + 1: start]
        if (max_gap is not None and len(gap) > max_gap) or any(l.box for l in gap):
            break  # a box of links starts the article
        start, k = prev[0], k - 1
    return start, end


def _merge_down(lines: list[_Line], blocks: list[tuple[int, int]], k: int, max_gap: int) -> tuple[int, int]:
    """The block k, taking in the blocks below it that only max_gap in-article lines separate
    (code, a table, a list, a quote: no box of links, no chrome, no date line)."""
    start, end = blocks[k]
    first = start
    while k + 1 < len(blocks):
        nxt = blocks[k + 1]
        gap = lines[end + 1: nxt[0]]
        if len(gap) > max_gap or any(l.box or _ends_block(l) for l in gap):
            break  # a box of links or a dated comment ends the article
        if any(l.cls == BAD and _ALNUM.search(l.text) for l in gap):
            break  # chrome (share buttons, a byline, a notice) ends it too; bare separators do not
        if _shared_words(lines, nxt, (first, end)) < MERGE_DOWN_MIN_SHARED_WORDS:
            break  # a sidebar, an author's bio, a newsletter pitch: about something else
        end, k = nxt[1], k + 1
    return start, end


def _content_words(lines: list[_Line], block: tuple[int, int]) -> set[str]:
    """The distinct content words of a block's prose lines (lowercase, no function words)."""
    words: set[str] = set()
    for line in lines[block[0]: block[1] + 1]:
        if line.cls >= NEAR:
            words.update(w for w in _TOKEN.findall(line.text.lower())
                         if len(w) >= CONTENT_WORD_MIN_CHARS and w not in _FUNCTION_WORDS)
    return words


def _shared_words(lines: list[_Line], block: tuple[int, int], article: tuple[int, int]) -> float:
    """The share of the block's content words that the article's prose uses too (its topic)."""
    words = _content_words(lines, block)
    return len(words & _content_words(lines, article)) / len(words) if words else 0.0


def _head_weight(lines: list[_Line], block: tuple[int, int]) -> float:
    """A block right under a dated headline is the article: its text counts HEADED_WEIGHT times."""
    start = _extend(lines, *block)[0]
    t = _title_index(lines, start)
    if t is None:
        return 1.0
    if _dated_lines(lines, t - HEAD_DATE_LINES, start, set(_DATE_RANK), t):
        return HEADED_WEIGHT
    return 1.0


def _extend(lines: list[_Line], start: int, end: int) -> tuple[int, int]:
    """Take in an unpunctuated lede just above the block and short final paragraphs below it."""
    while start > 0 and _is_lede(lines[start - 1]):
        start -= 1
    while end + 1 < len(lines) and lines[end + 1].cls == NEAR and not lines[end + 1].bullet:
        end += 1
    return start, end


def _extend_body(lines: list[_Line], start: int, end: int) -> tuple[int, int]:
    """:func:`_extend`, and below the block also the prose lines a link cut short."""
    start, end = _extend(lines, start, end)
    while end + 1 < len(lines) and _is_final_line(lines[end + 1]):
        end += 1
    return start, end


def _is_final_line(line: _Line) -> bool:
    return (line.cls == NEAR and not line.bullet) or _is_loose_prose(line)


def _is_loose_prose(line: _Line) -> bool:
    """Running prose that does not end like a sentence: long, dense in function words."""
    return (line.cls == SHORT and not line.bullet and len(line.text.split()) >= LOOSE_PROSE_MIN_WORDS
            and _function_word_share(line.text) >= LOOSE_PROSE_MIN_FUNCTION_WORDS)


def _is_lede(line: _Line) -> bool:
    """A prose line without final punctuation (too long for a headline), or a short sentence."""
    return line.cls >= SHORT and not line.bullet and (
        line.cls == NEAR
        or (len(line.text.split()) >= LEDE_MIN_WORDS and not _heading_like(line.text, TITLE_MAX_WORDS)))


def _title_index(lines: list[_Line], start: int) -> int | None:
    """The headline: the best heading-like line a few lines above the prose block."""
    best, best_score = None, 0.0
    for i in range(start - 1, max(-1, start - 1 - TITLE_SEARCH_LINES), -1):
        line = lines[i]
        if line.cls == GOOD:
            break
        if (line.cls == BAD or line.bullet or not _heading_like(line.text, TITLE_MAX_WORDS)
                or _LEADING_DATE.match(line.text)):
            continue
        score = (min(len(line.text.split()), TITLE_MAX_WORDS_SCORED)
                 - TITLE_DISTANCE_PENALTY * (start - 1 - i))
        if score > best_score:
            best, best_score = i, score
    return best


def _is_link_like(line: _Line) -> bool:
    return line.box or (line.cls in (SHORT, NEAR)
                        and (line.bullet or _heading_like(line.text, TEASER_MAX_WORDS)))


def _body_lines(lines: list[_Line], start: int, end: int) -> list[str]:
    """Article lines of the block: chrome dropped, boxes of links between prose dropped whole.

    A notice line (see :func:`_is_notice`) that is long running prose between two prose lines of
    the block is article text about privacy or copyright, not a banner: it is kept.
    """
    kept: list[str] = []
    gap: list[_Line] = []
    before: _Line | None = lines[start - 1] if start > 0 else None
    good = [i for i in range(start, end + 1) if lines[i].cls == GOOD]
    for i, line in enumerate(lines[start: end + 1], start):
        inner_notice = line.notice_prose and good and good[0] < i < good[-1]
        if line.cls < GOOD and not inner_notice:
            gap.append(line)
            continue
        kept.extend(_gap_lines(gap, before))
        gap = []
        kept.append(line.shown)
        before = line
    kept.extend(_gap_lines(gap, before))
    return kept


def _gap_lines(gap: list[_Line], before: _Line | None) -> list[str]:
    """The lines kept of a gap between prose lines (``before`` is the line above it).

    A gap without a box of links keeps all but its chrome.  In a box, only what cannot be a link
    stays: short sentences (NEAR lines, list items ending with a full stop), list items that
    continue a sentence (start in lower case), and the items of a list that a line ending with
    a colon introduces ("You will need:") up to the next chrome line.
    """
    if not (any(l.box for l in gap) or sum(_is_link_like(l) for l in gap) >= BOX_MIN_LINES):
        return [l.shown for l in gap if l.cls != BAD]
    kept = []
    introduced = before is not None and before.text.endswith(":")
    for line in gap:
        if line.box or line.cls == BAD:
            introduced = False
            continue
        if introduced or _is_sentence_item(line):
            kept.append(line.shown)
        introduced = introduced or line.text.endswith(":")
    return kept


def _is_sentence_item(line: _Line) -> bool:
    """A line of a box that reads as article text rather than as a link."""
    text = line.text
    if line.cls == NEAR and (not line.bullet or (text.endswith(".") and not _ELLIPSIS_END.search(text))):
        return True  # a short sentence
    if not line.bullet and len(text.split()) >= SENTENCES_MIN_WORDS and _INNER_SENTENCE.search(text):
        return True  # two sentences: prose cut short, not a headline
    return text[:1].islower() and len(text.split()) >= LIST_ITEM_MIN_WORDS and not text.endswith(":")


# a sentence end followed by the next sentence ("... ein. Die Teilnehmenden ...")
_INNER_SENTENCE = re.compile(r"\w\w[.!?] +[A-Z\u00c0-\u00de]\w")


# --------------------------------------------------------------------------- the article's date

PUBLISHED, UPDATED, BYLINE, DATELINE = "published", "updated", "byline", "dateline"
_DATE_RANK = {PUBLISHED: 3, BYLINE: 2, DATELINE: 2, UPDATED: 1}
BULLET_DATE_NEAR = 5  # a date in a list item counts only this close to the headline
BYLINE_DATE_MAX_CHARS = 2 * DATELINE_MAX_CHARS  # a "By Jane Doe, May 1, 2020" line is at most this long
LIST_MIN_DATES = 3  # this many different unlabelled dates around the headline: a list of stories


def _date_kind(lines: list[_Line], i: int) -> str | None:
    """How line i states a date, or None when its dates are not the page's own."""
    text = lines[i].text
    if _is_notice(text):
        return None
    before = lines[i - 1].text if i > 0 and len(lines[i - 1].text) <= DATELINE_MAX_CHARS else ""
    if _PUBLISHED_KW.search(text) or _PUBLISHED_KW.fullmatch(before.rstrip(":").strip()):
        return PUBLISHED
    if _UPDATED_KW.search(text):
        return UPDATED
    if _BYLINE_ANYWHERE.search(text) and len(text) <= BYLINE_DATE_MAX_CHARS:
        return BYLINE
    if _is_dateline(text) or (len(text) <= DATELINE_MAX_CHARS
                              and (_DATE_KW.match(text) or _LEADING_DATE.match(text))):
        return DATELINE
    return None


_LEADING_DATE = re.compile(rf"(?:(?:{_WEEKDAY})\W+)?(?:{_DATE.pattern})", re.I)
_BYLINE_ANYWHERE = re.compile(
    r"(?:^|[\s|\u2022\u00b7,])(?:(?i:by|von|par|por)\s+[A-Z\u00c0-\u00de]|(?i:autor|author)\b)")


def _dated_lines(lines: list[_Line], lo: int, hi: int, kinds: set[str],
                 anchor: int = 0) -> list[tuple[int, str, dt.date]]:
    out = []
    for i in range(max(lo, 0), min(hi, len(lines))):
        line = lines[i]
        if line.cls == GOOD or not _YEAR.search(line.text) or not _DATE.search(line.text):
            continue  # a date inside running prose is what the story is about, not its date
        kind = _date_kind(lines, i)
        near = abs(i - anchor) <= BULLET_DATE_NEAR
        if line.bullet and kind not in (PUBLISHED, UPDATED) and not near:
            continue  # a list of other stories
        dates = find_dates(line.text)
        if kind in kinds and dates:
            out.append((i, kind, dates[0]))
    return out


def _article_date(lines: list[_Line], anchor: int, head: int, end: int) -> dt.date | None:
    """The date next to the headline (anchor) or a "Posted ... by" date just below the prose."""
    found = _dated_lines(lines, anchor - DATE_ABOVE_TITLE, anchor + DATE_INTO_BODY + 1, set(_DATE_RANK),
                         anchor)
    found += _dated_lines(lines, end + 1, end + 1 + DATE_BELOW_BODY, {PUBLISHED, BYLINE})
    if not found:
        published = {f[2] for f in _dated_lines(lines, 0, len(lines), {PUBLISHED})}
        return published.pop() if len(published) == 1 else None
    # ties go to the line nearest the headline, then to the one below it (the article's header)
    i, kind, date = max(found, key=lambda f: (_DATE_RANK[f[1]], -abs(f[0] - anchor), f[0] > anchor))
    if kind in (DATELINE, BYLINE) and _conflicting(found, i, anchor, head):
        return None
    return date


def _conflicting(found: list[tuple[int, str, dt.date]], i: int, anchor: int, head: int) -> bool:
    """Unlabelled dates around the headline that disagree: too weak to pick one of them.

    ``LIST_MIN_DATES`` different dates are a list of other stories; two different dates leave
    the choice open unless the chosen one stands in the article's own header, between the
    headline and the prose.
    """
    unlabelled = {f[2] for f in found if f[1] in (DATELINE, BYLINE)}
    if len(unlabelled) >= LIST_MIN_DATES:
        return True
    return len(unlabelled) >= 2 and not anchor < i < head


def _top_date(lines: list[_Line]) -> dt.date | None:
    """A page without prose: the date stated near its top, if any (its body will be empty)."""
    found = _dated_lines(lines, 0, TOP_LINES, set(_DATE_RANK))
    if not found:
        return None
    return max(found, key=lambda f: (_DATE_RANK[f[1]], -f[0]))[2]


@dataclass(frozen=True)
class _Page:
    date: dt.date | None
    title: str | None
    paragraphs: list[str]


def _read_page(text: str, recurring: frozenset[str]) -> _Page:
    lines = _page_lines(text, recurring)
    block = _main_block(lines)
    if block is None:
        return _Page(_top_date(lines), None, [])
    head, start, end, body_start, body_end = block
    t = _title_index(lines, head)
    if t is None and start < head:  # the article's first paragraphs are above its main block
        t, head = _title_index(lines, start), start
    anchor = head if t is None else t
    date = _article_date(lines, anchor, head, end)
    body = _body_lines(lines, body_start, body_end)
    if t is not None and t < body_start:
        body[:0] = [l.shown for l in lines[t + 1: body_start] if _is_standfirst(l)]
    title = None if t is None else lines[t].text
    if title is not None and not (body_start <= t <= body_end and title in body):
        body.insert(0, title)
    return _Page(date, title, _strip_signoff(body))


def _is_standfirst(line: _Line) -> bool:
    """A summary line between the headline and the prose: a long line that reads as prose."""
    return (line.cls != BAD and not line.bullet and len(line.text.split()) >= STANDFIRST_MIN_WORDS
            and _function_word_share(line.text) >= GOOD_MIN_FUNCTION_WORDS)


def _strip_signoff(kept: list[str]) -> list[str]:
    if kept:
        last = _SIGNOFF_TAIL.sub("", kept[-1]).rstrip()
        if _ALNUM.search(last):
            kept[-1] = last
        else:
            kept.pop()
    return kept


def clean_page(text: str, recurring_lines: frozenset[str] = frozenset()) -> tuple[str | None, str]:
    """(title, body) of a scraped page, whatever its date: the body extraction of parse_document."""
    page = _read_page(_normalise_text(text), recurring_lines)
    return page.title, "\n\n".join(page.paragraphs)


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

    page = _read_page(text, recurring_lines)
    if page.date is None:
        return Rejected("missing_date", "no date header and no article date in the page text")
    if not page.paragraphs:
        return Rejected("empty_body", _EMPTY_AFTER_CLEANING)
    return Parsed(page.date, "page_text", page.title, "\n\n".join(page.paragraphs))


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
            if not line or len(line) > RECURRING_MAX_RAW_CHARS:
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
