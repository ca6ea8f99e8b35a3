"""The built-in sandbox in a child process: it dies with its parent (even a kill -9), one
server per data folder, the key never in argv or the environment, a non-blocking start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.client.connection import begin_sandbox, start_sandbox
from app.sandbox import folder, process
from app.sandbox.process import SandboxStartError

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

APP = textwrap.dedent("""
    import subprocess, sys, time
    from pathlib import Path
    from app.client.connection import start_sandbox

    conn = start_sandbox(Path(sys.argv[1]), render_seconds=0.2)
    extra = 0
    if sys.argv[2] == "share-pipe":  # a helper it spawned keeps the child's stdin open
        extra = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                 pass_fds=[conn.server._proc.stdin.fileno()]).pid
    print(conn.server.pid, extra, conn.base_url, conn.owns_server, flush=True)
    time.sleep(120)
""")


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody has reaped yet (it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def answers(url: str, key: str) -> int:
    return httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {key}"},
                     timeout=10).json()["credits"]


class App:
    """A separate process that opens the built-in sandbox, like the window or the CLI."""

    def __init__(self, tmp_path: Path, data: Path, mode: str = "plain",
                 env: dict[str, str] | None = None) -> None:
        script = tmp_path / "app_process.py"
        script.write_text(APP)
        self.proc = subprocess.Popen([sys.executable, str(script), str(data), mode],
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line, "the app process did not open the sandbox"
        self.child, self.extra, self.url = int(line[0]), int(line[1]), line[2]
        self.owned = line[3] == "True"

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@linux
def test_a_kill_9_of_the_app_leaves_no_orphan_and_the_next_start_takes_over(tmp_path):
    data = tmp_path / "sandbox"
    app = App(tmp_path, data)
    assert app.owned and not gone(app.child)
    assert app.child != app.proc.pid
    app.kill9()
    assert wait_gone(app.child), "the sandbox outlived the app killed with SIGKILL"
    with start_sandbox(data) as conn:  # the dead owner's lock is free: this one takes over
        assert conn.owns_server and conn.server.pid != app.child
        assert answers(conn.base_url, conn._key.reveal()) == 10_000


@linux
def test_the_pipe_watchdog_alone_stops_it(tmp_path):
    """Without PR_SET_PDEATHSIG (other systems): the end of its stdin stops the child."""
    app = App(tmp_path, tmp_path / "sandbox", env={"TAKES_SANDBOX_NO_PDEATHSIG": "1"})
    app.kill9()
    assert wait_gone(app.child)


@linux
def test_the_parent_death_signal_alone_stops_it(tmp_path):
    """A process the app spawned holds the child's stdin open: only the kernel's signal on
    the parent's death can stop the sandbox."""
    app = App(tmp_path, tmp_path / "sandbox", mode="share-pipe")
    try:
        app.kill9()
        assert not gone(app.extra)  # the pipe is still open
        assert wait_gone(app.child), "the sandbox outlived its parent (pipe held elsewhere)"
    finally:
        os.kill(app.extra, signal.SIGKILL)


@linux
def test_the_thread_that_started_it_ending_does_not_stop_it(tmp_path):
    """PR_SET_PDEATHSIG fires when the spawning *thread* ends; the child must stay."""
    pending = begin_sandbox(tmp_path / "sandbox")
    conn = pending.result(60)
    pending.join(10)
    pid = conn.server.pid
    try:
        time.sleep(0.5)  # the signal, if any, has been handled by now
        assert not gone(pid)
        assert answers(conn.base_url, conn._key.reveal()) == 10_000
    finally:
        conn.close()
    assert gone(pid)


@linux
def test_the_key_is_never_in_argv_or_the_environment(tmp_path):
    with start_sandbox(tmp_path / "sandbox") as conn:
        key = conn._key.reveal().encode()
        pid = conn.server.pid
        assert key not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert key not in Path(f"/proc/{pid}/environ").read_bytes()
        assert key not in repr(conn).encode() and key not in repr(conn.server).encode()
        for name in (folder.STATE, folder.LOCK, folder.START_LOCK):
            assert (tmp_path / "sandbox" / name).stat().st_mode & 0o777 == 0o600, name


def test_one_server_per_folder_shared_with_another_process(tmp_path):
    data = tmp_path / "sandbox"
    first = start_sandbox(data)
    try:
        same = start_sandbox(data)
        assert same.base_url == first.base_url and same.server.pid == first.server.pid
        assert first.owns_server and not same.owns_server
        other = App(tmp_path, data)  # e.g. a `takes submit` beside the window
        assert other.url == first.base_url and not other.owned
        other.kill9()
        same.close()  # leaves the server it merely joined
        assert answers(first.base_url, first._key.reveal()) == 10_000
        pid = first.server.pid
    finally:
        first.close()
    assert wait_gone(pid, 1) and folder.read_state(data) is None
    with start_sandbox(data) as again:  # the owner left: the next start serves the folder
        assert again.owns_server and again.server.pid != pid


def test_two_starts_at_once_make_one_server(tmp_path):
    data = tmp_path / "sandbox"
    a, b = begin_sandbox(data), begin_sandbox(data)
    one, two = a.result(60), b.result(60)
    a.join(10)
    b.join(10)
    try:
        assert one.base_url == two.base_url
        assert sorted([one.owns_server, two.owns_server]) == [False, True]
    finally:
        (two if two.owns_server else one).close()
        (one if two.owns_server else two).close()


def test_begin_returns_before_the_sandbox_answers(tmp_path):
    import asyncio

    started = time.monotonic()
    pending = begin_sandbox(tmp_path / "sandbox")
    returned = time.monotonic()
    assert not pending.done()  # the child is still importing the server stack

    async def wait() -> object:
        return await pending

    conn = asyncio.run(wait())
    ready = time.monotonic()
    pending.join(10)
    try:
        assert returned - started < (ready - started) / 2
        assert answers(conn.base_url, conn._key.reveal()) == 10_000
    finally:
        conn.close()


def test_close_of_a_pending_start_closes_what_it_makes(tmp_path):
    pending = begin_sandbox(tmp_path / "sandbox")
    pending.close()  # the window closed before the sandbox came up
    pending.join(60)
    conn = pending.result(0)
    assert conn.server is None  # closed by itself
    assert not folder.served(tmp_path / "sandbox")


def test_stop_then_start_keeps_the_url_and_key_and_tools_work(tmp_path):
    with start_sandbox(tmp_path / "sandbox", render_seconds=0.2, credits=500) as conn:
        sandbox = conn.server
        key = conn._key.reveal()
        assert sandbox.store.balance() == 500 and sandbox.store.ledger() == []
        assert sandbox.set_faults(latency_s=0.05) == {"latency_s": 0.05}
        with pytest.raises(ValueError, match="latency_s"):
            sandbox.set_faults(latency_s=-1)
        sandbox.engine.render_seconds = 0.1
        with pytest.raises(ValueError, match="render_seconds"):
            sandbox.set_render_seconds(10_000)
        old = sandbox.pid
        sandbox.stop()
        assert gone(old) if sys.platform.startswith("linux") else True
        with pytest.raises(httpx.ConnectError):
            answers(conn.base_url, key)
        sandbox.start()
        assert sandbox.pid != old and sandbox.url == conn.base_url
        assert answers(conn.base_url, key) == 500


def test_a_child_that_ignores_sigterm_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "STOP_TIMEOUT_S", 0.5)
    conn = start_sandbox(tmp_path / "sandbox")
    pid = conn.server.pid
    os.kill(pid, signal.SIGSTOP)  # a stopped process handles no SIGTERM
    started = time.monotonic()
    conn.close()
    assert time.monotonic() - started < 5
    assert gone(pid) if sys.platform.startswith("linux") else True
    assert not folder.served(tmp_path / "sandbox")


def test_a_start_failure_is_one_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(SandboxStartError, match=r"faults: latency_s"):
        start_sandbox(tmp_path / "sandbox", faults={"latency_s": -1})
    assert not folder.served(tmp_path / "sandbox")
    assert folder.read_state(tmp_path / "sandbox") is None
    with pytest.raises(TypeError, match="unknown sandbox option"):
        start_sandbox(tmp_path / "sandbox", colour="red")


def test_no_thread_is_left_and_the_start_thread_ends(tmp_path):
    before = set(threading.enumerate())
    pending = begin_sandbox(tmp_path / "sandbox")
    conn = pending.result(60)
    pending.join(10)
    conn.close()
    assert set(threading.enumerate()) <= before


@linux
def test_a_joiner_whose_owner_was_killed_takes_over_on_the_same_url_and_key(tmp_path):
    """A `takes submit` joined to a window's sandbox; the window is killed: `start()` again
    serves the folder where the joiner's client already points."""
    data = tmp_path / "sandbox"
    app = App(tmp_path, data)
    with start_sandbox(data) as conn:
        assert not conn.owns_server and conn.base_url == app.url
        key = conn._key.reveal()
        app.kill9()
        assert wait_gone(app.child)
        with pytest.raises(httpx.ConnectError):
            answers(conn.base_url, key)
        assert conn.server.start() == conn.base_url
        assert conn.owns_server and conn.server.pid != app.child
        assert answers(conn.base_url, key) == 10_000
        pid = conn.server.pid
    assert gone(pid)  # it owns what it took over: its close stops it


def test_a_cancelled_awaiter_leaves_the_connection_to_the_others(tmp_path):
    """A window closed while its sandbox started cancels what it awaited; the connection goes
    on being made for the studio (another window, the next await)."""
    import asyncio

    pending = begin_sandbox(tmp_path / "sandbox")

    async def wait() -> object:
        return await pending

    async def scenario() -> object:
        first = asyncio.ensure_future(wait())
        await asyncio.sleep(0.05)
        assert not pending.done()
        first.cancel()
        try:
            await first
        except asyncio.CancelledError:
            pass
        return await asyncio.wait_for(wait(), 60)

    conn = asyncio.run(scenario())
    pending.join(10)
    try:
        assert not pending.future.cancelled()
        assert answers(conn.base_url, conn._key.reveal()) == 10_000
    finally:
        conn.close()


def test_a_start_cancelled_while_it_runs_stops_its_sandbox_and_logs_nothing(tmp_path, caplog):
    """The start's future cancelled while the child starts (and `close` asked for): the
    child made afterwards is stopped, nobody logs a CancelledError."""
    import logging

    data = tmp_path / "sandbox"
    pending = begin_sandbox(data)
    with caplog.at_level(logging.DEBUG):
        time.sleep(0.05)
        assert not pending.done()
        assert pending.future.cancel()
        pending.close()
        pending.join(60)
    assert pending.future.cancelled()
    assert not [r for r in caplog.records if "Cancelled" in r.getMessage() or r.exc_info]
    deadline = time.monotonic() + 10
    while folder.read_state(data) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert folder.read_state(data) is None, "the sandbox made after the cancel still runs"


EARLY_THEN_KILLED = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from app.client.studio import EarlyConnection
    from app.sandbox import folder
    data = Path(sys.argv[1])
    stage = sys.argv[2]
    early = EarlyConnection(data)  # what run_app does first, before Qt
    if stage == "started":  # the child is up and serving: killed with it running
        pending = early._begun[2]
        pending.result(60)
    else:  # "starting": killed once the child exists, while it imports its server stack
        me, end = str(os.getpid()), time.monotonic() + 30
        def parent_of(d):
            try:
                return open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]
            except OSError:
                return None
        while time.monotonic() < end and not any(
                d.isdigit() and parent_of(d) == me for d in os.listdir("/proc")):
            time.sleep(0.005)
        assert not early._begun[2].done(), "the child answered before the kill"
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


@linux
@pytest.mark.parametrize("stage", ["starting", "started"])
def test_an_app_killed_after_its_early_connection_leaves_no_sandbox_behind(tmp_path, stage):
    """kill -9 the app right after it began its connection (before Qt, before any window),
    while the sandbox child starts or once it serves: the child goes with it and the next
    start of the same folder serves."""
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    before = _sandbox_children()
    out = subprocess.run([sys.executable, "-c", EARLY_THEN_KILLED, str(data), stage],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == -signal.SIGKILL, out.stderr[-2000:]
    assert out.stdout.strip() == "ready"
    state = folder.read_state(data / "sandbox")
    if state is not None:  # it got as far as serving: its process must be gone
        assert wait_gone(state["pid"], 10), "the sandbox outlived the killed app"
    deadline = time.monotonic() + 10  # a child still starting dies with its parent too
    while _sandbox_children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sandbox_children() - before == set()
    with start_sandbox(data / "sandbox") as conn:  # the next start serves the folder
        assert conn.owns_server
        assert answers(conn.base_url, conn._key.reveal()) == 10_000


def _sandbox_children() -> set[int]:
    """The pids of every running sandbox child process (zombies left out)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"app.sandbox.child" in cmd and not gone(int(entry.name)):
                found.add(int(entry.name))
    return found

