"""The ledger window on a real window and a real sandbox on loopback: after paid, mock,
failed and canceled takes its totals equal the sandbox's own charges and refunds (and the
balance it reports); a charge outside its estimate is highlighted with a tooltip; the profile
filter; CSV export through the file dialog, and a FIFO, a folder, a device, a missing folder
and a full disk each refused with a clear message, quickly, nothing half-written."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from app.client.settings import UiSettings
from app.client.store import JobRecord
from app.ui import palette
from app.ui.ledger_view import COLUMNS, LedgerView, TakeRole, open_ledger, write_csv_file
from app.ui.window import MainWindow

from .helpers import open_studio, until
from .test_profile_editor import dark_theme, shot  # noqa: F401 (dark_theme: a fixture)

COST = 108  # seedance, 4 s at 480p, no audio
PAYLOAD = {"prompt": "a lighthouse at dusk", "duration": 4, "resolution": "480p",
           "aspect_ratio": "16:9", "generate_audio": False}


def cells(view: LedgerView, row: int) -> list[str]:
    return [view.table.item(row, c).text() for c in range(len(COLUMNS))]


def row_of(view: LedgerView, take_id: str) -> int:
    return next(r for r in range(view.table.rowCount())
                if view.table.item(r, 0).data(TakeRole) == take_id)


async def render_some(studio) -> dict[str, JobRecord]:
    m, sb = studio.manager, studio.server

    async def take(name: str, **kw) -> JobRecord:
        words = {"failed": "a heron lands on a post", "mock": "rain on a tin roof"}
        job = await m.submit("seedance_r2v", {**PAYLOAD, "out": f"{name}.mp4",
                                              "prompt": words.get(name, PAYLOAD["prompt"]),
                                              **kw})
        return await m.wait(job.id)

    async def canceled() -> JobRecord:
        sb.set_faults(stuck_jobs=1)
        job = await m.submit("seedance_r2v", {**PAYLOAD, "out": "stuck.mp4",
                                              "prompt": "a paper boat in the gutter"})
        await m.cancel(job.id)
        return await m.wait(job.id)

    out = {"ok": await studio.run(take("ok"))}
    sb.set_faults(fail_jobs=1)
    out["failed"] = await studio.run(take("failed"))
    out["canceled"] = await studio.run(canceled())
    out["mock"] = await studio.run(take("mock", mock=True))
    return out


@pytest.mark.usefixtures("dark_theme")
def test_ledger_totals_equal_the_sandboxs_charges_and_refunds(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        before = await studio.balance()
        takes = await render_some(studio)
        assert (takes["ok"].status, takes["failed"].status, takes["canceled"].status,
                takes["mock"].status) == ("succeeded", "failed", "canceled", "succeeded")
        after = await studio.balance()
        own = studio.server.store.ledger()  # the sandbox's own account of each credit
        charges = -sum(e["delta"] for e in own if e["delta"] < 0)
        refunds = sum(e["delta"] for e in own if e["delta"] > 0)
        assert (charges, refunds) == (3 * COST, 2 * COST)

        view = open_ledger(w)
        assert open_ledger(w) is view  # one per window
        await until(lambda: view.table.rowCount() == 4, what="the ledger's rows")
        await until(lambda: view.loading is None or view.loading.done(), what="refreshes")
        o = view.totals["overall"]
        assert (o["charged"], o["refunded"], o["net"]) == (charges, refunds, before - after)
        assert (o["takes"], o["paid"], o["mock"], o["mismatches"]) == (4, 3, 1, 0)
        assert view.overall.text().startswith(
            f"4 takes (3 paid, 1 mock): charged {charges:,}, refunded {refunds:,}, "
            f"net {before - after:,} credits")
        day = view.lines[0].day
        by_day = [view.day_table.item(0, c).text() for c in range(8)]
        assert by_day == [day, "4", "3", "1", f"{3 * COST}", f"{charges:,}", f"{refunds:,}",
                          f"{charges - refunds:,}"]
        assert view.profile_table.item(0, 0).text() == "Built-in sandbox"

        r = cells(view, row_of(view, takes["failed"].id))
        assert r[2:] == ["Built-in sandbox", f"{COST}", f"{COST}", f"{COST}", "Paid",
                         f"{COST} refunded (failed)"]
        assert r[1] == "a heron lands on a post"  # the take in its own words
        assert cells(view, row_of(view, takes["mock"].id))[3:7] == ["free", "0", "", "Mock"]
        assert cells(view, row_of(view, takes["ok"].id))[4:6] == [f"{COST}", ""]
        assert cells(view, row_of(view, takes["canceled"].id))[5] == f"{COST}"

        # a take on another profile charged outside its estimate: highlighted, said
        odd = JobRecord.new("seedance_r2v", {**PAYLOAD, "out": "odd.mp4"},
                            credits_estimated=COST, profile="Work")
        odd.status, odd.credits_charged, odd.remote_id = "succeeded", 500, "job_odd"
        await studio.read(studio.store.add, odd)
        await view.refresh()
        assert view.table.rowCount() == 5
        assert [view.profile_combo.itemText(i) for i in range(view.profile_combo.count())] \
            == ["All profiles", "Built-in sandbox", "Work"]
        row = row_of(view, odd.id)
        charged = view.table.item(row, 4)
        assert charged.text() == "500"
        assert charged.background().color() == palette.qcolor("error_soft")
        assert charged.foreground().color() == palette.qcolor("error")
        assert "differs from the estimate: charged 500, estimated 108" in charged.toolTip()
        ok_item = view.table.item(row_of(view, takes["ok"].id), 4)
        assert ok_item.background().color() != palette.qcolor("error_soft")
        assert "1 charged differently from the estimate" in view.overall.text()
        view.resize(1100, 620)
        shot(view, "ledger.png", tmp_path)
        dark_highlight = palette.qcolor("error_soft")
        from PySide6.QtWidgets import QApplication

        from app.ui import theme

        theme.apply_theme(QApplication.instance(), "light")  # as Preferences → Light does
        light = view.table.item(row_of(view, odd.id), 4)
        assert light.background().color() == palette.qcolor("error_soft") != dark_highlight
        theme.apply_theme(QApplication.instance(), "dark")

        view.profile_combo.setCurrentIndex(2)  # Work only
        await until(lambda: view.table.rowCount() == 1, what="the filter")
        assert view.totals["overall"]["charged"] == 500
        view.profile_combo.setCurrentIndex(1)  # the sandbox only: the sandbox's numbers
        await until(lambda: view.table.rowCount() == 4, what="the filter")
        o = view.totals["overall"]
        assert (o["charged"], o["refunded"]) == (charges, refunds)

        # Export CSV… through the file dialog
        target = tmp_path / "exports" / "ledger.csv"
        target.parent.mkdir()
        dlg = view.choose_export()
        assert dlg.isVisible()
        dlg.setDirectory(str(target.parent))
        dlg.selectFile(str(target))
        dlg.accept()
        await until(lambda: "rows written" in view.message.text(), what="the export")
        assert view.message.text() == f"4 rows written to {target}"
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
        assert len(rows) == 4 and {r["profile"] for r in rows} == {"Sandbox"}
        assert sum(int(r["charged"]) for r in rows) == charges
        assert [p.name for p in target.parent.iterdir()] == ["ledger.csv"]  # no temp left

        view.shutdown()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_export_refuses_what_is_not_a_file_quickly(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    old = tmp_path / "old.csv"
    old.write_text("kept\n")

    async def scenario() -> None:
        view = LedgerView(studio)
        qtbot.addWidget(view)
        view.show()
        await view.refresh()
        cases = [(fifo, f"{fifo} is a pipe (FIFO): choose a file name"),
                 (tmp_path, f"{tmp_path} is a folder"),
                 (Path("/dev/full"), "/dev/full is not a regular file"),
                 (tmp_path / "nowhere" / "x.csv", "does not exist: choose another"),
                 (old / "x.csv", "Cannot write")]
        for path, words in cases:
            start = time.monotonic()
            await view.export_to(str(path))
            assert words in view.message.text(), (path, view.message.text())
            assert time.monotonic() - start < 5  # nothing hangs on a pipe nobody reads
        assert old.read_text() == "kept\n"
        view.shutdown()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


@contextlib.contextmanager
def small_disk(where: Path):
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk needs a small tmpfs mount (root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_a_full_disk_is_said_and_the_old_file_kept(tmp_path):
    from app.client.ledger import LedgerRow

    row = LedgerRow("2026-12-03", "2026-12-03T10:00:00", "Sandbox", "t" * 200, "m", False,
                    "succeeded", 1, 1, 1, 0, 1, False, "x" * 500)
    with small_disk(tmp_path / "disk") as disk:
        target = disk / "ledger.csv"
        target.write_text("old\n")
        with contextlib.suppress(OSError), (disk / "filler").open("wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        from app.ui.ledger_view import ExportError

        with pytest.raises(ExportError, match="is full: the CSV was not written"):
            write_csv_file(str(target), [row] * 200)
        assert target.read_text() == "old\n"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "ledger.csv"]


def test_a_closed_window_with_its_ledger_and_preferences_leaves_no_qt_garbage(
        aloop, qtbot, tmp_path):
    """The ledger and the preferences used, then the window closed: what only the cycle
    collector would free holds no live Qt object (it would be freed on whichever thread
    collects)."""
    import gc
    import weakref

    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from app.ui.preferences import open_preferences

    from .test_soak import live_qt_objects_in_garbage

    studio = open_studio(tmp_path / "data", render_seconds=0.05)
    found: dict[str, object] = {}

    async def use(w: MainWindow) -> list[weakref.ref]:
        job = await studio.run(studio.manager.submit(
            "seedance_r2v", {**PAYLOAD, "out": "a.mp4", "mock": True}))
        await studio.run(studio.manager.wait(job.id))
        view = open_ledger(w)
        await until(lambda: view.table.rowCount() == 1, what="the ledger")
        await view.export_to(str(tmp_path / "x.csv"))
        view.profile_combo.setCurrentIndex(1)
        await until(lambda: view.loading.done(), what="the filter")
        prefs = open_preferences(w)
        await until(lambda: prefs.loaded.done() and prefs.folder_edit.text(),
                    what="the preferences")
        ed = prefs.add_profile()
        await until(lambda: ed.keyring_ok is not None, what="the editor")
        ed.reject()
        prefs.choose_theme("dark")
        prefs.close()
        view.close()
        prefs.shutdown()
        view.shutdown()
        return [weakref.ref(view), weakref.ref(prefs), weakref.ref(ed)]

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        found["dialogs"] = await use(w)
        w.close()
        w.deleteLater()
        del w
        found["in garbage at close"] = live_qt_objects_in_garbage()
        await studio.close()

    gc.collect()
    earlier = gc.get_objects()
    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert found["in garbage at close"] == []
    # After Qt deleted the window: no QObject (widget, timer, worker) nor a pixmap or icon.
    # (A plain window closed this way, without these dialogs, leaves value types, QImage,
    # QSize, QTextCharFormat, in garbage in today's tree: test_gc's closed-window test finds
    # them too. They are the window's, not these dialogs'; every other Qt type still fails.)
    assert [n for n in live_qt_objects_in_garbage()
            if n not in ("QImage", "QSize", "QTextCharFormat")] == []
    for ref in found["dialogs"]:
        d = ref()
        assert d is None or not shiboken6.isValid(d)  # deleted with the window, by Qt
        del d
    del earlier
