"""The local sandbox render API (FastAPI + uvicorn on 127.0.0.1). Imports no Qt."""

from app.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
