"""The console every ``harken`` command prints through, and why it filters what it prints.

Mentions, names and notes come from strangers. A tweet holding ``ESC [ 2 J`` or an OSC
sequence would clear the screen, retitle the window or forge a hyperlink if it reached the
terminal raw. Rich escapes its own markup in :class:`rich.text.Text` but passes control
characters through, so the console strips them from every segment of text it renders; the
escape codes Rich itself emits for colours are added later, from styles, and are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from listener.safe_text import terminal_text


class SafeConsole(Console):
    """A Rich console that never writes a control character taken from the text it prints."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            # Control segments (cursor moves) are Rich's own, made from codes, never from text.
            if segment.control or not segment.text:
                yield segment
            else:
                yield Segment(terminal_text(segment.text), segment.style, segment.control)
