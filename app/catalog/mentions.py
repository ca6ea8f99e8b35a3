"""Mentions follow their references: when a field's references are reordered or one of them is
removed, the prompts' ``@Image2``-style mentions of that field are renumbered with them.

A renumbering is one simultaneous pass over the text (a swap 1 ↔ 2 never collapses into 2, 2),
and it reads mentions exactly as `app.catalog.validate.mentions` does: the same prefixes, the
same case, the same word boundary after the number (``@Image1@Image2`` is two mentions,
``@Image1x`` and ``@image1`` are none). A number the mapping does not name (``@Image10`` with two
images) is left as it is.

A removed reference's mentions are never moved onto another reference: they keep their number
when nothing holds it any more (the last one was removed), and otherwise become
``@<Prefix>0`` (`DANGLING`), a number that can never point at anything, so validation marks
them until the creator fixes the text (or undoes the change).

Qt-free: the form's editors (app/forms/media.py, app/forms/elements.py) compute a mapping with
`order_mapping` and hand `mention_edits` to the prompt editors, which apply them as one undo
step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.catalog.validate import MENTION

#: the number a removed reference's mentions get when another reference now holds theirs
DANGLING = 0

#: old number → new number; None: that reference was removed
Renumbering = Mapping[int, int | None]


def order_mapping(before: Sequence[Any], after: Sequence[Any], offset: int = 0
                  ) -> dict[int, int | None]:
    """The renumbering that turns the references `before` into `after` (each reference once in
    each list, compared by equality): every old number, 1-based after `offset`, to its new one,
    or None for a reference no longer there. A reference only in `after` (just added) is not in
    the mapping: nothing mentioned it yet."""
    position = {value: i for i, value in enumerate(after)}
    if len(position) != len(after):
        raise ValueError("a reference appears twice in the new order")
    out: dict[int, int | None] = {}
    for i, value in enumerate(before):
        j = position.get(value)
        out[offset + i + 1] = None if j is None else offset + j + 1
    return out


def removed_numbers(mapping: Renumbering) -> list[int]:
    """The numbers whose reference was removed, in order."""
    return sorted(n for n, m in mapping.items() if m is None)


def _checked(mapping: Renumbering) -> dict[int, int]:
    """The mapping with each removal resolved (kept, or `DANGLING`); ValueError for a mapping
    that would merge two references into one number."""
    targets = [m for m in mapping.values() if m is not None]
    if len(set(targets)) != len(targets):
        raise ValueError("the renumbering maps two references to the same number")
    if any(isinstance(x, bool) or not isinstance(x, int) or x < 0
           for x in (*mapping, *targets)):
        raise ValueError("mention numbers are whole numbers from 0")
    live = set(targets)
    return {n: (m if m is not None else (DANGLING if n in live else n))
            for n, m in mapping.items()}


def mention_edits(text: str, prefix: str, mapping: Renumbering) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for each mention of `prefix` in `text` whose number changes,
    in order; indexes are Python string indexes. One simultaneous renumbering."""
    resolved = _checked(mapping)
    edits: list[tuple[int, int, str]] = []
    for m in MENTION.finditer(text):
        if m.group(1) != prefix:
            continue
        n = int(m.group(2))
        new = resolved.get(n)
        if new is None or new == n:
            continue  # not named, or not moved: written as it was
        edits.append((m.start(), m.end(), f"@{prefix}{new}"))
    return edits


def renumber_mentions(text: str, prefix: str, mapping: Renumbering) -> str:
    """`text` with the mentions of `prefix` renumbered by `mapping` in one pass: ``{1: 2, 2: 1}``
    swaps ``@Image1`` and ``@Image2``; a number mapped to None (its reference removed) keeps its
    number if no reference holds it any more, else becomes ``@Image0`` (dangling)."""
    edits = mention_edits(text, prefix, mapping)
    if not edits:
        return text
    parts: list[str] = []
    at = 0
    for start, end, replacement in edits:
        parts.append(text[at:start])
        parts.append(replacement)
        at = end
    parts.append(text[at:])
    return "".join(parts)


def dangling_mentions(text: str, prefix: str, mapping: Renumbering) -> list[str]:
    """The mentions in `text` (as written before the renumbering) of references the mapping
    removed: '@Image2', once each, in order."""
    gone = set(removed_numbers(mapping))
    seen: dict[str, None] = {}
    for m in MENTION.finditer(text):
        if m.group(1) == prefix and int(m.group(2)) in gone:
            seen[f"@{prefix}{int(m.group(2))}"] = None
    return list(seen)


def utf16_offsets(text: str, indexes: Sequence[int]) -> list[int]:
    """Python string indexes of `text` as UTF-16 offsets (how a QTextDocument counts: a
    character outside the BMP is two), for ascending `indexes`."""
    out: list[int] = []
    at = units = 0
    for i in indexes:
        chunk = text[at:i]
        units += len(chunk) + sum(1 for c in chunk if ord(c) > 0xFFFF)
        at = i
        out.append(units)
    return out


__all__ = ["DANGLING", "Renumbering", "dangling_mentions", "mention_edits", "order_mapping",
           "removed_numbers", "renumber_mentions", "utf16_offsets"]
