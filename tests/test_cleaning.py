"""Tests for newsdag.cleaning: date header, page-text dates, chrome removal, recurring lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsdag.cleaning import (
    Parsed,
    Rejected,
    clean_page,
    find_dates,
    find_recurring_lines,
    normalise_line,
    parse_document,
)

SAMPLES = Path(__file__).resolve().parent.parent / "newsdag" / "sample"


def sample(prefix: str) -> str:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path.read_bytes().decode("utf-8-sig")


def paragraphs(p: Parsed) -> list[str]:
    return p.body.split("\n\n")


# --------------------------------------------------------------------------- date header

@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        (" date 2021-13-45 Body text here.", "'2021-13-45' is not a calendar date"),
        (" date 2021-02-30 Body text here.", "'2021-02-30' is not a calendar date"),
        (" date 28/07/2021 Body text here.", "'28/07/2021' is not ISO YYYY-MM-DD"),
        (" date 2021-07 Body text here.", "'2021-07' is not ISO YYYY-MM-DD"),
        (" date yesterday Body text here.", "'yesterday' is not ISO YYYY-MM-DD"),
        (" date 2021-07-28Body glued to the date.", "'2021-07-28Body' is not ISO YYYY-MM-DD"),
        (" date ", "date header has no date"),
        ("date", "date header has no date"),
        (" date \nBody on the next line.", "date header has no date"),
    ],
)
def test_malformed_date_header(text: str, quoted: str) -> None:
    r = parse_document(text)
    assert isinstance(r, Rejected)
    assert r.reason == "malformed_date_header"
    assert quoted in r.detail


def test_valid_header() -> None:
    r = parse_document(" date 2021-07-28 The first paragraph.\n\nThe second paragraph.\n")
    assert r == Parsed(dt.date(2021, 7, 28), "header", None,
                       "The first paragraph.\n\nThe second paragraph.")


def test_header_without_leading_space_and_single_newlines() -> None:
    r = parse_document("date 1987-02-26 LONDON, Feb 26 - A said B.\nC said D.\nReuter\n")
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(1987, 2, 26)
    assert paragraphs(r) == ["LONDON, Feb 26 - A said B.", "C said D."]


def test_capitalised_date_is_not_a_header() -> None:
    r = parse_document("Date: July 28, 2021\n\nSome headline here\n\nA real sentence of the article body.")
    assert isinstance(r, Parsed)
    assert r.date_source == "page_text"
    assert r.published_date == dt.date(2021, 7, 28)


def test_crlf_input() -> None:
    r = parse_document(" date 2021-07-28 First line.\r\n\r\nSecond line.\r\nReuter\r\n")
    assert isinstance(r, Parsed)
    assert "\r" not in r.body
    assert paragraphs(r) == ["First line.", "Second line."]


def test_crlf_page_text() -> None:
    text = sample("001").replace("\r\n", "\n").replace("\n", "\r\n")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2021, 7, 28)
    assert r.body == parse_document(sample("001")).body


# --------------------------------------------------------------------------- page-text dates

@pytest.mark.parametrize(("prefix", "date"), [("001", dt.date(2021, 7, 28)),
                                              ("004", dt.date(2021, 8, 10))])
def test_page_text_date_of_seeds(prefix: str, date: dt.date) -> None:
    r = parse_document(sample(prefix))
    assert isinstance(r, Parsed)
    assert r.published_date == date
    assert r.date_source == "page_text"


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Updated: Jul 28, 2021, 04:31 PM IST", dt.date(2021, 7, 28)),
        ("August 10, 2021", dt.date(2021, 8, 10)),
        ("10 August 2021", dt.date(2021, 8, 10)),
        ("Jul 28, 2021", dt.date(2021, 7, 28)),
        ("2021-07-28", dt.date(2021, 7, 28)),
        ("Published: Wednesday, 28th July 2021 10:02 GMT", dt.date(2021, 7, 28)),
    ],
)
def test_page_text_date_formats(line: str, date: dt.date) -> None:
    text = f"site_logo\n{line}\n\nSome headline here\n\nThe article says something important today."
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == date
    assert line not in r.body


def test_invalid_calendar_date_in_page_is_ignored() -> None:
    r = parse_document("February 30, 2021\nMarch 2, 2021\n\nHeadline\n\nThe body sentence is here.")
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2021, 3, 2)


def test_published_preferred_over_updated() -> None:
    text = ("Updated: Aug 2, 2021\nPublished: Aug 1, 2021\n\nHeadline\n\n"
            "The body sentence of the article is here.")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2021, 8, 1)


def test_missing_date() -> None:
    r = parse_document("ugc_banner\n\nSome headline\n\nA body without any date at all in it.")
    assert isinstance(r, Rejected)
    assert r.reason == "missing_date"


def test_ambiguous_numeric_date_is_not_guessed() -> None:
    r = parse_document("Posted 07/08/2021\n\nHeadline\n\nThe body sentence of the article is here.")
    assert isinstance(r, Rejected)
    assert r.reason == "missing_date"


def test_date_after_the_article_is_not_used() -> None:
    lines = [f"Paragraph number {i} of the article, which is quite long." for i in range(30)]
    lines.append("August 10, 2021")
    r = parse_document("\n\n".join(lines))
    assert isinstance(r, Rejected)
    assert r.reason == "missing_date"


# --------------------------------------------------------------------------- empty body

@pytest.mark.parametrize("text", [" date 2021-07-28", " date 2021-07-28 \n\n  \r\n", "date 2021-07-28 ...\n"])
def test_empty_body_header_only(text: str) -> None:
    r = parse_document(text)
    assert r == Rejected("empty_body", "file has a date header but no body")


def test_empty_body_after_cleaning_header() -> None:
    r = parse_document(" date 2021-07-28 Watch:\n\n(With inputs from Agencies)\nReuter\n")
    assert r == Rejected("empty_body", "body is empty after removing page chrome")


def test_empty_body_page_only_chrome() -> None:
    text = ("ugc_banner\n\nWION Web Team\nAfghanistan Updated: Jul 28, 2021, 04:31 PM IST\n"
            "main img\nPhotograph:(Reuters)\n\nStory highlights\n\n3 mins read\nGo toTop\n")
    r = parse_document(text)
    assert r == Rejected("empty_body", "body is empty after removing page chrome")


# --------------------------------------------------------------------------- chrome removal on seeds

CHROME_001 = ["ugc_banner", "WION Web Team", "Updated:", "04:31 PM IST", "main img",
              "Photograph:(Reuters)", "Story highlights", "Watch:", "With inputs from"]


def test_chrome_removed_from_001() -> None:
    r = parse_document(sample("001"))
    assert isinstance(r, Parsed)
    for chrome in CHROME_001:
        assert chrome not in r.body, chrome
    title = "Amid fighting between Taliban and Afghan troops, Russia to bolster Tajikistan's military"
    assert r.title == title
    paras = paragraphs(r)
    assert paras[0] == title
    assert paras[1].startswith("Amid heavy fighting in Afghanistan between Afghan troops and the Taliban")
    assert "Chinese foreign minister Wang Yi told the Taliban" in r.body
    assert paras[-1].startswith("Reports say Tajikistan is ready to accept 100,000 refugees")


def test_001_is_title_plus_highlights_plus_000() -> None:
    a = parse_document(sample("000"))
    b = parse_document(sample("001"))
    assert isinstance(a, Parsed) and isinstance(b, Parsed)
    assert a.title is None and a.date_source == "header"
    assert "Watch:" not in a.body and "With inputs" not in a.body
    assert paragraphs(b)[2:] == paragraphs(a)
    assert len(paragraphs(a)) == 11


CHROME_004 = ["August 10, 2021", "3 mins read", "Pic credit", "B-52 Bomber strike", "ALSO READ",
              "Taliban kidnap and forcibly marry", "Previous Story", "Baloch senator alleges",
              "Next Story", "Afghan forces must fight for their nation", "Latest from",
              "Vance", "Bangladesh", "Go toTop", "Don't Miss", "climate envoy", "Congress"]


def test_chrome_removed_from_004() -> None:
    r = parse_document(sample("004"))
    assert isinstance(r, Parsed)
    for chrome in CHROME_004:
        assert chrome not in r.body, chrome
    assert r.title == "US to press Taliban to stop military offensive"
    paras = paragraphs(r)
    assert paras[0] == r.title
    # the lede has no final period but ends with part of a sentence that must stay
    assert paras[1].endswith("reports Asian Lite News")
    assert "US to continue to support Afghan forces" in paras  # sub-heading inside the article
    assert "Pentagon Press Secretary John Kirby" in r.body
    assert paras[-1].startswith("Given the deteriorating security situation, the US Embassy in Kabul")


@pytest.mark.parametrize("prefix", ["002", "003"])
def test_other_header_seeds_keep_all_paragraphs(prefix: str) -> None:
    text = sample(prefix)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.date_source == "header" and r.title is None
    assert "inputs from" not in r.body.lower()
    raw_paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    assert len(paragraphs(r)) == len(raw_paras) - 1  # only the credit line went


# --------------------------------------------------------------------------- general line rules

@pytest.mark.parametrize(
    "chrome",
    [
        "By John Smith",
        "By Jane Doe and Bob Roe",
        "Express News Service",
        "Photo: Reuters",
        "File photo (Photo: AFP)",
        "Rescue workers at the site (Image credit: Twitter)",
        "5 min read",
        "Read more: Taliban seize another city",
        "Also Read | Some teaser headline",
        "Share",
        "Facebook Twitter WhatsApp",
        "(With inputs from PTI)",
        "(Reporting by John Smith; Editing by Jane Doe)",
        "Advertisement",
        "Key Highlights",
        "Home | World | Asia | Afghanistan",
    ],
)
def test_chrome_line_removed(chrome: str) -> None:
    text = f" date 2021-07-28 The article sentence stays in place.\n\n{chrome}\n\nAnother sentence stays too."
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["The article sentence stays in place.", "Another sentence stays too."]


@pytest.mark.parametrize(
    "sentence",
    [
        "By contrast, Rudolph Penner said the budget process has broken down.",
        "Share prices rose in very active trading today.",
        "Photographs of the meeting were released by the ministry on Friday.",
        "The issue, reports Asian Lite News, was discussed at length",
        "Watchdogs said the deal would be reviewed.",
        "Company was formed Dec 30, 1985.",
        "Record March 31, 1987",
        "He said they were told by Reuter correspondents in the region that talks stalled.",
    ],
)
def test_real_sentences_kept(sentence: str) -> None:
    r = parse_document(f" date 1987-03-01 First sentence of the story.\n{sentence}\nLast line.\nREUTER\n")
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["First sentence of the story.", sentence, "Last line."]


@pytest.mark.parametrize("signoff", ["Reuter", "REUTER", "reuter", "Reuter &#3;", "REUTER  \t",
                                     "REUTER...", "Reuter\n&#3;", "REUTER^M"])
def test_reuter_signoff_removed(signoff: str) -> None:
    r = parse_document(f" date 1987-02-26 NEW YORK, Feb 26 - Acme Corp said it agreed to buy Beta Inc.\n{signoff}\n")
    assert isinstance(r, Parsed)
    assert r.body == "NEW YORK, Feb 26 - Acme Corp said it agreed to buy Beta Inc."


def test_reuter_signoff_glued_to_last_sentence() -> None:
    r = parse_document(" date 1987-02-26 Pre-tax profit rose to 105.9 mln stg. REUTER\n")
    assert isinstance(r, Parsed)
    assert r.body == "Pre-tax profit rose to 105.9 mln stg."
    r = parse_document(" date 1987-02-26 The figures were confirmed, officials told Reuters.\n")
    assert isinstance(r, Parsed)
    assert r.body == "The figures were confirmed, officials told Reuters."


def test_unproc_table_text_kept() -> None:
    text = (" date 1987-02-26 FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26\n"
            "Two weeks ended Feb 25 daily avgs-mlns\n"
            "Net free reserves.............644 vs.....1,337\n"
            "Bank borrowings...............680 vs.......425\n"
            "- - - -\n"
            "Reuter\n")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26",
                             "Two weeks ended Feb 25 daily avgs-mlns",
                             "Net free reserves.............644 vs.....1,337",
                             "Bank borrowings...............680 vs.......425"]


P1 = "The council approved the new budget on Monday after a debate that lasted most of the night."
P2 = "Opponents said the plan would raise taxes for small firms, which the mayor denied in a statement."
P3 = "The vote was close, with seven members in favour and six against, and a recount was refused."
P4 = "A second reading is planned for next month, when the final figures are expected to be known."
P_DE = ("Der Stadtrat hat am Montag den neuen Haushalt beschlossen, nachdem die Debatte bis in die "
        "Nacht gedauert hatte.")


def page(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_footer_box_after_article_dropped_and_not_before_article() -> None:
    text = page("July 1, 2021", "Don't Miss", "", "Headline of the story", "", P1, P2, "",
                "Related Stories", "* Other story teaser one", "* Other story teaser two")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Headline of the story", P1, P2]


def test_inline_related_box_keeps_both_halves() -> None:
    text = page("Council passes budget", "By Jane Doe | Published 19 NOV 2019", P1, P2,
                "Related Stories", "* Mayor resigns after scandal", "* New bridge opens downtown",
                "Don't Miss:", "Weather warning for the weekend", P3, P4)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3, P4]


COOKIE = ("We use cookies and similar technologies to improve your experience on our website, to "
          "analyse traffic and to show you personalised content; by clicking accept you consent to this.")
COOKIE_DATED = ("Our cookie policy has been updated and became effective May 23rd, 2018, and you can "
                "read how we use your personal data in the privacy policy at any time.")


def test_long_cookie_banner_before_article() -> None:
    text = page(COOKIE, "Accept", "Home", "News", "Council passes budget", "Nov. 19, 2019 8:03 am ET",
                P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert r.title == "Council passes budget"
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3]


def test_date_only_in_cookie_notice_is_missing_date() -> None:
    text = page(COOKIE_DATED, "OK", "Council passes budget", P1, P2, P3)
    r = parse_document(text)
    assert r == Rejected("missing_date", "no date header and no article date in the page text")


def test_site_header_today_and_article_date_further_down() -> None:
    menu = [f"* Section {i}" for i in range(20)]
    text = page("Tuesday, November 26, 2019", "Daily Planet", *menu, "Council passes budget",
                "By Jane Doe", "Posted November 19, 2019 | 4:20am", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert r.title == "Council passes budget"


def test_date_below_the_fold_of_a_long_header() -> None:
    menu = [f"Menu entry {i}" for i in range(40)]  # well below the first 15 lines
    text = page(*menu, "Council passes budget", "2019-11-18T20:51:19Z", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 18)


def test_dates_in_a_list_of_other_stories_are_not_used() -> None:
    text = page("Council passes budget", P1, P2, P3, *[f"Filler line {i}" for i in range(12)],
                "Most read", "* Mayor resigns", "* 12 November 2019", "* Bridge opens", "* 13 November 2019")
    r = parse_document(text)
    assert r == Rejected("missing_date", "no date header and no article date in the page text")


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("19 NOV 2019", dt.date(2019, 11, 19)),
        ("Nov. 19, 2019 8:03 am ET", dt.date(2019, 11, 19)),
        ("2019-11-18T20:51:19Z", dt.date(2019, 11, 18)),
        ("Tuesday, November 19, 2019", dt.date(2019, 11, 19)),
        ("November 19, 2019 | 4:20am", dt.date(2019, 11, 19)),
        ("19. November 2019", dt.date(2019, 11, 19)),
        ("Veröffentlicht am 19.11.2019, 14:30 Uhr", dt.date(2019, 11, 19)),
        ("Dienstag, 19. Nov. 2019", dt.date(2019, 11, 19)),
        ("Stand: 3. März 2020", dt.date(2020, 3, 3)),
        ("2019/11/19", dt.date(2019, 11, 19)),
    ],
)
def test_written_date_forms(line: str, date: dt.date) -> None:
    r = parse_document(page("Council passes budget", line, P1, P2))
    assert isinstance(r, Parsed)
    assert r.published_date == date
    assert line not in r.body


@pytest.mark.parametrize("line", ["07/08/2021", "Posted 7.8.21", "Nov 2019", "2019-11"])
def test_unread_date_forms(line: str) -> None:
    r = parse_document(page("Council passes budget", line, P1, P2))
    assert isinstance(r, Rejected) and r.reason == "missing_date"


def test_find_dates_one_parser() -> None:
    assert find_dates("from 1.2.2019 to 2019-02-03 and 4 Feb 2019, Feb 5th, 2019") == [
        dt.date(2019, 2, 1), dt.date(2019, 2, 3), dt.date(2019, 2, 4), dt.date(2019, 2, 5)]
    assert find_dates("February 30, 2021 and version 1.2.3.2019") == []


def test_menu_lines_and_share_prompts_dropped() -> None:
    text = page("* Home", "* Politics", "* Business", "* Sport", "Search", "Log in",
                "Council passes budget", "19 November 2019", P1, "Share", P2,
                "Subscribe to our newsletter", "* Imprint", "* Contact")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, P2]


def test_title_is_headline_not_player_or_menu_chrome() -> None:
    text = page("* Home", "* World", "Click to Skip Ad", "Breaking", "Council passes budget after long night",
                "By Jane Doe", "19 November 2019", "Photo: Reuters", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.title == "Council passes budget after long night"
    assert "Click to Skip Ad" not in r.body


def test_german_page() -> None:
    text = page("* Startseite", "* Politik", "Stadtrat beschließt Haushalt", "19.11.2019", P_DE, P_DE[::-1])
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert r.title == "Stadtrat beschließt Haushalt"
    assert P_DE in r.body


def test_comments_after_article_are_not_body_nor_date() -> None:
    text = page("Council passes budget", "Posted on November 19, 2019 by Jane", P1, P2, P3, P4,
                "3 Comments", "Bob", "November 21, 2019 at 3:04 pm",
                "I think the council made the right call here, and I hope they stick to it this year.")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3, P4]


def test_clean_page_needs_no_date() -> None:
    title, body = clean_page(page("Council passes budget", P1, P2))
    assert title == "Council passes budget"
    assert body == "\n\n".join(["Council passes budget", P1, P2])


def test_recurring_lines_removed() -> None:
    text = " date 2021-07-28 Body sentence one.\nSubscribe to Our Daily Brief\nBody sentence two.\n"
    rec = frozenset({normalise_line("  SUBSCRIBE to our   daily brief ")})
    r = parse_document(text, rec)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Body sentence one.", "Body sentence two."]
    r2 = parse_document(" date 2021-07-28 Body sentence one.\nOur Daily Brief\nBody sentence two.\n",
                        frozenset({"our daily brief"}))
    assert isinstance(r2, Parsed)
    assert "Our Daily Brief" not in r2.body


# --------------------------------------------------------------------------- recurring lines

def test_normalise_line() -> None:
    assert normalise_line("  Latest\tFROM \u00a0 Top  News \n") == "latest from top news"


def _synthetic_corpus(n: int) -> list[str]:
    texts = []
    for i in range(n):
        lines = [f" date 2021-07-{1 + i % 28:02d} Story {i} says company {i} made a deal."]
        if i < 30:
            lines.append("Follow Our Newsroom")  # short chrome line in 30 files
        if i < 10:
            lines.append("Rare Short Line")  # only in 10 files
        # a templated long sentence repeated in every file: article text, never chrome
        lines.append("The dollar opened at 1.35 marks in quiet trading, dealers said.")
        lines.append("Nine mths")  # short, in every file
        lines.append("Reuter")
        texts.append("\n".join(lines))
    return texts


def test_find_recurring_lines_short_vs_templated() -> None:
    rec = find_recurring_lines(_synthetic_corpus(100))
    assert "follow our newsroom" in rec
    assert "reuter" in rec
    assert "nine mths" in rec
    assert "rare short line" not in rec
    assert not any("dollar" in line for line in rec)
    assert not any(line.startswith("date") or "deal" in line for line in rec)


def test_find_recurring_lines_threshold_scales_with_corpus() -> None:
    # 30 files of 5000 is below 1 % (50 files), so the line is not recurring there
    texts = _synthetic_corpus(5000)
    rec = find_recurring_lines(texts)
    assert "follow our newsroom" not in rec
    assert "reuter" in rec
    assert "follow our newsroom" in find_recurring_lines(texts, min_fraction=0.005)


def test_find_recurring_lines_counts_files_not_lines() -> None:
    texts = ["date 2021-01-01 x\n" + "Repeated Line\n" * 50] * 5 + [f"date 2021-01-01 y{i}" for i in range(20)]
    assert find_recurring_lines(texts) == frozenset()


def test_find_recurring_lines_long_short_line_rejected() -> None:
    texts = [f"date 2021-01-01 Body {i}\none two three four five six seven\nSeven words: no"
             for i in range(40)]
    rec = find_recurring_lines(texts)
    assert "one two three four five six seven" not in rec
    assert "seven words: no" in rec


def test_find_recurring_lines_accepts_iterator() -> None:
    texts = _synthetic_corpus(20_000)
    rec = find_recurring_lines(iter(texts))
    assert "follow our newsroom" not in rec and "reuter" in rec


def test_also_read_sentence_kept_but_teaser_dropped() -> None:
    text = (" date 2021-07-28 First sentence.\nALSO READ Taliban kidnap teenage girls\n"
            "Also read the statement issued by the ministry on Monday.\n")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["First sentence.", "Also read the statement issued by the ministry on Monday."]


def test_lowercase_date_word_is_always_a_header() -> None:
    r = parse_document("date night ideas for the summer are plenty.")
    assert isinstance(r, Rejected)
    assert r.detail == "header date 'night' is not ISO YYYY-MM-DD"


S1 = "Our newsletter brings you the best stories of the week, every Friday morning, free of charge."
S2 = "The magazine was founded in 1990 and is published by an independent cooperative of journalists."
S3 = "Readers can support our work with a donation or a subscription, which keeps the site free of ads."


def test_block_under_dated_headline_beats_longer_sidebar() -> None:
    # the sidebar has more prose, but the article's block stands under a dated headline
    text = page("Council passes budget", "19 NOV 2019", P1, P2,
                *[f"Menu entry {i}" for i in range(12)], "About the magazine", S1, S2, S3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["Council passes budget", P1, P2]


def test_first_paragraph_above_a_list_is_part_of_the_article() -> None:
    # a long list (gallery, table of contents) between the first paragraph and the rest
    contents = [f"* Chapter {i}" for i in range(12)]
    text = page("Council passes budget", "19 NOV 2019", P1, *contents, P2, P3, P4)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert r.title == "Council passes budget"
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3, P4]


def test_prose_above_a_box_of_links_is_not_merged() -> None:
    teasers = [f"Filler line {i}" for i in range(12)]
    text = page(S1, "Related Stories", *teasers, "Council passes budget", "19 NOV 2019", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3]


def test_several_unlabelled_dates_around_headline_are_a_story_list() -> None:
    stories = ["Mayor resigns", "12 November 2019", "Bridge opens downtown", "13 November 2019"]
    r = parse_document(page(*stories, "Council passes budget", "14 November 2019", P1, P2, P3))
    assert r == Rejected("missing_date", "no date header and no article date in the page text")
    # a labelled date is still read
    r = parse_document(page(*stories, "Council passes budget", "Published 14 November 2019", P1, P2))
    assert isinstance(r, Parsed) and r.published_date == dt.date(2019, 11, 14)


def test_two_unlabelled_dates_need_the_article_header() -> None:
    # the date between headline and prose is the article's own, whatever stands above
    r = parse_document(page("Mayor resigns", "12 November 2019", "Council passes budget",
                            "13 November 2019", P1, P2, P3))
    assert isinstance(r, Parsed) and r.published_date == dt.date(2019, 11, 13)
    # two different dates above the headline: no way to tell which one is the article's
    r = parse_document(page("12 November 2019", "Weather", "13 November 2019",
                            "Council passes budget", P1, P2, P3))
    assert r == Rejected("missing_date", "no date header and no article date in the page text")


# a long paragraph of running prose that does not end like a sentence (the page cut it, or a
# link followed it): jusText's stopword density calls it prose, so it stays in the article
UNPUNCTUATED = ("The council said that the new budget would be spent on the schools and the roads of "
                "the town, and that it was the first time in ten years that the council had been able "
                "to agree on it before the end of the year with the support of all of the parties")


def test_long_unpunctuated_prose_is_kept() -> None:
    text = page("* Home", "* News", "Council passes budget", "November 19, 2019", P1, P2, UNPUNCTUATED,
                "Related stories", "* Another story about the council and the budget")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["Council passes budget", P1, P2, UNPUNCTUATED]


def test_truncated_teaser_is_not_raised_to_prose() -> None:
    teaser = ("During the two-day visit, the first in many years, the minister made the claims after "
              "meeting the advisor of the government\u2026 reports the news agency that the country has "
              "rejected the claims made by the deputy minister and")
    text = page("Council passes budget", "November 19, 2019", P1, P2, "Latest from the region", teaser)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert "deputy minister" not in r.body


# --------------------------------------------------------------------------- in-article lines kept
# (synthetic pages: short lines inside the article stay, chrome around it does not)

P5 = "The money for the bridge comes from the state, which agreed to pay two thirds of the cost."
INTRO = "The new budget pays for three projects in the town centre over the next two years:"


def test_subheading_and_short_list_in_article_kept_related_list_after_dropped() -> None:
    text = page("* Home", "* Politics", "Council passes budget", "19 NOV 2019", P1,
                "Where the money goes", INTRO,
                "* a new bridge over the river", "* two more bus lines", "* longer library hours",
                P2, "Related Stories", "* Mayor resigns after scandal", "* New bridge opens downtown",
                P3, P4,
                "* Mayor resigns after scandal", "* Weather warning for the weekend", "* Contact")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["Council passes budget", P1, "Where the money goes", INTRO,
                             "a new bridge over the river", "two more bus lines", "longer library hours",
                             P2, P3, P4]


def test_list_introduced_by_a_short_line_ending_with_a_colon_kept() -> None:
    text = page("Council passes budget", "19 NOV 2019", P1,
                "What the council decided:", "* Bridge", "* Buses", "* Library", P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, "What the council decided:",
                             "Bridge", "Buses", "Library", P2, P3]


def test_box_of_teasers_between_paragraphs_still_dropped() -> None:
    # no marker, no colon: headline-like links between two paragraphs are a box
    text = page("Council passes budget", "19 NOV 2019", P1,
                "* Mayor resigns after scandal", "* New bridge opens downtown", P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3]


def test_list_items_that_are_sentences_or_continue_one_kept() -> None:
    text = page("Council passes budget", "19 NOV 2019", P1,
                "* The bridge opens in May.", "* The buses run every ten minutes.",
                "* Mayor resigns after scandal", "* New bridge opens downtown",
                P2, "* keeps the old town hall open", "* adds two more bus lines", P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, "The bridge opens in May.",
                             "The buses run every ten minutes.", P2, "keeps the old town hall open",
                             "adds two more bus lines", P3]


def test_line_of_two_sentences_in_a_box_kept() -> None:
    two = "The vote took six hours. Members of all parties spoke before the council finally agreed"
    text = page("Council passes budget", "19 NOV 2019", P1, "* Mayor resigns after scandal",
                "* New bridge opens downtown", two, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, two, P2, P3]


def test_ordered_list_items_keep_their_number() -> None:
    text = page("Council passes budget", "19 NOV 2019", P1, "The plan has two steps:",
                "1. Build the bridge", "2. Open the bus lines", P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert "1. Build the bridge" in paragraphs(r) and "2. Open the bus lines" in paragraphs(r)


def test_first_paragraphs_far_above_the_main_block_kept_but_date_from_its_header() -> None:
    # a long gallery (no box marker) between the first paragraphs and the rest of the article
    gallery = [f"* Picture {i} of the gallery" for i in range(40)]
    text = page("Council passes budget", P1, *gallery, "The vote in detail", "Published 20 NOV 2019",
                P2, P3, P4, P5)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 20)  # read next to the main block, as before
    assert paragraphs(r)[-5:] == [P1, P2, P3, P4, P5]
    assert "Picture 3 of the gallery" not in r.body


def test_prose_above_a_box_marker_is_still_not_merged_however_far() -> None:
    teasers = [f"Filler line {i}" for i in range(40)]
    text = page(S1, "Most read", *teasers, "Council passes budget", "19 NOV 2019", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, P2, P3]


CODE = ["from town import council", "council.vote(budget)", "council.publish()"]
P_CODE = "After the vote the council publishes the budget, and the town prints it for every household."


def test_prose_below_a_code_block_on_the_same_topic_kept() -> None:
    filler = [f"step_{i} = council.prepare({i})" for i in range(12)]
    text = page("Council passes budget", "19 NOV 2019", P1, P2, *CODE, *filler, P_CODE)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r)[-1] == P_CODE


def test_prose_below_after_share_buttons_or_on_another_topic_dropped() -> None:
    filler = [f"step_{i} = council.prepare({i})" for i in range(12)]
    bio = ("Jane Doe writes about gardening and cooking for our weekly magazine, and she lives "
           "with two cats in a small house near the sea.")
    r = parse_document(page("Council passes budget", "19 NOV 2019", P1, P2, *filler, bio))
    assert isinstance(r, Parsed) and bio not in r.body
    r = parse_document(page("Council passes budget", "19 NOV 2019", P1, P2, *CODE, "Share",
                            *filler, P_CODE))
    assert isinstance(r, Parsed) and P_CODE not in r.body


def test_quote_attribution_does_not_end_the_article() -> None:
    text = page("Council passes budget", "19 NOV 2019", P1, P2, "The mayor wrote on social media:",
                "Proud of our council tonight", "\u2014 Mayor Jones (@mayorjones) November 19, 2019",
                *[f"Filler line {i}" for i in range(5)], P3, P4)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert P3 in r.body and P4 in r.body


def test_standfirst_between_headline_and_prose_kept() -> None:
    standfirst = "The town will spend more on its roads and schools than in any year before."
    text = page("* Home", "Council passes budget", standfirst, "By Jane Doe", "19 NOV 2019",
                "Photo: Reuters", P1, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", standfirst, P1, P2, P3]


def test_final_prose_line_cut_short_by_a_link_kept() -> None:
    cut = "Readers who want to know more about the plan and the vote can find the whole budget in the"
    text = page("Council passes budget", "19 NOV 2019", P1, P2, cut, "* Imprint", "* Contact")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, P2, cut]


PRIVACY = ("The new data protection rules (Datenschutz) that the council adopted on Monday mean that "
           "the town must now tell every resident which of their data it keeps, for how long, and "
           "why; the council expects the change to cost about two hundred thousand euros a year, "
           "most of it for the staff who will answer the letters, and the opposition said that the "
           "money would have been better spent on the schools.")


def test_long_prose_about_privacy_between_paragraphs_kept_consent_banner_not() -> None:
    assert len(PRIVACY) > 320  # a long paragraph of running prose, not a banner
    text = page(COOKIE, "Accept", "Council passes budget", "19 NOV 2019", P1, PRIVACY, P2, P3)
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["Council passes budget", P1, PRIVACY, P2, P3]
    # the same words in a consent line between paragraphs: dropped
    r = parse_document(page("Council passes budget", "19 NOV 2019", P1, COOKIE, P2, P3))
    assert isinstance(r, Parsed) and COOKIE not in r.body


def test_cjk_sentences_are_prose() -> None:
    zh = ["市议会周一通过了新的预算，辩论持续了大半夜。" * 3,
          "反对者说这个计划会增加小企业的税收，市长在声明中否认了这一点。" * 3,
          "投票结果很接近，有七人赞成。"]
    text = page("* 首页", "* 新闻", "市议会通过预算", "2019-11-19", *zh, "* 联系我们")
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert r.published_date == dt.date(2019, 11, 19)
    assert paragraphs(r) == ["市议会通过预算", *zh]


# --------------------------------------------------------------------------- line-rule limits

def test_long_bracketed_credit_and_tags_line_are_chrome() -> None:
    credit = "(Reporting by " + ", ".join(f"Reporter Number{i}" for i in range(14)) + "; Editing by Jane Doe)"
    assert 220 < len(credit) <= 320
    r = parse_document(f" date 2021-07-28 The article sentence stays in place.\n{credit}\n"
                       "Another sentence stays too.\n")
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["The article sentence stays in place.", "Another sentence stays too."]
    tags = "Tags: " + ", ".join(f"topic number {i}" for i in range(12))
    assert 120 < len(tags) <= 320
    text = page("Council passes budget", "19 NOV 2019", P1, P2, tags, "* Other story one",
                "* Other story two", P3)
    r = parse_document(text)
    assert isinstance(r, Parsed) and tags not in r.body and "Other story" not in r.body


@pytest.mark.parametrize("byline", ["By John Smith", "Written by Jane Doe", "Posted by Bob Roe",
                                    "Reported by Jane Doe and Bob Roe"])
def test_every_byline_lead_is_recognised(byline: str) -> None:
    text = f" date 2021-07-28 The article sentence stays in place.\n\n{byline}\n\nAnother sentence stays too."
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == ["The article sentence stays in place.", "Another sentence stays too."]


def test_modifier_apostrophe_is_an_apostrophe_in_chrome_rules() -> None:
    first = "The first sentence of the article stays in its place."
    text = f" date 2021-07-28 {first}\nDon\u02bct Miss\nTeaser headline here\n"
    r = parse_document(text)
    assert isinstance(r, Parsed)
    assert paragraphs(r) == [first]  # "Don't Miss" is a footer marker: the rest is cut
