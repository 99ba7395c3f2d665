"""Every way tix prints: a table for people, JSON or CSV for scripts (keys documented in README)."""

import csv
import io
import json
import re

import click

FORMATS = ("table", "json", "csv")


def format_option(func):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; json or csv for scripts",
    )(func)


# What `tix list` and `tix search` show as a table (their JSON and CSV carry every key).
TICKET_COLUMNS = [
    "code",
    "priority",
    "status",
    "department",
    "account",
    "assignee",
    "created_at",
    "subject",
]


def emit_rows(
    rows: list[dict],
    columns: list[str],
    fmt: str,
    *,
    fields: tuple | list,
    headers: list[str] | None = None,
) -> None:
    """`columns`: what the table shows; `fields`: the shape's keys, which JSON and CSV carry:
    the CSV header is the same with rows and without (a script's parser must not see it change
    shape)."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        if not rows:
            click.echo("(none)")
            return
        from tabulate import tabulate

        table = [[_cell(row.get(c)) for c in columns] for row in rows]
        click.echo(tabulate(table, headers=headers or columns, tablefmt="simple"))


def emit_object(obj: dict, fmt: str, human, *, flat: dict | None = None) -> None:
    """One object: JSON for scripts, CSV as one row (`flat`, else its keys without the nested
    lists), or `human(obj)` for people."""
    if fmt == "json":
        click.echo(json.dumps(obj, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        if flat is None:
            flat = {k: v for k, v in obj.items() if not isinstance(v, (list, dict))}
        emit_rows([flat], list(flat), "csv", fields=list(flat))
    else:
        human(obj)


def _cell(value):
    if value is None:
        return "-"
    text = printable(str(value))
    return text if len(text) <= 60 else text[:57] + "..."


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from customers made safe for a terminal: control characters other than newline and
    tab (escape sequences, bell, a carriage return that hides a line) are shown as \\xNN, so
    nobody's message can clear, retitle or rewrite an agent's screen. JSON keeps the text as is."""
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def show_ticket(obj: dict) -> None:
    """The human view of `tix show`: a header, then the thread."""
    click.secho(printable(f"{obj['code']}  {obj['subject']}"), bold=True)
    click.echo(
        f"status {obj['status']} · priority {obj['priority']} · {obj['department_name']} · "
        f"account {obj['account']} · assignee {obj['assignee'] or '-'}"
    )
    click.echo(
        f"opened {obj['created_at']} · updated {obj['updated_at']}"
        + (f" · closed ({obj['close_reason']})" if obj.get("closed_at") else "")
    )
    for message in obj["messages"]:
        label = " [internal note]" if message["internal"] else ""
        click.echo("")
        click.secho(
            f"--- {message['author']} · {message['created_at']}{label}",
            fg="yellow" if label else None,
        )
        click.echo(printable(message["body"]))
    if obj["attachments"]:
        click.echo("\nattachments:")
        for item in obj["attachments"]:
            click.echo(
                printable(
                    f"  #{item['id']} {item['filename']} ({item['size']} bytes, "
                    f"{item['content_type']})"
                )
            )
    if obj.get("events") is not None:
        click.echo("\nhistory:")
        for event in obj["events"]:
            change = ""
            if event["before"] and event["after"]:
                change = f" {_compact(event['before'])} -> {_compact(event['after'])}"
            elif event["before"] or event["after"]:
                change = f" {_compact(event['before'] or event['after'])}"
            click.echo(f"  {event['at']}  {event['actor']}  {event['kind']}{change}")


def _compact(values: dict) -> str:
    """An event's before/after for people: `status=answered priority=high`."""

    def show(value):
        plain = isinstance(value, str) and value and not any(ch.isspace() for ch in value)
        return value if plain else json.dumps(value, ensure_ascii=False)

    return " ".join(f"{key}={show(value)}" for key, value in values.items())
