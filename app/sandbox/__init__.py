"""The local sandbox render API (FastAPI + uvicorn on 127.0.0.1). Imports no Qt.

`SandboxServer` serves in a thread of the caller (tests, `takes sandbox`); the app's built-in
sandbox runs it in a child process that dies with the app (`app.sandbox.process`, one server
per data folder: `app.sandbox.folder`)."""

from app.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
