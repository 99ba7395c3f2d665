"""Reading a desk's store straight from the database, for tests that check what a command wrote
(or that a refused command wrote nothing)."""

from contextlib import contextmanager

from tix import store
from tix.models import Event, Outbox, Ticket


@contextmanager
def opened(url: str):
    """The store at `url`, connected, with the models bound to it; closed afterwards."""
    db = store.connect(url)
    try:
        yield db
    finally:
        db.close()


def table_names(db) -> list[str]:
    return sorted(db.get_tables())


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: equal dumps mean nothing was written."""
    with opened(url) as db:
        result = {}
        for table in table_names(db):
            rows = db.execute_sql(f'SELECT * FROM "{table}"').fetchall()
            result[table] = sorted(
                (tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows),
                key=repr,
            )
        return result


def ticket(url: str, code: str) -> Ticket:
    with opened(url):
        return Ticket.get(Ticket.code == code)


def events(url: str, code: str) -> list[Event]:
    with opened(url):
        return list(Event.select().join(Ticket).where(Ticket.code == code).order_by(Event.id))


def outbox(url: str, code: str | None = None) -> list[Outbox]:
    with opened(url):
        query = Outbox.select().order_by(Outbox.id)
        if code is not None:
            query = query.join(Ticket).where(Ticket.code == code)
        return list(query)


def mails(url: str, code: str | None = None, after_id: int = 0) -> list[tuple[str, str]]:
    """(kind, recipient) of each queued email, in order, newer than `after_id`."""
    return [(row.kind, row.recipient) for row in outbox(url, code) if row.id > after_id]


def last_outbox_id(url: str) -> int:
    rows = outbox(url)
    return rows[-1].id if rows else 0
