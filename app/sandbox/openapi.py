"""What ``GET /openapi.json`` says: the response bodies, every error a route returns, and each
model's job body (the catalog's input model plus the wrapper params), from pydantic models.

Routes take these through FastAPI's ``responses=`` / ``response_model=`` / ``openapi_extra``;
the handlers still answer with plain responses, so the documents describe, never filter.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, create_model

from app.catalog.models import ModelSpec
from app.catalog.status import API_STATUSES
from app.catalog.wrapper import FORMAT_TO_ASPECT, MAX_OUT_CHARS, RESULT_SUFFIXES

STATUSES = API_STATUSES
Status = Literal["queued", "running", "succeeded", "failed", "canceled", "timed_out"]
assert get_args(Status) == STATUSES, "the OpenAPI status type follows app.catalog.status"


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field (`multi_prompt.2.duration`), "
                                   "a header name, or empty for the whole body")
    message: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code (`validation_failed`, "
                                  "`insufficient_credits`, `range_not_satisfiable`…)")
    message: str
    fields: list[FieldError]


class ErrorBody(BaseModel):
    """Every error the API returns."""

    error: ErrorInfo


class JobError(BaseModel):
    code: str
    message: str


class JobResult(BaseModel):
    url: str
    content_type: str
    width: int | None
    height: int | None
    duration_s: float | None
    fps: float | None
    size_bytes: int


class Job(BaseModel):
    id: str
    model: str
    status: Status
    progress: float = Field(ge=0, le=1)
    credits_charged: int = Field(ge=0)
    mock: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: JobError | None
    result: JobResult | None


class JobList(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page")


class Account(BaseModel):
    credits: int


class Upload(BaseModel):
    url: str
    name: str
    size_bytes: int
    content_type: str | None
    kind: str
    format: str
    width: int | None
    height: int | None
    duration_s: float | None


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    task: str
    wrapper_params: list[str]
    price: dict[str, Any] | None  # None: a model of a schema file, no published price
    schema_: dict[str, Any] = Field(alias="schema")


class ModelList(BaseModel):
    models: list[ModelInfo]


class FaultState(BaseModel):
    faults: dict[str, Any]


# ---- errors -------------------------------------------------------------------------------

_ERRORS = {
    400: "Malformed request: a cut-off body or broken multipart data",
    401: "Missing or invalid API key (`Authorization: Bearer <key>`)",
    402: "Not enough credits for this job (nothing is charged)",
    404: "No such job, file or model",
    409: "Conflict: the job already finished, or the Idempotency-Key was used with another body",
    413: "The body or file is larger than the limit",
    415: "Unsupported content type or media format",
    416: "The Range is outside the file (`Content-Range: bytes */<size>`)",
    422: "Invalid input: `fields` says which and why",
    429: "Rate limited (only under injected faults); wait `Retry-After` seconds",
    503: "Unavailable (only under injected faults); wait `Retry-After` seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, all with the error body."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {"model": ErrorBody, "description": _ERRORS[code]}
        if code in (429, 503):
            out[code]["headers"] = _RETRY_AFTER
    return out


#: On every route: the auth middleware's 401, the fault middleware's 429/503.
COMMON_ERRORS = errors(401, 429, 503)


# ---- request bodies -----------------------------------------------------------------------

_SUFFIX = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c
                           for c in s.lstrip(".")) for s in RESULT_SUFFIXES)
_OUT = Field(min_length=len(RESULT_SUFFIXES[0]) + 1, max_length=MAX_OUT_CHARS,
             pattern=rf"^[^\u0000-\u001f\u007f-\u009f]*\.({_SUFFIX})$",
             description="Where the result goes, relative to the work folder: no `..`, no "
                         "control characters, each name at most 255 bytes, ending in "
                         f"{' or '.join(RESULT_SUFFIXES)}")
_MOCK = Field(default=False, description="A free placeholder result (nothing charged)")
_WEBHOOK = Field(default=None, pattern=r"^https?://",
                 description="The sandbox POSTs the finished job object here")
_FORMAT = Field(default=None, description="shorts/reels → 9:16, horizontal → 16:9 (used "
                                          "when aspect_ratio is not given); omitted → 9:16",
                json_schema_extra=lambda schema: schema.pop("default", None))


def job_body_model(spec: ModelSpec) -> type[BaseModel]:
    """The body of ``POST /v1/jobs/<model>``: the model's input plus the wrapper params."""
    extra: dict[str, Any] = {"out": (str, _OUT), "mock": (bool, _MOCK),
                             "webhook_url": (str | None, _WEBHOOK)}
    if spec.has_format:
        # Not nullable: `null` is refused (the catalog takes a format or none at all).
        extra["format"] = (Literal[tuple(FORMAT_TO_ASPECT)], _FORMAT)  # type: ignore[valid-type]
    name = spec.input_model.__name__ + ("Job" if not spec.has_format else "JobWithFormat")
    return create_model(name, __base__=spec.input_model, **extra)


def job_body(spec: ModelSpec) -> dict[str, Any]:
    """``openapi_extra`` for a model's job route: its body schema, from `job_body_model`."""
    schema = job_body_model(spec).model_json_schema(
        ref_template="#/components/schemas/{model}")
    _media_as_urls(schema)
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": schema}}}}


#: On the wire a media value is a URL (the client uploads local files first); printable ASCII.
MEDIA_URL = {"format": "uri", "pattern": r"^https?://[!-~]+$"}


def _media_as_urls(node: Any) -> None:
    """Media fields (``x-media``) take paths or URLs in the catalog, only URLs here."""
    if isinstance(node, dict):
        if "x-media" in node:
            for branch in [node, *node.get("anyOf", [])]:
                kind = branch.get("type")
                if kind in ("string", "array"):
                    (branch["items"] if kind == "array" else branch).update(MEDIA_URL)
        for value in node.values():
            _media_as_urls(value)
    elif isinstance(node, list):
        for value in node:
            _media_as_urls(value)


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"],
               "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
FAULTS_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "description": "Fault keys (see app.sandbox.faults)"}}}}}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": what, "content": {t: {"schema": {"type": "string",
                                                               "format": "binary"}}
                                            for t in ("video/mp4", "image/*", "audio/*",
                                                      "application/octet-stream")}}
    for code, what in ((200, "The whole file"), (206, "The requested byte range"))}


def finish(app: FastAPI) -> None:
    """Publish the bearer scheme, lift the job bodies' nested models into components, and
    drop FastAPI's default 422 (this API's 422 is `ErrorBody`)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = original()
        components = doc.setdefault("components", {})
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
        schemas = components.setdefault("schemas", {})
        for item in doc["paths"].values():
            for op in item.values():
                _lift_defs(op, schemas)
                _drop_default_422(op)
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _lift_defs(op: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media in op.get("requestBody", {}).get("content", {}).values():
        schemas.update(media.get("schema", {}).pop("$defs", {}))


def _drop_default_422(op: dict[str, Any]) -> None:
    r422 = op.get("responses", {}).get("422")
    if r422 and "HTTPValidationError" in str(r422):
        del op["responses"]["422"]
