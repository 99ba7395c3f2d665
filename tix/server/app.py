"""`tix serve`: the desk's HTTP JSON API (Starlette, served by uvicorn), over the service layer.

Every request runs in a worker thread, in one transaction, as the holder of its bearer token:
on PostgreSQL through the application role, so row-level security holds even if this code had
a bug. A ticket that is not yours is a 404 exactly like one that does not exist; no stack trace,
SQL or setting reaches a response; bodies are size-limited before they are read; failed sign-ins
and heavy use are rate-limited per client address and per token (429 with Retry-After). The
server keeps no state of its own beyond those counters, so N instances can stand behind one
load balancer on one PostgreSQL."""

import json
import logging
import os

from tix.errors import InvalidInput, NotAllowed, NotFound, NotLoggedIn, StoreError, TixError
from tix.server.calls import ROUTES, Call
from tix.server.limits import Limits, RateLimiter

log = logging.getLogger("tix.serve")
API = "/api/v1"


class TooLarge(TixError):
    exit_code = 2


class Malformed(TixError):
    exit_code = 2


def status_for(error: TixError) -> int:
    if isinstance(error, NotLoggedIn):
        return 401
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 409
    if isinstance(error, TooLarge):
        return 413
    if isinstance(error, Malformed):
        return 422
    if isinstance(error, InvalidInput):
        return 400
    return 503 if isinstance(error, StoreError) else 500


def _error_response(error: TixError, status: int | None = None, headers=None):
    from starlette.responses import JSONResponse

    from tix.errors import one_line

    return JSONResponse(
        {"error": one_line(str(error)), "exit_code": error.exit_code},
        status_code=status or status_for(error),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


class Desk:
    """The store, opened once per worker thread, and a request answered inside it."""

    def __init__(self, url: str, limits: Limits):
        from tix import store

        self.url = url
        self.limits = limits
        self.db = store.open_database(url)

    def answer(self, token: str, handler, call: Call):
        """One request: connect (this thread's connection, kept), one transaction, sign in,
        the handler; commit on success, roll back on any error."""
        from tix import store
        from tix.failures import as_tix_error
        from tix.service import session
        from tix.service.local import LocalDesk

        try:
            self.db.connect(reuse_if_open=True)
            with store.command_transaction(self.db):
                if store.is_postgres(self.db):
                    # A request's statements stop at its time limit; the transaction rolls back.
                    ms = int(self.limits.request_seconds * 1000)
                    self.db.execute_sql(f"SET LOCAL statement_timeout = {ms}")
                desk = LocalDesk(session.sign_in(token))
                return handler(desk, call)
        except Exception as exc:
            error = as_tix_error(exc, self.url)
            if error is None:
                raise
            if isinstance(error, StoreError):
                # The details (SQL, host, constraint names) go to the server's log only.
                log.error("store failure: %s", error)
                if not self.db.is_closed():
                    self.db.close()  # a broken connection is not reused by the next request
                raise StoreError(
                    "the desk's store failed or is unreachable: nothing was changed; try again"
                ) from None
            raise error from None
        finally:
            store.set_identity(None)


def create_app(url: str | None = None, limits: Limits | None = None):
    """The ASGI application for the store at `url` (default TIX_DATABASE_URL)."""
    from contextlib import asynccontextmanager

    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tix.paths import resolve_url

    limits = limits or Limits.from_environment()
    desk = Desk(resolve_url(url), limits)
    rates = RateLimiter(limits)

    async def read_body(request: Request) -> dict:
        if request.method in ("GET", "DELETE"):
            return {}
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body:
            raise TooLarge(f"request body over the limit of {limits.max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body:
                raise TooLarge(f"request body over the limit of {limits.max_body} bytes")
            chunks.append(chunk)
        if not size:
            return {}
        try:
            body = json.loads(b"".join(chunks))
        except (UnicodeDecodeError, ValueError):
            raise Malformed("the request body is not JSON") from None
        if not isinstance(body, dict):
            raise Malformed("the request body must be a JSON object")
        return body

    def endpoint(handler):
        async def handle(request: Request):
            address = request.client.host if request.client else "unknown"
            wait = rates.check_address(address)
            if wait:
                return _too_many(wait)
            token = _bearer(request)
            if token is None:
                return _failed_sign_in(
                    address, NotLoggedIn("no bearer token: send Authorization: Bearer TOKEN")
                )
            wait = rates.check_token(token)
            if wait:
                return _too_many(wait)
            try:
                with anyio.fail_after(limits.request_seconds):
                    body = await read_body(request)
                call = Call(path=dict(request.path_params), query=request.query_params, body=body)
                result = await run_in_threadpool(desk.answer, token, handler, call)
            except TimeoutError:
                return _error_response(
                    InvalidInput("the request body took too long to arrive"), 408
                )
            except NotLoggedIn as error:
                return _failed_sign_in(address, error)
            except TixError as error:
                return _error_response(error)
            except Exception:
                log.exception("internal error on %s %s", request.method, request.url.path)
                return _error_response(TixError("internal error (logged on the server)"), 500)
            if handler.__name__ == "attachment":
                return _attachment_response(result)
            return JSONResponse(result, headers={"Cache-Control": "no-store"})

        return handle

    def _failed_sign_in(address: str, error: TixError):
        wait = rates.failed_sign_in(address)
        if wait:
            return _too_many(wait)
        return _error_response(error, 401)

    async def openapi(request: Request):
        from tix.server.openapi import document

        return JSONResponse(document(ROUTES, API))

    async def not_found(request: Request, exc):
        return _error_response(NotFound(f"no API route {request.method} {request.url.path}"), 404)

    async def method_not_allowed(request: Request, exc):
        return _error_response(InvalidInput(f"{request.method} is not allowed here"), 405)

    @asynccontextmanager
    async def lifespan(app):
        # One connection per worker thread: this bounds the connections a worker opens.
        anyio.to_thread.current_default_thread_limiter().total_tokens = limits.threads
        yield
        if not desk.db.is_closed():
            desk.db.close()

    routes = [Route(f"{API}/openapi.json", openapi, methods=["GET"])]
    routes += [
        Route(API + path, endpoint(handler), methods=[method])
        for method, path, handler, _ in ROUTES
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )


def _bearer(request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _too_many(wait: float):
    import math

    return _error_response(
        TixError(f"too many requests: try again in {math.ceil(wait)} s"),
        429,
        headers={"Retry-After": str(math.ceil(wait))},
    )


def _attachment_response(item: dict):
    from urllib.parse import quote

    from starlette.responses import Response

    return Response(
        item["data"],
        media_type="application/octet-stream",  # never rendered: the bytes, as stored
        headers={
            "X-Tix-Filename": quote(item["filename"]),
            "X-Tix-Content-Type": quote(item["content_type"] or ""),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def app_from_environment():
    """What each uvicorn worker process builds (`tix serve` sets TIX_DATABASE_URL for them)."""
    return create_app(os.environ.get("TIX_DATABASE_URL"))
