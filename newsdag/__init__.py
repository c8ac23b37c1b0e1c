"""newsdag: raw news text to per-day counts of who is in the news."""

__version__ = "0.1.0"
