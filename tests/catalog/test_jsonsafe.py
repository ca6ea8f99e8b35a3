"""Hostile JSON through the bounded loader: each case is a PayloadError saying what and where."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalog.jsonsafe import PayloadError, loads_bounded, read_bounded


def _refused(data: bytes | str, **bounds: int) -> str:
    with pytest.raises(PayloadError) as e:
        loads_bounded(data, **bounds)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_plain_payload_loads_unchanged() -> None:
    data = '{"prompt": "a cat \\ud83d\\ude00", "seed": 42, "shots": [{"d": 5.5}], "x": null}'
    assert loads_bounded(data.encode()) == {"prompt": "a cat \U0001F600", "seed": 42,
                                            "shots": [{"d": 5.5}], "x": None}


def test_deep_nesting_names_the_path() -> None:
    data = '{"shots": [' + "[" * 10_000 + "]" * 10_000 + "]}"
    assert _refused(data) == "nesting deeper than 32 levels at $.shots.0.0.0…"


def test_nesting_at_the_limit_loads() -> None:
    assert loads_bounded("[" * 32 + "]" * 32) is not None
    assert _refused("[" * 33 + "]" * 33).startswith("nesting deeper than 32 levels")


def test_brackets_inside_strings_do_not_count() -> None:
    assert loads_bounded('{"p": "' + "[{" * 1000 + '"}') == {"p": "[{" * 1000}


def test_huge_integer_says_digits_and_path() -> None:
    assert _refused('{"seed": ' + "9" * 5000 + "}") == \
        "a number with 5,000 digits (at most 100) at $.seed"
    assert "at $.a.1" in _refused('{"a": [1, -' + "1" * 200 + "]}")


def test_huge_float_and_overflow_refused() -> None:
    assert _refused('{"d": 1e999}') == "a number too large to represent at $.d"
    assert "at $.d" in _refused('{"d": 0.' + "1" * 500 + "}")


@pytest.mark.parametrize("const", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(const: str) -> None:
    message = _refused('{"duration": ' + const + "}")
    assert message == f"{const}, which is not a number JSON allows at $.duration"


def test_lone_surrogate_escape_in_value_and_key() -> None:
    assert _refused('{"prompt": "a \\ud800 b"}') == \
        "a string with an unpaired surrogate at $.prompt"
    assert "key with an unpaired surrogate" in _refused('{"\\udfff": 1}')


def test_lone_surrogate_in_python_str_refused() -> None:
    assert "unpaired surrogate at $.p" in _refused('{"p": "\ud800"}')


def test_nul_in_key_refused_in_value_kept() -> None:
    assert _refused('{"a\\u0000b": 1}') == "a key with a NUL character at $"
    assert loads_bounded('{"prompt": "a\\u0000b"}') == {"prompt": "a\x00b"}


def test_duplicate_key_refused() -> None:
    assert _refused('{"x": {"seed": 1, "seed": 2}}') == 'the key "seed" given twice at $.x'


def test_size_and_string_caps() -> None:
    assert _refused(b" " * 1_000_001) == "the payload is larger than 1,000,000 bytes"
    assert _refused('{"p": "' + "x" * 200 + '"}', max_string=100) == \
        "a string of 200 characters (at most 100) at $.p"


def test_not_utf8_and_not_json() -> None:
    assert _refused(b'{"p": "\xff"}') == "not UTF-8 text (byte 7)"
    assert _refused(b"{'p': 1}").startswith("not valid JSON: Expecting property name")
    assert _refused(b"").startswith("not valid JSON")


def test_bom_accepted() -> None:
    assert loads_bounded(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def _best_of_3(fn: object, data: str) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn(data)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def test_big_payload_is_linear_like_json_loads() -> None:
    """Measured against json.loads of the same text in the same run (machines are noisy): the
    bounded reader's checks cost a constant factor, a quadratic walk would cost thousands."""
    data = "[" + ",".join('{"k": [1, "s"]}' for _ in range(50_000)) + "]"
    assert len(loads_bounded(data)) == 50_000
    assert _best_of_3(loads_bounded, data) < 20 * _best_of_3(json.loads, data)


def _read_refused(path: str | os.PathLike[str], max_bytes: int = 1000) -> str:
    with pytest.raises(PayloadError) as e:
        read_bounded(path, max_bytes)
    return str(e.value)


def test_read_regular_file_and_cap(tmp_path) -> None:
    f = tmp_path / "p.json"
    f.write_bytes(b"x" * 1000)
    assert read_bounded(f, 1000) == b"x" * 1000
    f.write_bytes(b"x" * 1001)
    assert _read_refused(f) == "the file is larger than 1,000 bytes"


@pytest.mark.timeout(5)
def test_read_fifo_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert _read_refused(fifo) == "this is a FIFO (named pipe), not a regular file"


def test_read_device_directory_missing(tmp_path) -> None:
    assert _read_refused("/dev/zero") == "this is a device, not a regular file"
    assert _read_refused(tmp_path) == "this is a folder, not a regular file"
    assert _read_refused(tmp_path / "nope") == "cannot open the file (No such file or directory)"
    assert _read_refused("a\x00b") == "the path contains a NUL character"


def test_read_socket_refused(tmp_path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        assert _read_refused(path).startswith("cannot open the file")


def test_read_undecodable_name(tmp_path) -> None:
    name = os.fsdecode(b"\xff\xfe.json")
    (tmp_path / name).write_bytes(b"{}")
    assert read_bounded(tmp_path / name) == b"{}"


def test_read_fifo_with_a_writer_still_refused(tmp_path) -> None:
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True)
    writer.start()
    assert "FIFO" in _read_refused(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open() return
    writer.join(5)
    os.close(reader)
    assert not writer.is_alive()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_any_input_loads_or_is_a_payload_error(data: bytes | str) -> None:
    try:
        loads_bounded(data, max_depth=4, max_int_digits=5, max_string=20)
    except PayloadError as e:
        assert str(e) and "\n" not in str(e)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_what_json_dumps_writes_comes_back_or_is_refused_for_a_reason(value) -> None:
    import json

    text = json.dumps(value)
    try:
        back = loads_bounded(text)
    except PayloadError as e:
        assert any(w in str(e) for w in ("NaN", "Infinity", "surrogate", "NUL", "digits"))
    else:
        assert json.dumps(back) == text
