"""Takes: a desktop studio for AI video renders."""

import sys

# httpx's package imports its command-line client (click, rich, pygments: ~80 ms, a tenth of
# the window's start) only to offer `httpx.main`, which Takes never calls. A None entry makes
# that one import fail, which httpx handles (its fallback `main` says the CLI is missing).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
