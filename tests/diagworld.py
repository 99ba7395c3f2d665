"""A small Internet on loopback for the account check's tests and bench: a DNS server (dnslib)
serving test zones, web servers on :80/:443 (mail servers: diagmail.py), a black hole
(accepts, never answers) and a trap (records every connection it gets).

Every server binds its own 127.77.x.y address with the real port; addresses are picked so that
each is free, and all servers are daemon threads stopped with `World.stop()`.
"""

import os
import socket
import socketserver
import ssl
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, DNSRecord

_next = [os.getpid() % 200 + 20, 10]
_lock = threading.Lock()


def free_address(ports: tuple[int, ...]) -> str:
    """A 127.77.x.y address where every one of `ports` can be bound (TCP, and UDP for 53)."""
    with _lock:
        for _ in range(2000):
            _next[1] += 1
            if _next[1] > 250:
                _next[0], _next[1] = (_next[0] + 1) % 250 + 1, 10
            ip = f"127.77.{_next[0]}.{_next[1]}"
            try:
                for port in ports:
                    kinds = (
                        (socket.SOCK_STREAM, socket.SOCK_DGRAM)
                        if port == 53
                        else (socket.SOCK_STREAM,)
                    )
                    for kind in kinds:
                        s = socket.socket(socket.AF_INET, kind)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        s.bind((ip, port))
                        s.close()
                return ip
            except OSError:
                continue
    raise RuntimeError("no free loopback address")


class _TCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class _UDP(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


def _stop(servers) -> None:
    """Shut the servers down together (each waits for its loop to notice)."""
    threads = [threading.Thread(target=s.shutdown) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for server in servers:
        server.server_close()


def _serve(server) -> None:
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()


# -- DNS ----------------------------------------------------------------------------------------


class Zone:
    """Records by (name, type) from zone-file lines, plus names that SERVFAIL or never answer."""

    def __init__(self):
        self.records: dict[tuple[str, str], list] = {}
        self.names: set[str] = set()
        self.servfail: set[str] = set()
        self.drop: set[str] = set()
        self.asked: list[tuple[str, str]] = []

    def add(self, *lines: str) -> "Zone":
        for line in lines:
            for rr in RR.fromZone(line):
                name = str(rr.rname).lower()
                self.records.setdefault((name, QTYPE[rr.rtype]), []).append(rr)
                self.names.add(name)
        return self

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        qname = str(request.q.qname).lower()
        qtype = QTYPE[request.q.qtype]
        self.asked.append((qname, qtype))
        if any(qname == d or qname.endswith("." + d) for d in self.drop):
            return None
        reply = request.reply()
        reply.header.aa = 1
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        name, seen = qname, set()
        while qtype != "CNAME" and (name, "CNAME") in self.records:
            if name in seen or len(seen) > 10:
                reply = request.reply()
                reply.header.rcode = RCODE.SERVFAIL  # what a resolver says of a CNAME loop
                return reply
            seen.add(name)
            rr = self.records[(name, "CNAME")][0]
            reply.add_answer(rr)
            name = str(rr.rdata.label).lower()
        for rr in self.records.get((name, qtype), []):
            reply.add_answer(rr)
        if not reply.rr and name not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class DnsServer:
    def __init__(self, zone: Zone, ip: str | None = None):
        self.zone = zone
        self.ip = ip or free_address((53,))
        zone_ref = zone

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                try:
                    reply = zone_ref.answer(DNSRecord.parse(data))
                except Exception:
                    return
                if reply is None:
                    return
                packed = reply.pack()
                if len(packed) > 1232:
                    reply = DNSRecord.parse(data).reply()
                    reply.header.tc = 1
                    packed = reply.pack()
                sock.sendto(packed, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    size = struct.unpack("!H", self.request.recv(2))[0]
                    data = b""
                    while len(data) < size:
                        data += self.request.recv(size - len(data))
                    reply = zone_ref.answer(DNSRecord.parse(data))
                except Exception:
                    return
                if reply is not None:
                    packed = reply.pack()
                    self.request.sendall(struct.pack("!H", len(packed)) + packed)

        self.servers = [_UDP((self.ip, 53), Udp), _TCP((self.ip, 53), Tcp)]
        for server in self.servers:
            _serve(server)

    def stop(self):
        _stop(self.servers)


# -- certificates ---------------------------------------------------------------------------------


@dataclass
class Certs:
    folder: Path
    ca: object = None
    files: dict = field(default_factory=dict)

    def __post_init__(self):
        import trustme

        self.ca = trustme.CA()
        self.intermediate = self.ca.create_child_ca()
        self.ca_file = self.folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def context(self, *names: str, kind: str = "good", **dates) -> ssl.SSLContext:
        """A server context: good, expired, future, self-signed, no-chain (intermediate left
        out), or good for other names."""
        import datetime

        key = (kind, names, tuple(sorted(dates.items())))
        if key not in self.files:
            now = datetime.datetime.now(datetime.UTC)
            if kind == "expired":
                dates = {
                    "not_before": now - datetime.timedelta(days=90),
                    "not_after": now - datetime.timedelta(days=1),
                }
            elif kind == "future":
                dates = {
                    "not_before": now + datetime.timedelta(days=2),
                    "not_after": now + datetime.timedelta(days=90),
                }
            base = self.folder / f"leaf-{len(self.files)}"
            if kind == "self-signed":
                _self_signed(names, Path(f"{base}.crt"), Path(f"{base}.key"))
                self.files[key] = base
            else:
                leaf = self.intermediate.issue_cert(*names, **dates)
                chain = leaf.cert_chain_pems[:1] if kind == "no-chain" else leaf.cert_chain_pems
                Path(f"{base}.crt").write_bytes(b"".join(p.bytes() for p in chain))
                leaf.private_key_pem.write_to_path(f"{base}.key")
                self.files[key] = base
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        base = self.files[key]
        context.load_cert_chain(f"{base}.crt", f"{base}.key")
        return context


def _self_signed(names, cert_path: Path, key_path: Path) -> None:
    """A certificate signed by its own key (issuer == subject), as a panel's default one is."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


# -- web --------------------------------------------------------------------------------------------


@dataclass
class Page:
    status: int = 200
    body: bytes | str = b"<html><head><title>Alpha</title></head><body>Welcome</body></html>"
    headers: dict = field(default_factory=dict)
    mode: str = ""  # "" | "drip" (a byte every 0.2 s) | "endless" | "hang"


class WebServer:
    """Answers GET per (host, path) from `pages`; 404 for the rest. Port 80 and 443."""

    def __init__(
        self, pages: dict, tls: ssl.SSLContext | None, ip: str | None = None, ports=(80, 443)
    ):
        self.ip = ip or free_address(ports)
        self.pages = pages
        self.requests: list[tuple[str, str, str]] = []  # (scheme, host, path)
        world = self

        def make(scheme):
            class Handler(socketserver.StreamRequestHandler):
                timeout = 5

                def handle(self):
                    try:
                        line = self.rfile.readline(8192).decode("latin-1").split()
                        headers = {}
                        while True:
                            h = self.rfile.readline(8192).decode("latin-1").strip()
                            if not h:
                                break
                            k, _, v = h.partition(":")
                            headers[k.strip().lower()] = v.strip()
                        host = headers.get("host", "").lower()
                        path = line[1] if len(line) > 1 else "/"
                        world.requests.append((scheme, host, path))
                        page = (
                            world.pages.get((scheme, host, path))
                            or world.pages.get((host, path))
                            or Page(404, b"not found")
                        )
                        world.send(self.wfile, page)
                    except (OSError, ssl.SSLError):
                        pass

            return Handler

        self.servers = []
        for port in ports:
            scheme = "https" if port == 443 else "http"
            server = _TCP((self.ip, port), make(scheme))
            if scheme == "https":
                server.socket = tls.wrap_socket(
                    server.socket, server_side=True, do_handshake_on_connect=True
                )
            self.servers.append(server)
            _serve(server)

    @staticmethod
    def send(wfile, page: Page) -> None:
        import time

        body = page.body.encode() if isinstance(page.body, str) else page.body
        if page.mode == "hang":
            time.sleep(30)
            return
        head = f"HTTP/1.1 {page.status} X\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in page.headers.items()
        )
        if page.mode == "endless":
            wfile.write((head + "\r\n").encode())
            chunk = b"A" * 65536
            for _ in range(2000):  # 128 MiB at most, then stop
                wfile.write(chunk)
            return
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        if page.mode == "drip":
            for byte in (head.encode() + body)[:400]:
                wfile.write(bytes([byte]))
                wfile.flush()
                time.sleep(0.2)
            return
        wfile.write(head.encode() + body)

    def stop(self):
        _stop(self.servers)


class Listener:
    """Accepts on the ports given and records who connected; `answer=False` never replies (a
    black hole), else closes at once."""

    def __init__(self, ports=(80, 443), ip: str | None = None, answer: bool = False):
        self.ip = ip or free_address(ports)
        self.accepted: list[int] = []
        self.sockets, self.held = [], []
        self.running = True
        for port in ports:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.ip, port))
            s.listen(64)
            s.settimeout(0.1)
            self.sockets.append(s)
            threading.Thread(target=self._accept, args=(s, port, answer), daemon=True).start()

    def _accept(self, s, port, answer):
        while self.running:
            try:
                conn, _ = s.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(port)
            if answer:
                conn.close()
            else:
                self.held.append(conn)

    def stop(self):
        self.running = False
        for s in self.sockets + self.held:
            try:
                s.close()
            except OSError:
                pass


def reverse(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."
