"""Starting the built-in sandbox: the child process against the old in-thread start (a bench).

Each round runs a fresh interpreter (a cold start, as the app has) in a new data folder and
measures, from the moment the interpreter has the client and the catalog loaded (the app has
them either way), the imports of the mode included:

- ``thread``: the in-thread `SandboxServer` (what the app did before): import the server
  stack, start, first answer from ``GET /v1/account``. The caller is blocked all along.
- ``child``: `start_sandbox` (the child process, blocking): to its first answer.
- ``begin``: `begin_sandbox`: how long the caller is blocked (it returns at once), then the
  first answer; and which of the heavy modules the caller imported.

    python3 bench/sandbox_start.py [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("uvicorn", "fastapi", "numpy", "av", "starlette")

PROBE = r"""
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[3])
from pathlib import Path
import httpx
import app.client.connection  # the client and the catalog: the app has them either way

t1 = time.perf_counter()  # the same for every mode from here
mode, data = sys.argv[1], Path(sys.argv[2])
blocked = None
if mode == "thread":
    from app.sandbox.server import SandboxServer
    server = SandboxServer(data, key="k" * 24)
    url, key = server.start(), server.key
    stop = server.stop
else:
    from app.client.connection import begin_sandbox, start_sandbox
    if mode == "child":
        conn = start_sandbox(data)
    else:
        pending = begin_sandbox(data)
        blocked = time.perf_counter() - t1
        conn = pending.result(60)
        pending.join()
    url, key, stop = conn.base_url, conn._key.reveal(), conn.close
r = httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {key}"})
assert r.status_code == 200, r.status_code
ready = time.perf_counter() - t1
heavy = sorted(m for m in HEAVY if m in sys.modules)
stop()
print(json.dumps({"ready": ready, "blocked": ready if blocked is None else blocked,
                  "caller_imports": heavy, "interpreter": t1 - t0}))
"""


def probe(mode: str) -> dict[str, object]:
    code = f"import json\nHEAVY = {HEAVY!r}\n" + PROBE
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code, mode, str(Path(tmp) / "sandbox"),
                              str(ROOT)], capture_output=True, text=True, timeout=120,
                             check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    runs: dict[str, list[dict[str, object]]] = {m: [] for m in ("thread", "child", "begin")}
    for _ in range(args.rounds):  # interleaved, so a load change hits every mode alike
        for mode, samples in runs.items():
            samples.append(probe(mode))

    def median_ms(mode: str, what: str) -> float:
        return round(statistics.median(float(s[what]) for s in runs[mode]) * 1000, 1)

    result = {
        "rounds": args.rounds,
        "thread_ready_ms": median_ms("thread", "ready"),
        "child_ready_ms": median_ms("child", "ready"),
        "begin_ready_ms": median_ms("begin", "ready"),
        "begin_blocked_ms": median_ms("begin", "blocked"),
        "interpreter_ms": median_ms("thread", "interpreter"),
        "thread_caller_imports": runs["thread"][0]["caller_imports"],
        "begin_caller_imports": runs["begin"][0]["caller_imports"],
    }
    base = result["thread_ready_ms"]
    result["child_ready_ratio"] = round(result["child_ready_ms"] / base, 2)
    result["begin_blocked_ratio"] = round(result["begin_blocked_ms"] / base, 3)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"baseline, in-thread start to first answer: {base:.0f} ms "
          f"(caller blocked all along; imports {', '.join(result['thread_caller_imports'])})")
    print(f"child process, blocking start to first answer: {result['child_ready_ms']:.0f} ms "
          f"({result['child_ready_ratio']:.2f}× baseline)")
    print(f"child process, begin_sandbox: caller blocked {result['begin_blocked_ms']:.1f} ms "
          f"({result['begin_blocked_ratio']:.3f}× baseline), first answer at "
          f"{result['begin_ready_ms']:.0f} ms; caller imports of {', '.join(HEAVY)}: "
          f"{', '.join(result['begin_caller_imports']) or 'none'}")
    print("target (issue 11): the window paints first: the caller is blocked ≪ baseline and "
          "imports none of the server stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
