"""Small facts about written text that several rules share (cleaning, dedup, actors): one definition each."""

from __future__ import annotations

# Characters written for the apostrophe ' (curly quotes, modifier letter, grave and acute accents).
APOSTROPHE_CHARS = "\u2019\u2018\u02bc`\u00b4"
APOSTROPHES = str.maketrans({c: "'" for c in APOSTROPHE_CHARS})

# Month names and abbreviations, English and German (lower case) -> month number.
MONTHS: dict[str, int] = {
    # English
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
    # German (names that differ from the English ones)
    "januar": 1, "jänner": 1, "jän": 1, "februar": 2, "märz": 3, "maerz": 3, "mär": 3, "mrz": 3,
    "mai": 5, "juni": 6, "juli": 7, "okt": 10, "oktober": 10, "dez": 12, "dezember": 12,
}
