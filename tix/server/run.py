"""Running the API under uvicorn: one process, or N worker processes on one port."""

import os

from tix.errors import InvalidInput


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--bind takes HOST:PORT, not {bind!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(
    url: str,
    bind: str,
    workers: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    proxies: str | None = None,
) -> None:
    """Serve the store at `url` until stopped. Settings are checked before the port opens."""
    import uvicorn

    from tix.server.limits import Limits

    host, port = parse_bind(bind)
    if workers < 1:
        raise InvalidInput("--workers must be at least 1")
    if bool(certfile) != bool(keyfile):
        raise InvalidInput("--certfile and --keyfile go together")
    Limits.from_environment()  # a bad TIX_SERVE_* setting is refused here, not per request
    # Worker processes build the app from the environment (uvicorn imports it by name).
    os.environ["TIX_DATABASE_URL"] = url
    uvicorn.run(
        "tix.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies,
        server_header=False,
        date_header=True,
        timeout_keep_alive=5,
        log_level=os.environ.get("TIX_SERVE_LOG_LEVEL", "info"),
    )
