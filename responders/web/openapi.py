"""The API's OpenAPI document, made to say what the API really answers.

FastAPI documents a validation error as ``{"detail": [ ... ]}``; Harken answers every
error with one shape, ``{"detail": "a sentence"}`` (a validation error adds the
field-by-field ``errors``), so clients can show ``detail`` as it is. It also leaves
out the refusals every route can give: no session or token (401), a role that may
not (403), a record that does not exist (404), a change the record's state does
not allow (409). Here they are documented on every operation that can give them;
the schemathesis test (tests/web/test_openapi_conformance.py) keeps the document
and the API in step.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what went wrong, as a sentence to show"},
        "errors": {
            "type": "array",
            "description": "for a 422 from validation: each invalid field",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
EVERY_OPERATION = {
    "401": "No valid session cookie or API token.",
    "403": "The role may not do this, the token may not (one an admin made for someone else), "
           "or a cookie session sent no CSRF token.",
}
WITH_INPUT = {
    "404": "A record the request names does not exist.",
    "409": "The request does not fit the record's state or is not allowed in it (the detail says why).",
    "422": "A parameter or the body is invalid or out of range.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def api_schema(app: FastAPI) -> dict[str, Any]:
    """The document served at ``/api/openapi.json`` (built once per app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR
    components["securitySchemes"] = {"token": {
        "type": "http", "scheme": "bearer",
        "description": "an API token (hk_…); the web app's session cookie works too, with its CSRF token",
    }}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation["security"] = [{"token": []}]
            responses = operation.setdefault("responses", {})
            codes = dict(EVERY_OPERATION)
            if operation.get("parameters") or operation.get("requestBody"):
                codes |= WITH_INPUT
            if operation.get("requestBody"):
                codes["400"] = "The body is not JSON (or not UTF-8)."
            for code, description in codes.items():
                responses[code] = _error_response(description)
    app.openapi_schema = schema
    return schema
