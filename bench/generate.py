"""Realistic bench stores, built fast and reused between runs.

A store of N tickets models a hosting company with a steady inflow (400 tickets a day), so a
bigger store is a longer history, not a busier day: the live queue (tickets not closed, almost
all from the last two weeks) is about the same size at 10k and at 1M tickets, while closed
history, accounts, messages and the outbox grow with N. That is what an agent's screen sees
after years of use, and what the "1M within 1.3x of 10k" targets compare.

The schema comes from the real migrations (tix.migrations.upgrade); the rows are written in bulk
(executemany on SQLite, COPY on PostgreSQL) with the big tables' secondary indexes dropped and
recreated from their own definitions afterwards. A `bench_meta` row, written last, marks a
complete store; a store without it (an interrupted build) is rebuilt from scratch.
"""

import hashlib
import io
import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tix import migrations
from tix import store as tix_store
from tix.auth import hash_token
from tix.codes import ALPHABET

GENERATOR_VERSION = 1
STORES_DIR = Path(__file__).resolve().parent / ".stores"
PG_ADMIN_URL = os.environ.get("TIX_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Databases are named PREFIX_<size>: a prefix of your own keeps two people's bench runs on one
# server apart (each drops and rebuilds its own stores).
PG_PREFIX = os.environ.get("TIX_BENCH_PG_PREFIX", "tix_bench")
TICKETS_PER_DAY = 400
CHUNK = 20_000
CUSTOMER_HISTORY = 40  # tickets of the bench customer, whatever the store size
BULK_TABLES = ("tickets", "messages", "attachments", "events", "outbox")

# Share of tickets per department / priority, in percent (sums to 100).
DEPARTMENT_SHARE = {
    "hosting": 40,
    "email": 20,
    "domains": 15,
    "billing": 15,
    "sales": 5,
    "administration": 5,
}
PRIORITY_SHARE = {1: 20, 2: 55, 3: 20, 4: 5}  # low, medium, high, emergency
# Status by age: fresh tickets are mostly live, two-week-old ones mostly closed, older all closed.
STATUS_FRESH = {
    "open": 30,
    "answered": 25,
    "customer-reply": 20,
    "in-progress": 15,
    "on-hold": 5,
    "closed": 5,
}
STATUS_RECENT = {
    "closed": 80,
    "on-hold": 6,
    "in-progress": 4,
    "customer-reply": 4,
    "open": 2,
    "answered": 4,
}

SUBJECTS = [
    "Website down on {d}",
    "Error 500 after plugin update",
    "Cannot send email from {d}",
    "Mailbox full",
    "SSL certificate expired for {d}",
    "Transfer {d} to us",
    "Invoice charged twice",
    "Upgrade plan to VPS",
    "DNS records for {d} not updating",
    "Slow site since yesterday",
    "FTP login refused",
    "Backup restore request",
    "Spam filter blocks our customer",
    "PHP version change for {d}",
    "Cancel service",
    "Database connection errors",
    "Domain renewal failed",
    "Quote for 20 mailboxes",
    "WordPress hacked?",
    "Change account owner",
]
SENTENCES = [
    "Since this morning the site answers with an error.",
    "We have not changed anything on our side.",
    "Could you please check the logs for us?",
    "We restarted the service and it answers again.",
    "The DNS change can take a few hours to propagate.",
    "Please try again and tell us if it works now.",
    "Our customers cannot reach the shop.",
    "The mailbox is at 99% of its quota.",
    "I attach the error message we see.",
    "Thanks, it works now.",
    "We moved the site to a faster server.",
    "The certificate was renewed and installed.",
    "Can you confirm the new MX records?",
    "The invoice has been corrected and refunded.",
]


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def bench_token(label: str, who: str) -> str:
    """Bench tokens are derived from the store name (only their hash is stored, as in tix)."""
    return f"tix_bench_{who}_{label}"


def pg_url(dbname: str) -> str:
    return urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path=f"/{dbname}"))


def _pg_connect(url: str):
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.path.lstrip("/"),
    )
    conn.autocommit = True
    return conn


@dataclass
class BenchStore:
    backend: str
    label: str
    tickets: int
    url: str
    meta: dict = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path | None:
        return Path(tix_store.sqlite_path(self.url)) if self.backend == "sqlite" else None

    def token(self, who: str) -> str:
        return bench_token(self.label, who)

    def raw_connection(self):
        """A plain DB-API connection (autocommit) for the bench's own setup queries."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.sqlite_path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            return conn
        return _pg_connect(self.url)

    def param(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"


def store_for(backend: str, tickets: int) -> BenchStore:
    label = size_label(tickets)
    if backend == "sqlite":
        url = f"sqlite:///{STORES_DIR / f'tix-{label}.db'}"
    elif backend == "postgresql":
        url = pg_url(f"{PG_PREFIX}_{label}")
    else:
        raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgresql")
    return BenchStore(backend, label, tickets, url)


# -- is it built? --------------------------------------------------------------------------------


def read_marker(bench: BenchStore) -> dict | None:
    try:
        if bench.backend == "sqlite":
            if not bench.sqlite_path.exists():
                return None
            conn = sqlite3.connect(f"file:{bench.sqlite_path}?mode=ro", uri=True)
        else:
            admin = _pg_connect(PG_ADMIN_URL)
            cur = admin.cursor()
            cur.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                (urlsplit(bench.url).path.lstrip("/"),),
            )
            exists = cur.fetchone()
            admin.close()
            if not exists:
                return None
            conn = _pg_connect(bench.url)
        try:
            cur = conn.cursor()
            cur.execute("SELECT value FROM bench_meta WHERE key = 'store'")
            row = cur.fetchone()
        finally:
            conn.close()
    except Exception:  # no table, unreadable file: not a finished store
        return None
    if not row:
        return None
    meta = json.loads(row[0])
    return meta if meta.get("generator_version") == GENERATOR_VERSION else None


def ensure_store(backend: str, tickets: int, log=print) -> BenchStore:
    """The bench store of this size, built if missing; pending migrations applied (so a new
    migration, e.g. an index, is measured on the existing stores too)."""
    bench = store_for(backend, tickets)
    meta = read_marker(bench)
    if meta is None:
        log(f"building {backend} store of {bench.label} tickets (once; reused afterwards)...")
        meta = build(bench, log)
        log(f"  built in {meta['build_seconds']:.0f}s: {meta['counts']}")
    db = tix_store.connect(bench.url)
    try:
        started = time.perf_counter()
        applied = migrations.upgrade(db)
        if applied:
            log(
                f"  {backend} {bench.label}: applied {', '.join(applied)} "
                f"in {time.perf_counter() - started:.1f}s"
            )
    finally:
        db.close()
    if applied and backend == "postgresql":
        conn = bench.raw_connection()
        conn.cursor().execute("ANALYZE")
        conn.close()
    bench.meta = meta
    return bench


# -- writers -------------------------------------------------------------------------------------


class SqliteWriter:
    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "cache_size = -400000",
            "temp_store = MEMORY",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN")

    def blob(self, data: bytes):
        return data

    def insert(self, table: str, columns: tuple, rows: list) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def execute(self, sql: str):
        return self.conn.execute(sql)

    def drop_indexes(self) -> list[str]:
        tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
        rows = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in rows:
            self.conn.execute(f"DROP INDEX {name}")
        return [sql for _, sql in rows]

    def finish(self, index_sql: list[str]) -> None:
        for sql in index_sql:
            self.conn.execute(sql)
        self.conn.execute("COMMIT")
        # Leave it as tix opens it: WAL. No ANALYZE: a real tix store has no sqlite_stat1 either.
        self.conn.execute("PRAGMA journal_mode = WAL")

    def close(self) -> None:
        self.conn.close()


def _pg_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, str):
        if "\\" in value or "\n" in value or "\t" in value or "\r" in value:
            return (
                value.replace("\\", "\\\\")
                .replace("\n", "\\n")
                .replace("\t", "\\t")
                .replace("\r", "\\r")
            )
        return value
    return str(value)


class PostgresWriter:
    def __init__(self, url: str):
        self.conn = _pg_connect(url)
        self.conn.autocommit = False
        self.cur = self.conn.cursor()
        # Rows are consistent by construction: skip per-row FK triggers while loading.
        self.cur.execute("SET session_replication_role = replica")
        self.cur.execute("SET synchronous_commit = off")
        self.cur.execute("SET maintenance_work_mem = '512MB'")

    def blob(self, data: bytes):
        return "\\x" + data.hex()  # bytea hex input; COPY escaping doubles the backslash

    def insert(self, table: str, columns: tuple, rows: list) -> None:
        if not rows:
            return
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(map(_pg_text, row)))
            buffer.write("\n")
        buffer.seek(0)
        self.cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    def commit(self) -> None:
        self.conn.commit()

    def execute(self, sql: str):
        self.cur.execute(sql)
        return self.cur

    def drop_indexes(self) -> list[str]:
        tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
        self.cur.execute(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            f"AND tablename IN ({tables}) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        rows = self.cur.fetchall()
        for name, _ in rows:
            self.cur.execute(f"DROP INDEX {name}")
        return [sql for _, sql in rows]

    def finish(self, index_sql: list[str]) -> None:
        for sql in index_sql:
            self.cur.execute(sql)
        # Ids were written explicitly: move every sequence past them.
        for table in ("agents", "accounts", "contacts", "services", "tokens") + BULK_TABLES:
            self.cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        self.conn.commit()
        self.conn.autocommit = True
        # What autovacuum would have done on a live server: statistics and the visibility map.
        self.cur.execute("VACUUM ANALYZE")

    def close(self) -> None:
        self.conn.close()


# -- the generator -------------------------------------------------------------------------------


def _table(shares: dict) -> list:
    """A 100-slot lookup list, so a weighted pick is one random() and one index."""
    out = []
    for value, share in shares.items():
        out += [value] * share
    assert len(out) == 100, shares
    return out


def _code(n: int) -> str:
    """A unique, random-looking ticket code for ticket n: an odd multiplier is a bijection on
    40-bit numbers, so no uniqueness check is needed."""
    x = (n * 0x5DEECE66D + 0x1F2E3D4C5B) & ((1 << 40) - 1)
    chars = "".join(ALPHABET[(x >> (35 - 5 * k)) & 31] for k in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _ts(epoch: float) -> str:
    return (datetime(1970, 1, 1) + timedelta(seconds=epoch)).isoformat(" ", "microseconds")


class _People:
    """Agents, accounts, contacts, services and tokens; the lookups the tickets need."""

    def __init__(
        self, writer, rng: random.Random, tickets: int, label: str, departments: dict, anchor: float
    ):
        created = _ts(anchor - tickets / TICKETS_PER_DAY * 86400 - 86400)
        dept_ids = list(departments.values())
        self.dept_agents = {d: [] for d in dept_ids}
        self.agent_email = {}
        agents, links = [], []

        def add_agent(agent_id, email, name, is_admin, depts):
            agents.append((agent_id, email, name, int(is_admin), 1, "en", created))
            self.agent_email[agent_id] = email
            for d in depts:
                links.append((agent_id, d))
                if not is_admin:
                    self.dept_agents[d].append(agent_id)

        add_agent(1, "admin@host.bench", "Admin", True, dept_ids)
        add_agent(2, "agent@host.bench", "Bench Agent", False, [departments["hosting"]])
        for n in range(3, 43):
            first = dept_ids[n % len(dept_ids)]
            depts = {first, departments["hosting"]} if n % 3 == 0 else {first}
            add_agent(n, f"tech{n}@host.bench", f"Tech {n}", False, sorted(depts))
        writer.insert(
            "agents", ("id", "email", "name", "is_admin", "active", "lang", "created_at"), agents
        )
        writer.insert("agent_departments", ("agent_id", "department_id"), links)

        self.accounts = max(200, tickets // 20)
        accounts, contacts, services = [], [], []
        self.owner_contact = [0] * (self.accounts + 1)
        self.extra_contacts = [()] * (self.accounts + 1)
        self.first_service = [None] * (self.accounts + 1)
        self.contact_email = {}
        contact_id = service_id = 0
        for a in range(1, self.accounts + 1):
            handle = "bench-customer" if a == 1 else f"cust{a}"
            is_reseller = a % 50 == 0
            reseller = (a // 50) * 50 if (a % 5 == 1 and a >= 50) else None
            lang = "es" if a % 3 == 0 else "en"
            accounts.append((a, handle, f"Customer {a}", int(is_reseller), reseller, lang, created))
            extras = []
            for k in range(1 + (0 if a == 1 else rng.choice((0, 0, 1, 2)))):
                contact_id += 1
                email = f"owner@{handle}.example" if k == 0 else f"c{k}@{handle}.example"
                ticket_emails = 1 if k == 0 else int(rng.random() < 0.3)
                contacts.append(
                    (
                        contact_id,
                        a,
                        email,
                        f"Contact {k} of {handle}",
                        int(k == 0),
                        ticket_emails,
                        int(k == 0 or rng.random() < 0.5),
                        lang,
                        created,
                    )
                )
                self.contact_email[contact_id] = email
                if k == 0:
                    self.owner_contact[a] = contact_id
                else:
                    extras.append(contact_id)
            self.extra_contacts[a] = tuple(extras)
            for kind, name in (
                ("domain", f"{handle}.example"),
                ("hosting", f"web-{handle}"),
                ("email", f"mail-{handle}"),
            )[: 1 + a % 3]:
                service_id += 1
                services.append((service_id, a, name, kind, created))
                if self.first_service[a] is None:
                    self.first_service[a] = service_id
        writer.insert(
            "accounts",
            ("id", "handle", "name", "is_reseller", "reseller_id", "lang", "created_at"),
            accounts,
        )
        writer.insert(
            "contacts",
            (
                "id",
                "account_id",
                "email",
                "name",
                "is_owner",
                "ticket_emails",
                "can_login",
                "lang",
                "created_at",
            ),
            contacts,
        )
        writer.insert("services", ("id", "account_id", "name", "kind", "created_at"), services)
        writer.insert(
            "tokens",
            ("id", "token_hash", "agent_id", "contact_id", "created_at"),
            [
                (1, hash_token(bench_token(label, "admin")), 1, None, created),
                (2, hash_token(bench_token(label, "agent")), 2, None, created),
                (
                    3,
                    hash_token(bench_token(label, "customer")),
                    None,
                    self.owner_contact[1],
                    created,
                ),
            ],
        )
        self.counts = {
            "accounts": len(accounts),
            "contacts": len(contacts),
            "services": len(services),
            "agents": len(agents),
        }


TICKET_COLUMNS = (
    "id",
    "code",
    "subject",
    "department_id",
    "priority",
    "status",
    "account_id",
    "contact_id",
    "service_id",
    "assignee_id",
    "created_at",
    "updated_at",
    "last_customer_activity_at",
    "last_agent_reply_at",
    "waiting_since",
    "closed_at",
    "closed_by",
    "close_reason",
)
MESSAGE_COLUMNS = (
    "id",
    "ticket_id",
    "author_agent_id",
    "author_contact_id",
    "body",
    "internal",
    "created_at",
)
ATTACHMENT_COLUMNS = (
    "id",
    "ticket_id",
    "message_id",
    "filename",
    "content_type",
    "size",
    "sha256",
    "data",
    "created_at",
)
EVENT_COLUMNS = ("id", "ticket_id", "at", "actor", "kind", "before", "after")
OUTBOX_COLUMNS = (
    "id",
    "message_id",
    "ticket_id",
    "kind",
    "recipient",
    "subject",
    "raw",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "sent_at",
)


def build(bench: BenchStore, log=print) -> dict:
    started = time.perf_counter()
    _create_empty(bench)
    if bench.backend == "sqlite":
        writer = SqliteWriter(bench.sqlite_path)
    else:
        writer = PostgresWriter(bench.url)
    try:
        departments = dict(
            (slug, i) for i, slug in writer.execute("SELECT id, slug FROM departments").fetchall()
        )
        index_sql = writer.drop_indexes()
        anchor = time.time()
        counts = _generate(writer, bench, departments, anchor, log)
        log(f"  rows written in {time.perf_counter() - started:.0f}s; recreating indexes...")
        writer.finish(index_sql)
        meta = {
            "generator_version": GENERATOR_VERSION,
            "tickets": bench.tickets,
            "built_at": _ts(anchor),
            "counts": counts,
            "show_code": counts.pop("show_code"),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        writer.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        writer.execute(f"INSERT INTO bench_meta VALUES ('store', '{json.dumps(meta)}')")
        if bench.backend == "postgresql":
            writer.conn.commit()
    finally:
        writer.close()
    return meta


def _create_empty(bench: BenchStore) -> None:
    if bench.backend == "sqlite":
        STORES_DIR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{bench.sqlite_path}{suffix}").unlink(missing_ok=True)
    else:
        admin = _pg_connect(PG_ADMIN_URL)
        name = urlsplit(bench.url).path.lstrip("/")
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        admin.close()
    db = tix_store.connect(bench.url)
    migrations.upgrade(db)
    db.close()


def _generate(writer, bench: BenchStore, departments: dict, anchor: float, log) -> dict:
    n = bench.tickets
    rng = random.Random(n)
    people = _People(writer, rng, n, bench.label, departments, anchor)
    writer.commit()
    dept_table = [departments[slug] for slug in _table(DEPARTMENT_SHARE)]
    dept_slug = {v: k for k, v in departments.items()}
    priority_table = _table(PRIORITY_SHARE)
    fresh_table, recent_table = _table(STATUS_FRESH), _table(STATUS_RECENT)
    # 1..20 messages, most tickets short: P(k) ~ 0.8^k, mean about 4.4.
    weights = [0.8**k for k in range(20)]
    message_table = []
    for k, w in enumerate(weights, start=1):
        message_table += [k] * round(1000 * w / sum(weights))
    bodies = ["\n".join(rng.sample(SENTENCES, rng.randint(1, 4))) for _ in range(64)]
    blobs = [bytes(rng.getrandbits(8) for _ in range(size)) for size in (600, 1500, 3000, 4000)]
    blob_values = [(writer.blob(b), len(b), hashlib.sha256(b).hexdigest()) for b in blobs]

    span = n / TICKETS_PER_DAY * 86400
    step = span / n
    customer_every = max(1, n // CUSTOMER_HISTORY)
    show_index = n // 2 + (500 - n // 2) % 997  # the first 20-message ticket past the middle
    show_code = None
    message_id = attachment_id = event_id = 0
    counts = {"tickets": 0, "messages": 0, "attachments": 0, "events": 0, "outbox": 0, "live": 0}
    next_log = time.perf_counter() + 30
    from bench import progress

    shown = progress.bar(n, f"  building {bench.backend} {bench.label}", "tickets")
    for chunk_start in range(0, n, CHUNK):
        tickets, messages, attachments, events, outbox = [], [], [], [], []
        for i in range(chunk_start, min(n, chunk_start + CHUNK)):
            ticket_id = i + 1
            created = anchor - span + (i + rng.random() * 0.9) * step
            age_days = (anchor - created) / 86400
            if age_days < 2:
                status = fresh_table[int(rng.random() * 100)]
            elif age_days < 14:
                status = recent_table[int(rng.random() * 100)]
            else:
                status = "closed"
            dept = dept_table[int(rng.random() * 100)]
            # Few accounts open many tickets, most open few; the bench customer has exactly 40.
            if i % customer_every == 0:
                account = 1
            else:
                account = min(people.accounts, 2 + int((people.accounts - 1) * rng.random() ** 1.5))
            extras = people.extra_contacts[account]
            contact = people.owner_contact[account]
            if extras and rng.random() < 0.2:
                contact = rng.choice(extras)
            service = people.first_service[account] if rng.random() < 0.7 else None
            live = status != "closed"
            agents = people.dept_agents[dept]
            assignee = None
            if rng.random() < (0.6 if live else 0.9):
                assignee = agents[int(rng.random() * len(agents))]
            code = _code(ticket_id)
            subject = SUBJECTS[int(rng.random() * len(SUBJECTS))].format(d=f"cust{account}.example")
            is_show = i % 997 == 500
            k = 20 if is_show else message_table[int(rng.random() * len(message_table))]
            if i == show_index:
                show_code = code

            closed_at = closed_by = reason = waiting = None
            if status == "closed":
                end = min(anchor - 60, created + 1800 + rng.random() * 6 * 86400)
                closed_at = end
                reason = ("agent", "agent", "customer", "auto")[int(rng.random() * 4)]
                closed_by = {
                    "agent": people.agent_email.get(assignee or 2),
                    "customer": people.contact_email[contact],
                    "auto": "tix-jobs",
                }[reason]
            elif status == "answered":
                waiting = max(created + 60, anchor - rng.random() * 40 * 3600)
                end = waiting
            else:
                end = created + (anchor - created) * (0.3 + 0.7 * rng.random())
            gap = (end - created) / (k - 1) if k > 1 else 0
            last_customer = last_agent = None
            first_message = message_id + 1
            for j in range(k):
                message_id += 1
                at = created + gap * j
                if j % 2 == 0:
                    author_agent, author_contact, internal = None, contact, 0
                    last_customer = at
                else:
                    author_agent = assignee or agents[j % len(agents)]
                    author_contact, internal = None, int(rng.random() < 0.08)
                    last_agent = at
                messages.append(
                    (
                        message_id,
                        ticket_id,
                        author_agent,
                        author_contact,
                        bodies[int(rng.random() * 64)],
                        internal,
                        _ts(at),
                    )
                )
            if is_show or i % 97 == 13:
                attachment_id += 1
                blob, size, digest = blob_values[attachment_id % len(blob_values)]
                attachments.append(
                    (
                        attachment_id,
                        ticket_id,
                        first_message,
                        f"screenshot-{attachment_id}.png",
                        "image/png",
                        size,
                        digest,
                        blob,
                        _ts(created),
                    )
                )
            created_s = _ts(created)
            tickets.append(
                (
                    ticket_id,
                    code,
                    subject,
                    dept,
                    priority_table[int(rng.random() * 100)],
                    status,
                    account,
                    contact,
                    service,
                    assignee,
                    created_s,
                    _ts(end),
                    _ts(last_customer) if last_customer else None,
                    _ts(last_agent) if last_agent else None,
                    _ts(waiting) if waiting else None,
                    _ts(closed_at) if closed_at else None,
                    closed_by,
                    reason,
                )
            )
            event_id += 1
            events.append(
                (
                    event_id,
                    ticket_id,
                    created_s,
                    f"contact:{people.contact_email[contact]}",
                    "created",
                    None,
                    json.dumps(
                        {"department": dept_slug[dept], "status": "open", "subject": subject}
                    ),
                )
            )
            if closed_at:
                event_id += 1
                events.append(
                    (
                        event_id,
                        ticket_id,
                        _ts(closed_at),
                        f"agent:{closed_by}",
                        "closed",
                        '{"status": "answered"}',
                        f'{{"reason": "{reason}", "status": "closed"}}',
                    )
                )
            recipient = people.contact_email[people.owner_contact[account]]
            outbox.append(
                (
                    ticket_id,
                    f"<bench-{ticket_id}@tix.bench>",
                    ticket_id,
                    "ticket-created",
                    recipient,
                    f"[{code}] We received your ticket",
                    f"From: Support <support@tix.bench>\nTo: "
                    f"{recipient}\nSubject: [{code}] We received your ticket\n\nWe received {code}.\n",
                    "sent",
                    1,
                    created_s,
                    created_s,
                    _ts(created + 5),
                )
            )
            counts["live"] += live
        writer.insert("tickets", TICKET_COLUMNS, tickets)
        writer.insert("messages", MESSAGE_COLUMNS, messages)
        writer.insert("attachments", ATTACHMENT_COLUMNS, attachments)
        writer.insert("events", EVENT_COLUMNS, events)
        writer.insert("outbox", OUTBOX_COLUMNS, outbox)
        writer.commit()
        counts["tickets"] += len(tickets)
        counts["messages"] += len(messages)
        counts["attachments"] += len(attachments)
        counts["events"] += len(events)
        counts["outbox"] += len(outbox)
        shown.update(len(tickets))
        if time.perf_counter() > next_log and not progress.enabled():
            log(f"  ... {counts['tickets']:,} of {n:,} tickets")
            next_log = time.perf_counter() + 30
    shown.close()
    counts.update(people.counts)
    counts["show_code"] = show_code
    return counts
