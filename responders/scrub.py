"""Customer details in reply texts: redacted before they leave the process, scrubbed from past replies.

Three uses, one set of patterns:

* :func:`redact` replaces emails, phone numbers and order numbers with ``[email]``,
  ``[phone]`` and ``[order]`` before a mention is sent to a model endpoint
  (``[drafts] redact``);
* :func:`scrub_past_reply` makes a past approved reply safe to offer to someone
  else: it is shown only with the old customer's name, handle, order numbers and
  times taken out, or not at all (issue 19 saw "Hi Harry!" offered to another
  customer, and another day's flight time repeated);
* :func:`foreign_details` lists the details in a draft that the mention did not
  contain (an order number, a time, an email), which a draft must not invent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits with the usual separators, optionally with a country code.
PHONE = re.compile(r"(?<![\w#])\+?\d[\d\s().-]{5,}\d(?!\w)")
# "#12345", "order 123456", "BA0117", "ABC-123456": a hash and digits, a long number, or letters and digits.
ORDER = re.compile(
    r"(?i)(?<!\w)(?:#\s?\d{3,}|(?:order|booking|ref|reference|case|ticket)\s*(?:no\.?|number|#)?\s*[:#]?\s*[a-z0-9-]*\d"
    r"[a-z0-9-]*|\d{5,}|[A-Z]{2,4}-?\d{3,})(?!\w)"
)
CLOCK = re.compile(r"(?i)(?<!\w)(?:\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?|\d{1,2}\s?[ap]\.?m\.?)(?!\w)")
DAY = re.compile(
    r"(?i)(?<!\w)(?:\d{1,2}(?:st|nd|rd|th)|\d{1,2}/\d{1,2}(?:/\d{2,4})?|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"today|tomorrow|tonight|yesterday|(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2})(?!\w)"
)
HANDLE = re.compile(r"(?<![\w@/])(?:@\w{1,30}|u/[\w-]{3,20})")
# A greeting that names someone: "Hi Harry!", "Hey Sam, ", "Dear Ana Silva -".
GREETING_NAME = re.compile(r"^(\s*(?i:hi|hello|hey|hiya|dear|morning|evening|thanks|thank you)),?\s+"
                           r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)(?=\s*[,!.:-]|\s*$)")


def redact(text: str) -> str:
    """``text`` with emails, phone numbers and order numbers replaced by ``[email]``, ``[phone]``, ``[order]``."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    return ORDER.sub("[order]", text)


def _placeholders_out(text: str) -> str:
    return re.sub(r"\{\w+\}", " ", text)


def scrub_past_reply(template: str, brand_handles: Iterable[str] = ()) -> str | None:
    """A past reply, already generalised (its own customer's values are ``{placeholders}``), made safe to offer.

    A greeting's name that is not a placeholder is taken out ("Hi Harry! ..." becomes
    "Hi! ..."). Anything else particular to that customer cannot be taken out without
    breaking the sentence, so the reply is not offered at all (None): another handle,
    an email, a phone or order number, a time or a date.
    """
    match = GREETING_NAME.match(template)
    if match:
        template = match.group(1) + template[match.end(2):]
    bare = _placeholders_out(template)
    own = {handle.lower().lstrip("@") for handle in brand_handles}
    handles = [h for h in HANDLE.findall(bare) if h.lower().lstrip("@").removeprefix("u/") not in own]
    if handles or any(pattern.search(bare) for pattern in (EMAIL, ORDER, CLOCK, DAY, PHONE)):
        return None
    return template


def foreign_details(text: str, source: str) -> list[str]:
    """Emails, order or phone numbers and clock times in ``text`` that ``source`` (the mention) does not contain.

    Day words ("today") are left alone here: a draft may promise a fix today; it
    may not invent a time or a number the customer never gave.
    """
    found: list[str] = []
    for pattern in (EMAIL, ORDER, PHONE, CLOCK):
        for match in pattern.finditer(text):
            value = match.group(0).strip()
            if value.lower() not in source.lower():
                found.append(value)
    return found
