"""HTML pages: sniffing, decoding, extraction of date/title/body/canonical URL (synthetic pages)."""

from __future__ import annotations

import datetime as dt

import pytest

from newsdag.cleaning import Parsed, Rejected, normalise_line
from newsdag.reading import Undecodable
from newsdag.webpage import (
    FULL_BELOW_CHARS,
    PageParts,
    decode_html,
    extract_page,
    extract_parts,
    find_site_recurring_lines,
    finish_page,
    looks_like_html,
    page_paragraphs,
    site_of,
)

ARTICLE_PARAGRAPHS = [
    "The harbour authority of Northport approved on Tuesday a plan to deepen the main shipping "
    "channel by three metres, a project that officials say will let larger container vessels dock "
    "at the city for the first time since the port opened in 1952.",
    "Mayor Elena Varga told reporters that the dredging work would begin in the spring and last "
    "about eighteen months, with most of the cost carried by the regional government and a loan "
    "from the national infrastructure bank.",
    "Fishermen who use the older quays on the eastern side of the harbour have criticised the plan, "
    "arguing that the construction traffic will cut their access to the fish market during the "
    "busiest months of the season.",
    "The authority said it would publish a detailed timetable next month and hold two public "
    "meetings in the town hall before any contract is signed with the dredging companies.",
]


def news_page(*, date_markup: str = '<meta property="article:published_time" content="2021-07-28T09:15:00+00:00">',
              time_element: str = "", canonical: str = '<link rel="canonical" href="https://news.example.com/port/deepening-plan">',
              title: str = "Northport approves harbour deepening plan", extra_body: str = "") -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in ARTICLE_PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} | Example News</title>
<meta property="og:title" content="{title}">
{date_markup}
{canonical}
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies</div>
<header>
  <nav class="main-nav"><ul>
    <li><a href="/">Home</a></li><li><a href="/world">World</a></li>
    <li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li>
  </ul></nav>
</header>
<main>
<article>
  <h1>{title}</h1>
  {time_element}
  {paragraphs}
  {extra_body}
</article>
<aside class="related">
  <h2>Related stories</h2>
  <ul>
    <li><a href="/a">Ferry operator cuts winter timetable</a></li>
    <li><a href="/b">Council debates new bus lanes</a></li>
    <li><a href="/c">Storm damages lighthouse on the north pier</a></li>
  </ul>
</aside>
</main>
<footer><p>Copyright 2021 Example News. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""


# --------------------------------------------------------------------------- sniffing

@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><html><body>x</body></html>",
    b"<!doctype HTML>\n<title>x</title>",
    b"\xef\xbb\xbf  \n<html lang='en'><head></head></html>",
    b"<!-- saved from url=(0042)http://example.com/ -->\n<html>",
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"><html>',
    b"\n\n<HEAD><TITLE>old page</TITLE></HEAD><BODY>hi</BODY>",
    b"<meta charset=utf-8><title>fragment page</title><p>text</p>",
    "<!DOCTYPE html><html>str input</html>",
    "\ufeff<html>",
    "<html>".encode("utf-16"),
])
def test_looks_like_html_positives(data):
    assert looks_like_html(data)


@pytest.mark.parametrize("data", [
    b"",
    b"date 2021-07-28 The minister said on Tuesday that the <html> tag was not the issue.",
    b"Plain news text.\n" + b"More text. " * 200 + b"<html><head><title>quoted</title></head>",
    b"Subject: markup\n\nUse <title> and <meta> tags in the head of your page.",
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b'{"html": "<html><body></body></html>"}',
    b"<p>a paragraph without any document tags</p>",
    b"WARC/1.0\r\nWARC-Type: response\r\n\r\n<html>",
])
def test_looks_like_html_negatives(data):
    assert not looks_like_html(data)


# --------------------------------------------------------------------------- decoding

def test_decode_meta_charset_windows_1251():
    text = "Правительство объявило новые меры"
    page = f'<html><head><meta charset="windows-1251"><title>{text}</title></head><body><p>{text}</p></body></html>'
    assert decode_html(page.encode("cp1251")) == page


def test_decode_http_equiv_iso_8859_1_and_crlf():
    page = ('<html>\r\n<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            "</head>\r\n<body><p>Un café à Genève</p></body></html>")
    out = decode_html(page.encode("latin-1"))
    assert "Un café à Genève" in out
    assert "\r" not in out


def test_decode_declared_charset_wins_over_meta():
    page = '<html><head><meta charset="utf-8"></head><body><p>Grüße aus Köln</p></body></html>'
    # the HTTP header says latin-1 and the bytes are latin-1: the wrong <meta> is overruled
    assert "Grüße aus Köln" in decode_html(page.encode("latin-1"), declared_charset="ISO-8859-1")


def test_decode_wrong_declared_charset_falls_through_to_meta():
    page = '<html><head><meta charset="utf-8"></head><body><p>Żółć and Łódź</p></body></html>'
    # a declared charset the bytes do not decode under (ascii) is skipped
    assert "Żółć and Łódź" in decode_html(page.encode("utf-8"), declared_charset="us-ascii-nope")
    assert "Żółć and Łódź" in decode_html(page.encode("utf-8"), declared_charset="utf-16")


def test_decode_bom_and_unknown_charset_names():
    page = "<html><body><p>naïve résumé</p></body></html>"
    assert decode_html(b"\xef\xbb\xbf" + page.encode()) == page
    assert decode_html(page.encode("utf-16")) == page
    assert decode_html(page.encode(), declared_charset="x-no-such-charset") == page
    bogus = page.replace("<html>", '<html><meta charset="klingon-8">')
    assert decode_html(bogus.encode()) == bogus


def test_decode_undeclared_cp1252_falls_back():
    page = "<html><body><p>“Quoted” text – with a dash and a café</p></body></html>"
    assert "“Quoted” text – with a dash and a café" in decode_html(page.encode("cp1252"))


def test_valid_utf8_wins_over_a_stale_single_byte_label():
    # a page re-saved as UTF-8 that still says iso-8859-1: the bytes are the better evidence
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Forstærket håb i København</p></body></html>'
    assert "Forstærket håb i København" in decode_html(page.encode("utf-8"))
    assert "Forstærket håb i København" in decode_html(page.encode("utf-8"), declared_charset="windows-1252")


def test_mostly_utf8_keeps_utf8_with_a_replacement_character():
    text = "Die Vögel überwintern in Süddeutschland, sagte die Försterin. " * 5
    raw = (f'<html><head><meta charset="utf-8"></head><body><p>{text}</p><p>bad byte: '.encode()
           + b"\x81" + b"</p></body></html>")
    out = decode_html(raw)
    assert text in out and "\ufffd" in out


def test_whatwg_labels():
    text = "新华网北京电 兄弟，放心吧"
    page = f'<html><head><meta charset="gb2312"></head><body><p>{text}</p></body></html>'
    assert text in decode_html(page.encode("gb18030"))


def test_decode_binary_is_undecodable():
    with pytest.raises(Undecodable) as err:
        decode_html(b"\x00\x01\x02\x03" * 100)
    assert "\n" not in str(err.value)
    assert "NUL" in str(err.value)


# --------------------------------------------------------------------------- extraction

def test_extract_news_page_date_title_body_without_chrome():
    result = extract_page(news_page(), url="https://news.example.com/port/deepening-plan?utm=x")
    assert isinstance(result, Parsed), result
    assert result.published_date == dt.date(2021, 7, 28)
    assert result.date_source == "html"
    assert result.title == "Northport approves harbour deepening plan"
    paragraphs = result.body.split("\n\n")
    assert paragraphs[0] == result.title  # the title leads the body, as for scraped text files
    for p in ARTICLE_PARAGRAPHS:
        assert p in paragraphs
    for chrome in ("cookies", "Home", "Business", "Related stories", "Ferry operator", "Copyright",
                   "Privacy policy", "| Example News"):
        assert chrome not in result.body
    assert result.url == "https://news.example.com/port/deepening-plan"


def test_extract_date_from_time_element():
    page = news_page(date_markup="", time_element='<time datetime="2020-03-05T17:00:00Z">5 March 2020</time>')
    result = extract_page(page, url="https://news.example.com/port/deepening-plan")
    assert isinstance(result, Parsed), result
    assert result.published_date == dt.date(2020, 3, 5)


def test_fetch_date_is_an_upper_bound():
    # the page mentions a later date (an event) and states no publication date in its markup
    page = news_page(date_markup="", canonical="",
                     extra_body="<p>The public meetings are planned for 14 September 2021 in the town hall.</p>",
                     time_element="<p>Published 2 August 2021</p>")
    result = extract_page(page, url="https://news.example.com/port/deepening-plan", fetched=dt.date(2021, 8, 3))
    assert isinstance(result, Parsed), result
    assert result.published_date == dt.date(2021, 8, 2)


def test_canonical_relative_is_ignored_and_og_url_used():
    rel = news_page(canonical='<link rel="canonical" href="/port/deepening-plan">')
    assert extract_page(rel, url="https://fetched.example.com/x").url == "https://fetched.example.com/x"
    og = news_page(canonical='<meta property="og:url" content="https://news.example.com/og-url">')
    assert extract_page(og, url="https://fetched.example.com/x").url == "https://news.example.com/og-url"
    assert extract_page(news_page(canonical=""), url=None).url is None


def test_page_without_date_is_missing_date():
    result = extract_page(news_page(date_markup=""), url="https://news.example.com/port/deepening-plan")
    assert isinstance(result, Rejected)
    assert result.reason == "missing_date"
    assert "\n" not in result.detail and result.detail


def test_copyright_year_alone_is_not_a_date():
    page = news_page(date_markup="").replace("Copyright 2021", "© 2019")
    result = extract_page(page, url="https://news.example.com/story")
    assert isinstance(result, Rejected) and result.reason == "missing_date", result


def test_date_from_url():
    result = extract_page(news_page(date_markup="", canonical=""),
                          url="https://news.example.com/2019/11/30/port-deepening-plan.html")
    assert isinstance(result, Parsed) and result.published_date == dt.date(2019, 11, 30)


def test_empty_and_garbage_pages_are_rejected_not_raised():
    for garbage in ["", "   ", "<html></html>", "\x00\x01<<<>>>", "<html><body>" + "<div>" * 5000,
                    "http://example.com/looks-like-a-url", "<" * 10000, "<html><body><p>Short.</p></body></html>",
                    "<html>" + "\ud800" + "</html>"]:
        result = extract_page(garbage, url="https://x.example.com/")
        assert isinstance(result, Rejected), (garbage[:30], result)
        assert result.reason in ("empty_body", "missing_date", "unparseable_html")
        assert "\n" not in result.detail
    assert isinstance(extract_page(b"<html>bytes</html>"), Rejected)  # type: ignore[arg-type]


def _count_trafilatura_passes(monkeypatch, fake=None) -> list:
    """Record the `fast` flag of every trafilatura.bare_extraction call (answers from `fake(fast)` if given)."""
    import trafilatura

    calls, real = [], trafilatura.bare_extraction

    def spy(*args, **kwargs):
        calls.append(kwargs.get("fast"))
        return fake(kwargs.get("fast")) if fake else real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    return calls


def test_long_text_takes_one_fast_pass(monkeypatch):
    calls = _count_trafilatura_passes(monkeypatch)
    result = extract_page(news_page(), url="https://news.example.com/port/deepening-plan")
    assert sum(map(len, ARTICLE_PARAGRAPHS)) >= FULL_BELOW_CHARS
    assert calls == [True]
    assert isinstance(result, Parsed) and all(p in result.body for p in ARTICLE_PARAGRAPHS)


def test_short_fast_text_is_extracted_again_in_full_mode(monkeypatch):
    calls = _count_trafilatura_passes(monkeypatch)
    page = news_page().replace("".join(f"<p>{p}</p>\n" for p in ARTICLE_PARAGRAPHS[1:]), "")
    result = extract_page(page, url="https://news.example.com/port/deepening-plan")
    assert len(ARTICLE_PARAGRAPHS[0]) < FULL_BELOW_CHARS
    assert calls == [True, False]
    assert isinstance(result, Parsed) and ARTICLE_PARAGRAPHS[0] in result.body
    assert ARTICLE_PARAGRAPHS[1] not in result.body
    calls.clear()
    assert extract_parts(page, "https://news.example.com/a", fast=False).paragraphs  # full mode asked for: one pass
    assert calls == [False]


@pytest.mark.parametrize("fast, full, expected", [
    ("Short fast text.", "The full mode found the whole article.", "The full mode found the whole article."),
    ("Short fast text.", None, "Short fast text."),       # the full mode found nothing: the fast text stays
    ("Short fast text.", "", "Short fast text."),
    (None, "Only the full mode found text.", "Only the full mode found text."),
    (None, None, None),
])
def test_full_mode_answer_wins_when_it_has_text(monkeypatch, fast, full, expected):
    from types import SimpleNamespace

    def answer(is_fast):
        text = fast if is_fast else full
        return None if text is None else SimpleNamespace(text=text)

    calls = _count_trafilatura_passes(monkeypatch, answer)
    parts = extract_parts(news_page(), url="https://news.example.com/a")
    assert calls == [True, False]
    if expected is None:
        assert parts == Rejected("empty_body", "trafilatura found no main text on the page")
    else:
        assert isinstance(parts, PageParts) and parts.paragraphs == (expected,)


def test_recurring_lines_are_dropped():
    box = "<p>Sign up for our morning newsletter</p>"
    page = news_page(extra_body=box)
    plain = extract_page(page, url="https://news.example.com/a")
    assert "Sign up for our morning newsletter" in plain.body
    recurring = frozenset({normalise_line("Sign up for our  MORNING newsletter")})
    cleaned = extract_page(page, url="https://news.example.com/a", recurring=recurring)
    assert "newsletter" not in cleaned.body
    assert ARTICLE_PARAGRAPHS[0] in cleaned.body


def test_two_pass_site_recurring_lines():
    """Extract a site's pages once, learn its recurring lines, finish each page without them."""
    urls = [f"https://www.news.example.com/2021/07/{day:02d}/story-{day}" for day in range(1, 8)]
    pages = [news_page(date_markup="", canonical="",
                       extra_body=f"<p>Story number {day} has its own closing line about the harbour.</p>"
                                  "<p>Sign up for our morning newsletter</p>")
             for day in range(1, 8)]
    parts = [extract_parts(page, url) for page, url in zip(pages, urls)]
    assert all(isinstance(p, PageParts) for p in parts)
    assert parts[0].published_date == dt.date(2021, 7, 1) and parts[0].url == urls[0]
    recurring = find_site_recurring_lines((site_of(p.url), p.paragraphs) for p in parts)
    assert set(recurring) == {"news.example.com"}
    assert "sign up for our morning newsletter" in recurring["news.example.com"]
    finished = [finish_page(p, recurring[site_of(p.url)]) for p in parts]
    assert all(isinstance(f, Parsed) and "newsletter" not in f.body for f in finished)
    assert all(ARTICLE_PARAGRAPHS[1] in f.body for f in finished)  # long prose is never "recurring"
    assert "Story number 3 has its own closing line" in finished[2].body
    assert finished[2] == extract_page(pages[2], urls[2], recurring=recurring["news.example.com"])
    everything = frozenset(normalise_line(p) for p in parts[0].paragraphs)
    assert finish_page(parts[0], everything).reason == "empty_body"
    assert finish_page(Rejected("empty_body", "x")) == Rejected("empty_body", "x")


def test_site_of():
    assert site_of("https://WWW.Example.COM:8080/a?b") == "example.com"
    assert site_of("http://news.example.co.uk/") == "news.example.co.uk"
    assert site_of("www.example.com") is None  # no scheme: no host
    assert site_of(None) is None
    assert site_of("http://[::1") is None


def test_find_site_recurring_lines():
    pages = []
    for i in range(10):
        pages.append(("a.example", [f"Story {i} text that is unique to this page and long enough.",
                                    "Follow us on social media", "Read more"]))
    pages.append(("b.example", ["Follow us on social media"]))
    pages.append((None, ["Read more"]))
    found = find_site_recurring_lines(pages, min_pages=5)
    assert found == {"a.example": frozenset({"follow us on social media", "read more"})}


def test_page_paragraphs():
    assert page_paragraphs("  a  b \n\n c\n") == ["a b", "c"]
    assert page_paragraphs(None) == []


# --------------------------------------------------------------------------- never raises

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TAGS = st.sampled_from(["<html>", "</html>", "<head>", "<body>", "<p>", "</p>", "<div>", "<script>", "<!--",
                         "-->", "<meta charset='x'>", "<time datetime='2021-02-30'>", "<![CDATA[", "&#0;",
                         "<title>", "<h1>", "\x00", "\ud800", "2021-07-28", " text ", "\n"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_TAGS, st.text(max_size=30)), max_size=40), st.binary(max_size=300))
def test_garbage_never_raises(pieces, raw):
    page = "".join(pieces)
    result = extract_page(page, url="https://example.com/2021/07/28/x")
    assert isinstance(result, (Parsed, Rejected))
    looks_like_html(raw)
    looks_like_html(page)
    try:
        decode_html(raw, declared_charset="utf-8")
    except Undecodable as exc:
        assert "\n" not in str(exc)
