"""Mentions renumbered with their references (app/catalog/mentions.py), without Qt: swaps and
cycles in one simultaneous pass, removals left dangling (never moved onto another reference),
and text that merely looks like a mention left alone by `mentions`' own rules."""

from __future__ import annotations

import time

import pytest

from app.catalog.mentions import (
    DANGLING,
    dangling_mentions,
    mention_edits,
    order_mapping,
    removed_numbers,
    renumber_mentions,
    utf16_offsets,
)
from app.catalog.validate import mentions

SWAP = {1: 2, 2: 1}


def test_a_swap_is_one_simultaneous_pass():
    text = "@Image1 walks toward @Image2"
    assert renumber_mentions(text, "Image", SWAP) == "@Image2 walks toward @Image1"
    assert renumber_mentions(renumber_mentions(text, "Image", SWAP), "Image", SWAP) == text
    # a chain applied one number at a time would collapse both into @Image1 or @Image2
    assert renumber_mentions("@Image1 @Image2 @Image1", "Image", SWAP) == \
        "@Image2 @Image1 @Image2"


def test_a_three_cycle_and_a_move_to_the_front():
    cycle = {1: 2, 2: 3, 3: 1}
    assert renumber_mentions("@Image1, @Image2, @Image3", "Image", cycle) == \
        "@Image2, @Image3, @Image1"
    # [a, b, c] → [c, a, b]: the mapping from the orders
    mapping = order_mapping(["a", "b", "c"], ["c", "a", "b"])
    assert mapping == {1: 2, 2: 3, 3: 1}
    assert renumber_mentions("a=@Image1 b=@Image2 c=@Image3", "Image", mapping) == \
        "a=@Image2 b=@Image3 c=@Image1"


def test_only_that_prefix_and_only_numbers_the_mapping_names():
    text = "@Image1 @Video1 @Element2 @Image2 @Image10 @Image3"
    got = renumber_mentions(text, "Image", SWAP)
    assert got == "@Image2 @Video1 @Element2 @Image1 @Image10 @Image3"
    assert renumber_mentions("@Element1 then @Element2", "Element", SWAP) == \
        "@Element2 then @Element1"


def test_adjacent_punctuation_and_mentions_back_to_back():
    assert renumber_mentions("@Image1@Image2", "Image", SWAP) == "@Image2@Image1"
    assert renumber_mentions("(@Image1), @Image2. '@Image1'!", "Image", SWAP) == \
        "(@Image2), @Image1. '@Image2'!"
    assert renumber_mentions("@Image1\n@Image2\t@Image1", "Image", SWAP) == \
        "@Image2\n@Image1\t@Image2"


def test_what_mentions_does_not_read_as_a_mention_is_left_alone():
    # lower case, a word character after the number, no number: not mentions for validation
    # either, so not renumbered
    for text in ("@image1 @IMAGE2", "@Image1x @Image2_b", "@Image @Images", "Image1 Image2"):
        assert mentions(text) == [] or all(p != "Image" for p, *_ in mentions(text))
        assert renumber_mentions(text, "Image", SWAP) == text
    # an address that contains one is a mention by mentions' rules (validation flags it the
    # same way), so it follows too: one rule for both
    assert [m[:2] for m in mentions("a@Image1.com")] == [("Image", 1)]
    assert renumber_mentions("a@Image1.com", "Image", SWAP) == "a@Image2.com"


def test_leading_zeros_and_other_digits_are_read_as_mentions_reads_them():
    assert [m[1] for m in mentions("@Image01")] == [1]
    assert renumber_mentions("@Image01 and @Image2", "Image", SWAP) == "@Image2 and @Image1"
    # an untouched number keeps its spelling
    assert renumber_mentions("@Image01", "Image", {1: 1, 2: 3}) == "@Image01"


def test_a_removed_reference_is_never_moved_onto_another():
    # [a, b, c] → [a, c]: c's mentions follow it to 2; b's do not become c's
    mapping = order_mapping(["a", "b", "c"], ["a", "c"])
    assert mapping == {1: 1, 2: None, 3: 2}
    assert removed_numbers(mapping) == [2]
    text = "@Image1 meets @Image2 near @Image3"
    assert renumber_mentions(text, "Image", mapping) == \
        f"@Image1 meets @Image{DANGLING} near @Image2"
    assert dangling_mentions(text, "Image", mapping) == ["@Image2"]
    # the last one removed: its number points at nothing now, and it keeps it
    last = order_mapping(["a", "b"], ["a"])
    assert renumber_mentions("@Image1 with @Image2", "Image", last) == "@Image1 with @Image2"
    assert dangling_mentions("@Image1 with @Image2 @Image2", "Image", last) == ["@Image2"]
    # the first of two: the second moves to 1, the removed one's mentions dangle at 0
    first = order_mapping(["a", "b"], ["b"])
    got = renumber_mentions("@Image1 with @Image2", "Image", first)
    assert got == "@Image0 with @Image1"
    assert [n for _, n, *_ in mentions(got)] == [0, 1]


def test_an_added_reference_and_a_restored_one():
    assert order_mapping(["a", "b"], ["a", "b", "c"]) == {1: 1, 2: 2}
    # undo of a removal: b comes back between a and c, c moves back to 3
    mapping = order_mapping(["a", "c"], ["a", "b", "c"])
    assert renumber_mentions("@Image1 and @Image2", "Image", mapping) == "@Image1 and @Image3"


def test_an_offset_numbers_after_the_fields_before():
    assert order_mapping(["x", "y"], ["y", "x"], offset=3) == {4: 5, 5: 4}


def test_nul_and_other_control_characters_pass_through():
    text = "\x00@Image1\x00@Image2\x00\u202e@Image1"
    assert renumber_mentions(text, "Image", SWAP) == "\x00@Image2\x00@Image1\x00\u202e@Image2"


def test_a_long_prompt_is_renumbered_quickly_and_exactly():
    unit = "@Image1 sees @Image2 near @Image3; "
    text = (unit * (100_000 // len(unit) + 1))[:100_000]
    t0 = time.perf_counter()
    got = renumber_mentions(text, "Image", {1: 3, 2: 1, 3: 2})
    took = time.perf_counter() - t0
    assert took < 1.0, took
    assert got.count("@Image3 sees @Image1 near @Image2") == text.count(unit.strip("; "))
    assert len(got) == len(text)
    assert renumber_mentions(got, "Image", {3: 1, 1: 2, 2: 3}) == text


def test_mappings_that_would_merge_references_are_refused():
    with pytest.raises(ValueError, match="same number"):
        renumber_mentions("@Image1 @Image2", "Image", {1: 2, 2: 2})
    with pytest.raises(ValueError, match="whole numbers"):
        renumber_mentions("@Image1", "Image", {1: -1})
    with pytest.raises(ValueError, match="twice"):
        order_mapping(["a", "b"], ["a", "a"])


def test_edits_and_utf16_offsets_for_an_editor():
    text = "🎬 @Image1 and @Image2"
    edits = mention_edits(text, "Image", SWAP)
    assert [(text[s:e], r) for s, e, r in edits] == [("@Image1", "@Image2"),
                                                    ("@Image2", "@Image1")]
    flat = [i for s, e, _ in edits for i in (s, e)]
    # the clapper board is two UTF-16 units: a QTextDocument counts one more
    assert utf16_offsets(text, flat) == [i + 1 for i in flat]
    assert mention_edits("@Image1 @Image2", "Image", {1: 1, 2: 2}) == []
