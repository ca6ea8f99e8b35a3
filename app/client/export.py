"""A take exported with its parameters, and parameters read back from an exported file.

`export_take(rec, dest)` writes the take's video to `dest` with its parameters embedded as
container metadata (a stream copy: no re-encode; MP4/MOV `takes` and `comment` tags, which
ffprobe and media players show), plus a JSON sidecar beside it (`<name>.takes.json`), so the
parameters survive a tool that strips tags. `read_parameters(path)` reads either back: the
video's tags or the sidecar (given directly, or found beside the video). Both are blocking
file work: call them off the GUI thread.

Hostile files get a `NoParameters` error with one sentence: a FIFO or a device is never opened
for reading, a sidecar is bounded JSON (`app.catalog.jsonsafe`), a truncated or non-video file
says so, and what is read must name a model and hold a JSON object of parameters.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from app.catalog.jsonsafe import PayloadError, file_kind, loads_bounded, read_bounded

FORMAT = "takes-take/1"
SIDECAR_SUFFIX = ".takes.json"
TAG = "takes"  # the container tag holding the JSON (MP4: with movflags=use_metadata_tags)
MAX_TAG_BYTES = 1_000_000


class ExportError(Exception):
    """The take could not be exported; the message says why (one sentence)."""


class NoParameters(Exception):
    """The file holds no take parameters Takes can read; the message says why."""


def take_document(rec: Any) -> dict[str, Any]:
    """What is embedded and written in the sidecar: the model, the parameters, the take."""
    payload = {k: v for k, v in rec.payload.items() if k != "mock"}
    return {"format": FORMAT, "model_id": rec.model_id, "payload": payload,
            "take": {"id": rec.id, "profile": rec.profile, "mock": bool(rec.mock),
                     "created_at": rec.created_at, "finished_at": rec.finished_at,
                     "credits_charged": rec.credits_charged, "parent_id": rec.parent_id}}


def sidecar_of(video: Path) -> Path:
    return video.with_name(video.stem + SIDECAR_SUFFIX)


def export_take(rec: Any, dest: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the take's result to `dest` with its parameters embedded, and the sidecar.
    Returns (video, sidecar). Nothing half-written is left under either name."""
    if not rec.result_path:
        raise ExportError("This take has no result file to export.")
    src = Path(rec.result_path)
    if not src.is_file():
        raise ExportError(f"The result file is gone: {src}")
    dest = Path(dest)
    if dest.suffix.lower() not in (".mp4", ".mov", ".m4v"):
        dest = dest.with_name(dest.name + src.suffix)
    if dest.resolve() == src.resolve():
        raise ExportError("Choose another name: that is the take's own file.")
    doc = take_document(rec)
    text = json.dumps(doc, ensure_ascii=False)
    part = dest.with_name(f".{dest.name}.part")
    side = sidecar_of(dest)
    side_part = side.with_name(f".{side.name}.part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remux_with_tags(src, part, text, _comment(doc))
        side_part.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
        os.replace(part, dest)
        os.replace(side_part, side)
    except OSError as e:
        raise ExportError(f"Could not write {dest.name}: {e.strerror or e}") from None
    finally:
        for leftover in (part, side_part):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return dest, side


def _comment(doc: dict[str, Any]) -> str:
    prompt = doc["payload"].get("prompt")
    about = f": {prompt}" if isinstance(prompt, str) and prompt else ""
    return f"Made with Takes — {doc['model_id']}{about}"[:500]


def _remux_with_tags(src: Path, dest: Path, text: str, comment: str) -> None:
    """A stream copy of `src` into `dest` with the tags; a file PyAV cannot remux is copied
    as it is (the sidecar still carries the parameters)."""
    import av

    try:
        with av.open(str(src)) as inp, av.open(str(dest), "w", format="mp4", options={
                "movflags": "use_metadata_tags"}) as out:
            out.metadata[TAG] = text
            out.metadata["comment"] = comment
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams
                       if s.type in ("video", "audio")}
            for packet in inp.demux(*[s for s in inp.streams if s.index in streams]):
                if packet.dts is None:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    except av.FFmpegError:
        shutil.copyfile(src, dest)


def read_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """{"model_id", "payload", "take"} from an exported video or its sidecar."""
    p = Path(path)
    try:
        kind = file_kind(os.stat(p).st_mode)
    except ValueError:
        raise NoParameters("The path contains a NUL character.") from None
    except OSError as e:
        raise NoParameters(f"{p.name}: {e.strerror or e}") from None
    if kind != "file":
        raise NoParameters(f"{p.name} is {kind}, not a file.")
    if p.suffix.lower() == ".json":
        return _document(_load(p), p.name)
    try:
        return _document(_tags(p), p.name)
    except NoParameters:
        side = sidecar_of(p)
        if side.is_file():
            return _document(_load(side), side.name)
        raise


def _load(p: Path) -> Any:
    try:
        return loads_bounded(read_bounded(p))
    except PayloadError as e:
        raise NoParameters(f"{p.name}: {e}") from None


def _tags(p: Path) -> Any:
    import av

    try:
        with av.open(str(p)) as c:
            text = c.metadata.get(TAG)
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        raise NoParameters(f"{p.name} is not a video Takes can read (truncated, or another "
                           "kind of file).") from None
    if not text:
        raise NoParameters(f"{p.name} holds no Takes parameters (export a take with "
                           "File › Export take… to keep them).")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TAG_BYTES:
        raise NoParameters(f"{p.name}: its parameters are too large to be a take's.")
    try:
        return loads_bounded(text)
    except PayloadError as e:
        raise NoParameters(f"{p.name}: its parameters are not readable ({e}).") from None


def _document(doc: Any, name: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise NoParameters(f"{name} is not a Takes parameters file.")
    model_id, payload = doc.get("model_id"), doc.get("payload")
    if not isinstance(model_id, str) or not model_id or len(model_id) > 200:
        raise NoParameters(f"{name} names no model.")
    if not isinstance(payload, dict):
        raise NoParameters(f"{name}: its parameters are not a JSON object.")
    take = doc.get("take") if isinstance(doc.get("take"), dict) else {}
    return {"model_id": model_id, "payload": payload, "take": take}
