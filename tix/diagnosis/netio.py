"""Connections a probe makes: to a vetted address only, every read and write under the probe's
deadline (a slow drip cannot stretch it), every read capped (an endless body cannot fill
memory). HTTP/1.1 is spoken here rather than through http.client so that the connect address,
the Host/SNI name and the deadline are all ours to set."""

import socket
import time
from dataclasses import dataclass, field

HEADER_CAP = 64 * 1024
LINE_CAP = 8192
USER_AGENT = "tix-account-check/1"


class Refused(Exception):
    """The guard refused the address: no connection was attempted."""


class NetError(Exception):
    """The server refused, reset or spoke nonsense: a finding about the server."""


class Conn:
    def __init__(self, ctx, ip: str, port: int):
        reason = ctx.guard.refuse(ip)
        if reason:
            raise Refused(f"{ip} is {reason}: not contacted")
        self.ctx, self.ip, self.port = ctx, ip, port
        self.buffer = b""
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        started = time.monotonic()
        try:
            self._arm()
            self.sock.connect((ip, port))
        except TimeoutError:
            self.close()
            ctx.timeout(f"no connection to port {port} within the time allowed")
        except OSError as exc:
            self.close()
            raise NetError(_os_error(exc, port)) from None
        self.connect_ms = round((time.monotonic() - started) * 1000, 1)

    def _arm(self) -> None:
        self.sock.settimeout(max(0.01, self.ctx.remaining()))

    def _io(self, what, fn, *args):
        try:
            self._arm()
            return fn(*args)
        except TimeoutError:
            self.ctx.timeout(f"no answer ({what}) within the time allowed")
        except OSError as exc:
            raise NetError(_os_error(exc, self.port)) from None

    def send(self, data: bytes) -> None:
        self._io("send", self.sock.sendall, data)

    def recv(self, size: int = 16384) -> bytes:
        if self.buffer:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        return self._io("read", self.sock.recv, size)

    def readline(self, cap: int = LINE_CAP) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) >= cap:
                raise NetError(f"a line longer than {cap} bytes")
            data = self._io("read", self.sock.recv, 4096)
            if not data:
                line, self.buffer = self.buffer, b""
                if not line:
                    raise NetError("the server closed the connection")
                return line
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def starttls(self, context, server_hostname: str):
        """TLS over this connection (for STARTTLS, IMAPS, POP3S, HTTPS): the SSL socket."""
        import ssl

        tls = context.wrap_socket(
            self.sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        self.sock = tls
        try:
            self._arm()
            tls.do_handshake()
        except TimeoutError:
            self.ctx.timeout("no TLS handshake within the time allowed")
        except ssl.SSLCertVerificationError:
            raise
        except (ssl.SSLError, OSError) as exc:
            raise NetError(f"TLS handshake failed: {_short(exc)}") from None
        return tls

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(exc) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


def _os_error(exc: OSError, port: int) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused on port {port}"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset on port {port}"
    return f"port {port}: {_short(exc)}"


# -- HTTP ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    reason: str
    headers: dict = field(default_factory=dict)  # lower-case name -> last value
    body: bytes = b""
    truncated: bool = False
    elapsed_ms: float = 0.0
    tls_version: str | None = None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http_get(ctx, ip: str, scheme: str, host: str, path: str, cap: int, tls_context=None):
    """GET scheme://host/path from `ip` (vetted by Conn), Host and SNI set to `host`."""
    started = time.monotonic()
    with Conn(ctx, ip, 443 if scheme == "https" else 80) as conn:
        tls_version = conn.starttls(tls_context, host).version() if scheme == "https" else None
        response = http_exchange(conn, host, path, cap)
    response.tls_version = tls_version
    response.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return response


def http_exchange(conn: Conn, host: str, path: str, cap: int) -> Response:
    """One GET on an open connection (plain or TLS); the body read up to `cap` bytes."""
    from urllib.parse import quote

    started = time.monotonic()
    path = quote(path or "/", safe="/%?=&:;@!$'()*+,~-._")
    conn.send(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: text/html,*/*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
        ).encode("ascii", "replace")
    )
    status_line = conn.readline().decode("latin-1").strip()
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise NetError(f"not an HTTP answer: {status_line[:80]!r}")
    headers, size = {}, 0
    while True:
        line = conn.readline()
        size += len(line)
        if size > HEADER_CAP:
            raise NetError("headers larger than 64 KiB")
        text = line.decode("latin-1").strip()
        if not text:
            break
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    body, truncated = _read_body(conn, headers, cap)
    return Response(
        int(parts[1]),
        parts[2] if len(parts) > 2 else "",
        headers,
        body,
        truncated,
        round((time.monotonic() - started) * 1000, 1),
    )


def _read_body(conn: Conn, headers: dict, cap: int) -> tuple[bytes, bool]:
    body = bytearray()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while len(body) < cap:
            size_line = conn.readline().split(b";", 1)[0].strip()
            try:
                size = int(size_line or b"0", 16)
            except ValueError:
                raise NetError("a broken chunked body") from None
            if size == 0:
                return bytes(body), False
            want = size + 2  # the chunk and its CRLF
            chunk = bytearray()
            while len(chunk) < want and len(body) + len(chunk) < cap + 2:
                data = conn.recv(min(65536, want - len(chunk)))
                if not data:
                    return bytes(body + chunk[:size]), False
                chunk += data
            body += chunk[:size]
        return bytes(body[:cap]), True
    length = headers.get("content-length", "")
    limit = int(length) if length.isdigit() else None
    want = min(limit, cap) if limit is not None else cap
    while len(body) < want:
        data = conn.recv(min(65536, want - len(body)))
        if not data:
            break
        body += data
    truncated = len(body) >= cap and (limit is None or limit > cap)
    return bytes(body[:cap]), truncated


# -- line protocols (SMTP, IMAP, POP3) -------------------------------------------------------


def smtp_reply(conn: Conn, max_lines: int = 64) -> tuple[int, list[str]]:
    """One SMTP reply (multi-line '250-' continuations): (code, lines)."""
    lines = []
    while len(lines) < max_lines:
        line = conn.readline().decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            break
    else:
        raise NetError(f"an SMTP reply of more than {max_lines} lines")
    code = lines[0][:3]
    if not code.isdigit():
        raise NetError(f"not an SMTP answer: {lines[0][:80]!r}")
    return int(code), [line[4:] for line in lines]
