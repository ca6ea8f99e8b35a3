"""The log file (app.client.logs): where it is, what reaches it and the terminal, rotation,
and secrets blanked everywhere (message, arguments, tracebacks, headers, URLs)."""

from __future__ import annotations

import io
import logging
import sys
import threading
import warnings
from pathlib import Path

import httpx
import pytest

from app.client import logs

KEY = "tk_live_9f8e7d6c5b4a39281706"


@pytest.fixture
def logged(tmp_path, monkeypatch):
    """setup() into a temporary folder; the terminal is a StringIO; closed afterwards."""
    monkeypatch.setenv(logs.ENV_DIR, str(tmp_path / "logs"))
    monkeypatch.delenv(logs.ENV_LEVEL, raising=False)
    term = io.StringIO()
    done = logs.setup(stderr=term)
    done.term = term  # type: ignore[attr-defined]
    try:
        yield done
    finally:
        done.close()
        logs.forget_secret(KEY)


def text_of(done: logs.LogSetup) -> str:
    done.flush()
    return done.path.read_text(encoding="utf-8")


def test_where_the_log_file_is(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_LOG_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "d"))
    assert logs.log_dir() == tmp_path / "a"
    monkeypatch.delenv("TAKES_LOG_DIR")
    assert logs.log_dir() == tmp_path / "d" / "logs"  # a forced data folder keeps its logs
    monkeypatch.delenv("TAKES_DATA_DIR")
    import platformdirs

    assert logs.log_dir() == Path(platformdirs.user_log_dir("Takes", appauthor=False))
    assert logs.log_path().name == "takes.log"


def test_info_goes_to_the_file_errors_also_to_the_terminal(logged):
    logging.getLogger("app.test").debug("a debug line")
    logging.getLogger("app.test").info("rendered %s in %d s", "take-1", 12)
    logging.getLogger("qt.multimedia.ffmpeg").warning("a Qt warning")
    logging.getLogger("app.test").error("the sandbox stopped")
    logging.getLogger("httpx").info("HTTP Request: GET /v1/jobs/1 (a line per poll)")
    text = text_of(logged)
    assert "INFO app.test [MainThread]: rendered take-1 in 12 s" in text
    assert "WARNING qt.multimedia.ffmpeg" in text
    assert "ERROR app.test" in text and "the sandbox stopped" in text
    assert "a debug line" not in text
    assert "a line per poll" not in text  # per-request chatter stays out unless debugging
    term = logged.term.getvalue()
    assert term == "Takes: ERROR app.test: the sandbox stopped\n"


def test_debug_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv(logs.ENV_LEVEL, "debug")
    done = logs.setup(directory=tmp_path, stderr=io.StringIO(), hooks=False)
    try:
        logging.getLogger("app.test").debug("now it counts")
        logging.getLogger("httpx").info("HTTP Request: GET /v1/jobs/1")
        text = text_of(done)
        assert "DEBUG app.test" in text and "INFO httpx" in text
    finally:
        done.close()


def test_records_from_other_threads_land_too(logged):
    def work() -> None:
        logging.getLogger("app.worker").info("from a worker")
    t = threading.Thread(target=work, name="worker-1")
    t.start()
    t.join()
    assert "INFO app.worker [worker-1]: from a worker" in text_of(logged)


def test_secrets_never_reach_the_file_or_the_terminal(logged):
    logs.add_secret(KEY)
    log = logging.getLogger("app.client.api")
    log.error("request failed with key %s", KEY)
    log.info("headers %s", {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "ik-123"})
    log.info("sent %r", httpx.Headers({"authorization": "Bearer other-token-abc",
                                       "x-api-key": "xk-unregistered-1"}))
    log.info("profile {'name': 'work', 'key': 'unregistered-key-55'} api_key=zz-top-99")
    log.info("url https://user:p4ssw0rd@api.example.test/v1 ok")
    try:
        raise RuntimeError(f"server said no to {KEY}")
    except RuntimeError:
        log.exception("boom")
    text = text_of(logged)
    for secret in (KEY, "other-token-abc", "xk-unregistered-1", "unregistered-key-55",
                   "zz-top-99", "p4ssw0rd"):
        assert secret not in text
        assert secret not in logged.term.getvalue()
    assert "Bearer ***" in text
    assert "ik-123" in text  # an idempotency key is not a secret: it stays for debugging
    assert "RuntimeError: server said no to ***" in text  # the traceback itself is redacted
    assert "'key': '***'" in text and "api_key=***" in text
    assert "https://user:***@api.example.test/v1" in text
    assert "request failed with key ***" in logged.term.getvalue()


def test_redact_leaves_ordinary_text_alone():
    text = "tokens such as {task} and {date}; key frames 3; Idempotency-Key: abc-1"
    assert logs.redact(text) == text
    logs.add_secret("ab")  # too short to be a key: would blank ordinary words
    assert logs.redact("about a tab") == "about a tab"


def test_the_file_rotates(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 4000)
    done = logs.setup(directory=tmp_path, stderr=io.StringIO(), hooks=False)
    try:
        for i in range(400):
            logging.getLogger("app.test").info("line %04d %s", i, "x" * 40)
        done.flush()
    finally:
        done.close()
    files = list(logs.existing_files(tmp_path))
    assert [p.name for p in files] == ["takes.log", "takes.log.1", "takes.log.2", "takes.log.3"]
    assert all(p.stat().st_size <= 4000 + 200 for p in files)
    assert "line 0399" in files[0].read_text()
    assert logs.tail(files[0], 1)[0].endswith("x" * 40)


def test_a_folder_that_cannot_be_written_is_said_once_and_nothing_fails(tmp_path):
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    term = io.StringIO()
    done = logs.setup(directory=blocker / "deeper", stderr=term, hooks=False)
    try:
        assert done.path is None and "cannot write the log file" in done.problem
        logging.getLogger("app.test").info("nowhere to go, no error")
        assert term.getvalue().count("\n") == 1
        assert "cannot write the log file in" in term.getvalue()
    finally:
        done.close()


def test_uncaught_exceptions_are_one_line_on_the_terminal(logged):
    logs.add_secret(KEY)
    try:
        raise ValueError(f"bad answer for {KEY}")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    term = logged.term.getvalue()
    assert term == f"Takes: unexpected error (ValueError); details in {logged.path}\n"
    text = text_of(logged)
    assert "CRITICAL app.uncaught" in text and "ValueError: bad answer for ***" in text
    assert "Traceback (most recent call last)" in text and KEY not in text


def test_uncaught_exception_in_a_thread(logged):
    def work() -> None:
        raise KeyError("lost")
    t = threading.Thread(target=work, name="doomed")
    t.start()
    t.join()
    assert "unexpected error (KeyError)" in logged.term.getvalue()
    assert "uncaught exception in thread doomed" in text_of(logged)


def test_python_warnings_go_to_the_file(logged):
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings saved showwarning before: set again
        warnings.warn("an old call", DeprecationWarning, stacklevel=1)
    assert "DeprecationWarning: an old call" in text_of(logged)
    assert logged.term.getvalue() == ""


def test_close_takes_everything_away(tmp_path):
    root = logging.getLogger()
    level, handlers, hook = root.level, list(root.handlers), sys.excepthook
    httpx_level = logging.getLogger("httpx").level
    done = logs.setup(directory=tmp_path, stderr=io.StringIO())
    assert any(t.name == "takes-log" for t in threading.enumerate())
    done.close()
    assert root.level == level and root.handlers == handlers and sys.excepthook is hook
    assert logging.getLogger("httpx").level == httpx_level
    assert not any(t.name == "takes-log" for t in threading.enumerate())
