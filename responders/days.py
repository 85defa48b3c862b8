"""The calendar days a person may ask about: one range for every date filter, the digest's and the inbox's.

Mentions exist from the 2000s on; a date far outside that is a typing mistake, and near
year 1 or 9999 the date arithmetic itself overflows (the day after 9999-12-31 is an
error, not a day), which used to answer 500 instead of saying what was wrong.
"""

from __future__ import annotations

from datetime import date

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def out_of_range(day: date) -> str | None:
    """Why ``day`` cannot be used (to put in an error message), or None when it can."""
    if EARLIEST_DAY <= day <= LATEST_DAY:
        return None
    return (f"{day.isoformat()} is out of range: dates lie between {EARLIEST_DAY.isoformat()} "
            f"and {LATEST_DAY.isoformat()}")
