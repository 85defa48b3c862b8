"""A refused plain form post's page, drawn again with what was typed back in its form: also without JavaScript.

``static/errors.js`` puts the typed values back in the browser; a browser without scripts (or with them
blocked) would show the form empty again, and a long reply typed into it would be lost. So the server
writes the values into the page's HTML itself: the form that posts to the refused path (the one whose hidden
fields all sent these values, where several post to one path, as errors.js chooses), its text boxes, text areas,
selects, check boxes and radio buttons. The error message goes at the top of that form too, inside
``<noscript>``: with scripts on, errors.js places it (a second copy would repeat it).

Only our own templates' HTML is rewritten, and only the start tags and text areas of that one form; every
value is escaped again as it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

_NOT_REFILLED = frozenset({"hidden", "password", "file", "submit", "button", "reset", "image"})
"""Input types whose value is never typed back: hidden values are the page's own, passwords never return."""

_PAGE_OWN = frozenset({"csrf_token", "page_path"})
"""Hidden fields every form carries: they say nothing about which of a page's forms was sent."""


@dataclass
class _Field:
    tag: str
    attrs: list[tuple[str, str | None]]
    start: int  # offset of the start tag in the page
    end: int  # offset just past the start tag
    content_end: int | None = None  # a text area's: where its </textarea> begins


@dataclass
class _Form:
    attrs: dict[str, str | None]
    start: int
    end: int  # offset just past the start tag
    fields: list[_Field] = field(default_factory=list)
    select: str | None = None  # the name of the select being read, for its options


class _Forms(HTMLParser):
    """The POST forms of a page with the fields inside each, by their offsets in the page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._form: _Form | None = None
        self._textarea: _Field | None = None
        self._line_starts = [0, *(newline.end() for newline in re.finditer("\n", html))]
        self.feed(html)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        end = start + len(self.get_starttag_text() or "")
        if tag == "form":
            named = dict(attrs)
            self._form = _Form(named, start, end) if (named.get("method") or "").lower() == "post" else None
            return
        if self._form is None:
            return
        if tag in ("input", "textarea", "option"):
            found = _Field(tag, attrs, start, end)
            if tag == "option":
                found.attrs = [*attrs, ("data-select", self._form.select or "")]
            self._form.fields.append(found)
            if tag == "textarea":
                self._textarea = found
        elif tag == "select":
            self._form.select = dict(attrs).get("name")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self._textarea.content_end = self._offset()
            self._textarea = None
        elif tag == "select" and self._form is not None:
            self._form.select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def _start_tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    written = "".join(f" {name}" if value is None else f' {name}="{escape(value)}"' for name, value in attrs)
    return f"<{tag}{written}>"


def _without(attrs: list[tuple[str, str | None]], *names: str) -> list[tuple[str, str | None]]:
    return [(name, value) for name, value in attrs if name not in names]


def _chosen(forms: list[_Form], action: str, typed: dict[str, list[str]]) -> _Form | None:
    candidates = [form for form in forms if form.attrs.get("action") == action]

    def sent_these(form: _Form) -> bool:
        for found in form.fields:
            named = dict(found.attrs)
            name, value = named.get("name"), named.get("value") or ""
            if (found.tag == "input" and (named.get("type") or "").lower() == "hidden" and name
                    and name not in _PAGE_OWN and value not in typed.get(name, [])):
                return False
        return True

    return next((form for form in candidates if sent_these(form)), candidates[0] if candidates else None)


def refill(html: str, action: str, typed: dict[str, list[str]], message: str) -> str:
    """``html`` with the POST form to ``action`` holding ``typed`` again and ``message`` at its top (no script)."""
    form = _chosen(_Forms(html).forms, action, typed)
    if form is None:
        return html
    edits: list[tuple[int, int, str]] = [
        (form.end, form.end, f'<noscript><p class="error inline-error" role="alert">{escape(message)}</p></noscript>')]
    used: dict[str, int] = {}
    for found in form.fields:
        named = dict(found.attrs)
        if found.tag == "option":
            values = typed.get(named.get("data-select") or "")
            if values is None:
                continue
            attrs = _without(found.attrs, "data-select", "selected")
            option_value = named.get("value") or ""
            edits.append((found.start, found.end,
                          _start_tag("option", attrs + ([("selected", None)] if option_value in values else []))))
            continue
        name = named.get("name")
        kind = (named.get("type") or "text").lower()
        if not name or (found.tag == "input" and kind in _NOT_REFILLED):
            continue
        values = typed.get(name, [])
        if found.tag == "input" and kind in ("checkbox", "radio"):
            ticked = (named.get("value") or "on") in values  # an unticked box is not sent at all
            attrs = _without(found.attrs, "checked") + ([("checked", None)] if ticked else [])
            edits.append((found.start, found.end, _start_tag("input", attrs)))
            continue
        index = used.get(name, 0)
        used[name] = index + 1
        if index >= len(values):
            continue
        if found.tag == "textarea" and found.content_end is not None:
            # A text area's first line break after its start tag is not part of its value: keep one there.
            edits.append((found.end, found.content_end, "\n" + escape(values[index], quote=False)))
        elif found.tag == "input":
            edits.append((found.start, found.end, _start_tag("input", [*_without(found.attrs, "value"),
                                                                         ("value", values[index])])))
    for start, end, replacement in sorted(edits, reverse=True):
        html = html[:start] + replacement + html[end:]
    return html
