"""Demo takes for screenshots and benchmarks: real renders through a private sandbox."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

PROMPTS = [
    "A lighthouse keeper climbs the spiral stairs at dawn, warm light through the windows",
    "Neon rain on a narrow Tokyo side street, slow dolly in, reflections on wet asphalt",
    "A paper boat drifts down a flooded gutter, macro lens, shallow depth of field",
    "Two astronauts play chess on the moon while Earth rises behind them",
    "An old fox naps in a field of poppies, wind moving through the grass",
    "Coffee crema swirls in slow motion, top-down, soft morning light",
    "A tram crosses a snowy bridge at night, lanterns swinging",
    "A potter's hands shape a bowl on the wheel, clay spatters",
]
ANIMATE_PROMPTS = [
    "The figure turns toward the camera and smiles",
    "Clouds race behind the hill while the grass sways",
]


def demo_image(path: Path, width: int = 800, height: int = 600, seed: int = 0) -> Path:
    """A colourful gradient picture with a sun and a horizon (Pillow; no Qt needed)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    top = [(40, 90, 160), (150, 60, 110), (30, 120, 110)][seed % 3]
    bottom = [(250, 190, 120), (250, 220, 150), (200, 240, 200)][seed % 3]
    for y in range(height):
        t = y / max(1, height - 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    r = height // 8
    cx, cy = width * (0.3 + 0.2 * (seed % 3)), height * 0.45
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 230, 120))
    draw.polygon([(0, height), (0, height * 0.7), (width * 0.4, height * 0.55),
                  (width, height * 0.75), (width, height)], fill=(40, 50, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def demo_video(path: Path, seconds: float = 3.0, width: int = 640, height: int = 360,
               fps: int = 24) -> Path:
    """A short H.264 clip: a sun crossing a gradient sky over a hill (PyAV; no Qt needed)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:height, 0:width]
    sky = np.zeros((height, width, 4), np.uint8)
    sky[..., 0] = 40 + (y * 200 // height)
    sky[..., 1] = 90 + (y * 120 // height)
    sky[..., 2] = 170 - (y * 60 // height)
    sky[..., 3] = 255
    hill = y > (height * 0.7 - (x - width / 2) ** 2 / (width * 4))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = round(seconds * fps)
        for i in range(frames):
            img = sky.copy()
            cx, cy, r = width * (0.1 + 0.8 * i / frames), height * 0.35, height // 9
            sun = (x - cx) ** 2 + (y - cy) ** 2 < r * r
            img[sun] = (255, 225, 110, 255)
            img[hill] = (35, 60, 45, 255)
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgba")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path


def demo_payloads(n: int, media_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """N varied, valid payloads: mostly Create, some Animate with a start image; some mock."""
    images = [demo_image(media_dir / f"still-{i}.png", seed=i) for i in range(3)]
    prompts = itertools.cycle(PROMPTS)
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        if i % 4 == 3:
            model = "kling_v3_std_i2v" if i % 8 == 3 else "kling_v3_pro_i2v"
            payload: dict[str, Any] = {
                "start_image_url": str(images[i % len(images)]),
                "prompt": ANIMATE_PROMPTS[i % len(ANIMATE_PROMPTS)],
                "duration": "5", "generate_audio": False,
            }
        else:
            model = "seedance_r2v"
            payload = {"prompt": next(prompts), "duration": 4 + (i % 5),
                       "resolution": ["480p", "720p"][i % 2], "aspect_ratio": "16:9"}
        payload["out"] = f"demo/take-{i + 1:03d}.mp4"
        payload["mock"] = i % 5 == 4
        out.append((model, payload))
    return out


async def fill_demo(studio: Any, n: int, media_dir: Path, *, fail_one: bool = True,
                    favourites: int = 2) -> list[Any]:
    """Render N demo takes through the studio's sandbox and wait until they settle."""
    server = studio.server
    jobs = []
    for i, (model, payload) in enumerate(demo_payloads(n, media_dir)):
        if fail_one and server is not None and i == 2:
            server.set_faults(fail_jobs=1, fail_message="The model could not keep the "
                              "subject consistent; try a simpler prompt.")
        jobs.append(await studio.run(studio.manager.submit(model, payload)))
    done = await asyncio.gather(*(studio.run(studio.manager.wait(j.id)) for j in jobs))
    for job in [j for j in done if j.status == "succeeded"][:favourites]:
        await studio.read(studio.store.update, job.id, favourite=True)
    return [await studio.read(studio.store.get, j.id) for j in done]
