"""`takes shot`: the window offscreen against a private sandbox, saved as a PNG."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.cliargs import UsageError, file_or_new, whole

MAX_SIDE = 8192


DIALOGS = ("confirm", "preferences", "ledger", "about", "shortcuts")


def register(sub: Any) -> None:
    p = sub.add_parser("shot", help="screenshot the window (offscreen, private sandbox)")
    p.add_argument("out", help="PNG file to write")
    p.add_argument("--model", metavar="ID", help="show this model's form (default: Create)")
    p.add_argument("--history", metavar="N", type=whole(0, 100), default=0,
                   help="render N demo takes first; without --model the History page shows")
    p.add_argument("--render", action="store_true",
                   help="fill the form with a demo take and capture it mid-render")
    p.add_argument("--mock", action="store_true", help="turn the Mock toggle on")
    p.add_argument("--compare", choices=["side", "wipe"],
                   help="render a Restyle take of a demo clip and show source vs result")
    p.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT")
    p.add_argument("--dialog", choices=list(DIALOGS),
                   help="capture this dialog over the window instead of the window")
    p.add_argument("--theme", choices=["dark", "light"], default="dark",
                   help="the window's theme (default: dark, as the app starts)")
    p.set_defaults(func=_shot)


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    size = int(w), int(h)
    if not all(100 <= side <= MAX_SIDE for side in size):
        raise ValueError(text)
    return size


def _shot(args: argparse.Namespace) -> int:
    from app.catalog import MODELS

    if args.model and args.model not in MODELS:
        print(f"takes shot: unknown model {args.model!r}; known: {', '.join(MODELS)}",
              file=sys.stderr)
        return 2
    try:
        size = _size(args.size)
    except ValueError:
        raise UsageError(f"--size must look like 1440x900 (each side 100 to {MAX_SIDE:,}), "
                         f"not {args.size[:40]!r}") from None
    if Path(args.out).suffix.lower() != ".png":
        raise UsageError(f"the screenshot is a PNG: name it *.png, not {args.out[:80]!r}")
    file_or_new(Path(args.out), "the screenshot")
    from app.ui.offscreen import use_offscreen

    use_offscreen()
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    with tempfile.TemporaryDirectory(prefix="takes-shot-") as tmp:
        return _run(args, Path(tmp), size)


def _run(args: argparse.Namespace, tmp: Path, size: tuple[int, int]) -> int:
    from app.client import logs
    from app.ui import qtlog
    from app.ui.main import make_app
    from app.ui.theme import apply_theme

    done = logs.setup(directory=tmp / "logs", hooks=False)  # Qt's chatter off the terminal
    qtlog.start()
    app = make_app([sys.argv[0]])
    qtlog.start()
    apply_theme(app, args.theme)
    try:
        return _shoot(args, tmp, size, app)
    finally:
        done.close()


def _shoot(args: argparse.Namespace, tmp: Path, size: tuple[int, int], app: Any) -> int:
    from app.client.manager import PollPolicy
    from app.client.settings import UiSettings
    from app.client.studio import Studio
    from app.ui.main import run_loop
    from app.ui.window import MainWindow

    poll = PollPolicy(initial=0.1, factor=1.0, maximum=0.2, min_gap=0.01)
    studio = Studio.open_sandbox(tmp / "data", render_seconds=0.6, poll=poll)

    async def main() -> int:
        window = MainWindow(studio, UiSettings(tmp / "config"))
        window.resize(*size)
        window.show()
        try:
            await window.start()
            return await _compose(args, window, studio, tmp)
        finally:
            window.close()
            await studio.close()

    code = int(run_loop(app, main) or 0)
    if code == 0:
        print(args.out)
    return code


async def _compose(args: argparse.Namespace, window: Any, studio: Any, tmp: Path) -> int:
    from app.catalog import MODELS
    from app.ui.demo import fill_demo

    if args.mock:
        window.set_mock(True)
    if args.history:
        await fill_demo(studio, args.history, tmp / "media")
        await window.reload_views()
    if args.model:
        spec = MODELS[args.model]
        window.choose_task(spec.task, spec.tier)
    elif args.history and not args.render:
        window.choose_task("history")
        await _settle(window)
        first = window.history_model.job_at(0)
        if first is not None:
            window.history.select(first.id)
    else:
        window.choose_task("create")
    if args.render:
        await _render_one(window, studio, tmp)
    if args.compare:
        await _compare(window, studio, tmp, args.compare)
    await _settle(window)
    from app.ui.shot import save_screenshot

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if args.dialog:
        dialog = await _open_dialog(args.dialog, window, studio, tmp)
        if dialog is None or not dialog.grab().save(str(args.out), "PNG"):
            print(f"takes shot: cannot capture the {args.dialog} dialog to {args.out}",
                  file=sys.stderr)
            return 1
        dialog.close()
        return 0
    if not save_screenshot(window, str(args.out)):
        print(f"takes shot: cannot write {args.out}", file=sys.stderr)
        return 1
    return 0


async def _open_dialog(name: str, window: Any, studio: Any, tmp: Path) -> Any:
    """Open one of the window's dialogs as a user would, and wait until it is drawn."""
    dialog: Any = None
    if name == "confirm":
        from dataclasses import replace

        gate = studio.gate
        await studio.read(setattr, gate, "profile", replace(gate.profile, confirm_above=100))
        window.choose_task("create")
        form = window.form
        form.set_payload({**form.payload(), "prompt": "A kite surfer jumps a wave at sunset, "
                          "drone shot following him", "duration": 10, "resolution": "720p"})
        for _ in range(100):
            if form.is_submittable():
                break
            await asyncio.sleep(0.05)
        window.render()
        for _ in range(200):
            if window.confirm_dialog is not None:
                break
            await asyncio.sleep(0.05)
        dialog = window.confirm_dialog
    elif name == "preferences":
        dialog = window.open_preferences()
    elif name == "ledger":
        dialog = window.open_ledger()
        await dialog.refresh()
    elif name == "shortcuts":
        dialog = window.menus.show_shortcuts()
    elif name == "about":
        window.menus.show_about()
        for _ in range(200):
            if window.menus.about_box is not None:
                break
            await asyncio.sleep(0.05)
        dialog = window.menus.about_box
    await asyncio.sleep(0.6)  # its first paint, and what it reads off the GUI thread
    return dialog


async def _render_one(window: Any, studio: Any, tmp: Path) -> None:
    """Fill the current form with a demo take and stop the clock mid-render."""
    from app.ui.demo import demo_image

    form = window.form
    if form is None:
        return
    image = str(demo_image(tmp / "media" / "render-still.png", seed=1))
    fill = {"prompt": "A kite surfer jumps a wave at sunset, drone shot following him",
            "start_image_url": image, "video_url": None, "duration": 5}
    known = set(form.payload()) | set(form.spec.input_model.model_fields)
    payload = {k: v for k, v in fill.items() if k in known and v is not None}
    form.set_payload({**form.payload(), **payload})
    for _ in range(200):
        if form.is_submittable():
            break
        await asyncio.sleep(0.05)
    if studio.server is not None and studio.server.engine is not None:
        studio.server.engine.render_seconds = 20.0  # slow this one down for the picture
    task = window.render()
    if task is not None:
        await task
    for _ in range(200):
        job = window.queue_model.job_at(0)
        if job is not None and job.status == "running" and job.progress >= 0.3:
            break
        await asyncio.sleep(0.05)


async def _compare(window: Any, studio: Any, tmp: Path, mode: str) -> None:
    """A finished Restyle take, selected, compared with its source at one third in."""
    from app.ui.demo import demo_video
    from app.ui.preview import COMPARE_MODES

    source = demo_video(tmp / "media" / "source.mp4")
    job = await studio.run(studio.manager.submit("wan_27_video_edit", {
        "prompt": "Turn the evening into a watercolour painting", "video_url": str(source),
        "resolution": "720p", "out": "demo/restyle.mp4"}))
    job = await studio.run(studio.manager.wait(job.id))
    window.open_in_form(job)  # the form shows what was asked for
    await asyncio.sleep(0.2)
    window.queue.select(job.id)
    preview = window.preview
    preview.set_compare_mode(COMPARE_MODES[1] if mode == "side" else COMPARE_MODES[2])
    preview.seek(1000)
    preview.play()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if preview.compare.has_frames() and preview.player.position() > 1000:
            break
    preview.pause()


async def _settle(window: Any) -> None:
    """Let pages load, thumbnails arrive and the layout settle before the picture."""
    for _ in range(100):
        await asyncio.sleep(0.05)
        if not window.history_model.loading and not window.thumbs.busy():
            break
    await asyncio.sleep(0.3)
