"""Synthetic date normalisation: many written forms → ISO "YYYY-MM-DD" (a character-level task).

Numeric forms are always day/month/year (or year/month/day when the year leads), never
month/day, so every source has exactly one reading and the task is learnable.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from datetime import date

from models.data.tsv_io import write_tsv_atomic

EXAMPLE = ("23rd of november 2026", "2026-11-23")
FIRST_DAY = date(1950, 1, 1)
LAST_DAY = date(2050, 12, 31)

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def ordinal(day: int) -> str:
    """1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd 23rd ... 31st."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d: date) -> str:
    return MONTHS[d.month - 1]


def _mon(d: date) -> str:
    return _month(d)[:3]


def _weekday(d: date) -> str:
    return WEEKDAYS[d.weekday()]  # computed from the date, so it is always right


# Every surface form the generator writes, by name; all lowercase.
FORMATS: dict[str, Callable[[date], str]] = {
    "ordinal_of": lambda d: f"{ordinal(d.day)} of {_month(d)} {d.year}",
    "the_ordinal_of": lambda d: f"the {ordinal(d.day)} of {_month(d)} {d.year}",
    "the_ordinal_of_abbr_comma": lambda d: f"the {ordinal(d.day)} of {_mon(d)}, {d.year}",
    "ordinal_month": lambda d: f"{ordinal(d.day)} {_month(d)} {d.year}",
    "month_day_comma": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "month_ordinal_comma": lambda d: f"{_month(d)} {ordinal(d.day)}, {d.year}",
    "day_month": lambda d: f"{d.day} {_month(d)} {d.year}",
    "day_abbr": lambda d: f"{d.day} {_mon(d)} {d.year}",
    "abbr_day": lambda d: f"{_mon(d)} {d.day} {d.year}",
    "abbr_ordinal": lambda d: f"{_mon(d)} {ordinal(d.day)} {d.year}",
    "slash": lambda d: f"{d.day}/{d.month}/{d.year}",
    "slash_padded": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "dot_padded": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "dash_padded": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "year_slash": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "year_month_day": lambda d: f"{d.year} {_month(d)} {d.day}",
    "weekday_day_month": lambda d: f"{_weekday(d)} {d.day} {_month(d)} {d.year}",
    "weekday_month_day": lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    "weekday_the_ordinal_of": lambda d: f"{_weekday(d)} the {ordinal(d.day)} of {_month(d)} {d.year}",
}
_STYLES = tuple(FORMATS)


def format_date(d: date, style: str) -> str:
    return FORMATS[style](d)


def random_date(rng: random.Random) -> date:
    return date.fromordinal(rng.randint(FIRST_DAY.toordinal(), LAST_DAY.toordinal()))


def generate(n: int, seed: int) -> list[tuple[str, str]]:
    """`n` (written date, ISO date) pairs, deterministic for a seed; styles drawn uniformly."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        d = random_date(rng)
        pairs.append((format_date(d, rng.choice(_STYLES)), d.isoformat()))
    return pairs


def write_tsv(pairs: Iterable[tuple[str, str]], path: str | os.PathLike[str]) -> int:
    """`source<TAB>iso` lines, written atomically; returns the line count."""
    return write_tsv_atomic(pairs, path)
