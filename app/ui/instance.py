"""One window per data folder: a second start brings the first window to the front and exits.

The first instance holds a QLockFile in the data folder (Qt takes over the lock of a process
that is gone, so a killed instance never blocks the next start) and listens on a local socket
named after the folder; a second instance finds the lock taken, asks the first over that
socket to show itself, and quits.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

LOCK_NAME = "window.lock"
SHOW = b"show\n"
TIMEOUT_MS = 2000
UNREADABLE_GRACE_MS = 200  # the moment between a lock file's creation and its content


def server_name(data_dir: Path) -> str:
    """The local socket of the window on `data_dir` (one per folder, whatever path spells it)."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:20]
    return f"takes-{digest}"


class SingleInstance(QObject):
    """`acquire()` once at start: True for the first instance (then `show_requested` fires
    whenever a later start asks for the window), False when another one holds the folder."""

    show_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.name = server_name(data_dir)
        self._lock = QLockFile(str(Path(data_dir) / LOCK_NAME))
        self._lock.setStaleLockTime(0)  # held for the app's lifetime; stale only once dead
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Raises OSError, saying which folder, when the data folder cannot be used at all."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OSError(f"the data folder {self.data_dir} cannot be created: "
                          f"{e.strerror or e}") from None
        if not self._lock.tryLock(0) and not self._take_over_unreadable():
            if self._lock.error() != QLockFile.LockError.LockFailedError:
                raise OSError(f"the data folder {self.data_dir} cannot be locked "
                              f"({self._lock.error().name}): check its permissions")
            return False
        QLocalServer.removeServer(self.name)  # a killed holder's socket file; the lock is ours
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._on_connection)
        if not server.listen(self.name):
            raise OSError(f"cannot listen for a second start on {self.name}: "
                          f"{server.errorString()}")
        self._server = server
        return True

    def _take_over_unreadable(self) -> bool:
        """An empty or garbled lock file (no live instance wrote it: a full disk, a crash as
        it was written) would block every start; one still unreadable after a moment goes."""
        if not self._lock.tryLock(UNREADABLE_GRACE_MS) and self._lock.getLockInfo()[0] == 0:
            self._lock.removeStaleLockFile()
            return self._lock.tryLock(0)
        return self._lock.isLocked()

    def ask_first_to_show(self) -> bool:
        """From a second instance: ask the first to show its window. True if it was asked."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(TIMEOUT_MS):
            return False
        sock.write(SHOW)
        sent = sock.waitForBytesWritten(TIMEOUT_MS)
        sock.disconnectFromServer()
        return sent

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()

    def _on_connection(self) -> None:
        server = self._server
        while server is not None and (sock := server.nextPendingConnection()) is not None:
            sock.setParent(self)
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        if SHOW.strip() in bytes(sock.readAll().data()):
            self.show_requested.emit()



def hand_over(instance: SingleInstance) -> int:
    """A second start: ask the first to show its window, say so on stderr; the exit code."""
    if instance.ask_first_to_show():
        print("Takes is already open on this data folder: its window was brought to the front.",
              file=sys.stderr)
        return 0
    print("Takes is already open on this data folder but did not answer: close it and start "
          "again.", file=sys.stderr)
    return 1
