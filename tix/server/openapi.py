"""The OpenAPI document of the API, built from the route table (tix/server/calls.py)."""

import re

from tix import __version__

ERRORS = {
    "400": "invalid input (exit code 2)",
    "401": "no valid token (exit code 4)",
    "404": "no such ticket, or not yours: the same answer (exit code 3)",
    "409": "not allowed in this state or for your role (exit code 4)",
    "413": "request body too large (exit code 2)",
    "422": "the body is not a JSON object (exit code 2)",
    "429": "too many requests: see Retry-After",
    "503": "the store failed; nothing was changed",
}


def document(routes, base: str) -> dict:
    paths: dict = {}
    for method, path, handler, summary in routes:
        operation = {
            "operationId": handler.__name__,
            "summary": summary,
            "description": (handler.__doc__ or summary).strip(),
            "security": [{"bearer": []}],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", path)
            ],
            "responses": {
                "200": {"description": "the result, as JSON (docs/api.md gives the keys)"},
                **{
                    code: {"description": text, "$ref": "#/components/responses/Error"}
                    for code, text in ERRORS.items()
                },
            },
        }
        if method in ("POST", "PUT"):
            operation["requestBody"] = {
                "content": {"application/json": {"schema": {"type": "object"}}}
            }
        paths.setdefault(base + path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tix",
            "version": __version__,
            "description": "The support desk's API; the `tix` CLI is its client.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "one line, and the CLI's exit code",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "exit_code": {"type": "integer"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }
