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
        table = [[_cell(row.get(c)) for c in columns] for row in rows]
        click.echo(simple_table(table, headers or columns))


_INT = re.compile(r"-?[0-9]+", re.ASCII)


def simple_table(table: list[list[str]], headers: list[str]) -> str:
    """What `tabulate(table, headers, tablefmt="simple")` prints, for tables of plain text and
    whole numbers, without importing tabulate: with the package metadata lookup it does on import,
    tabulate alone cost `tix list` ~15-25 ms of a ~120 ms start. Anything else
    (decimals, booleans, multi-line or control characters) still goes to tabulate itself."""
    try:
        from wcwidth import wcswidth as width  # tabulate measures wide characters with it too
    except ImportError:
        width = len
    numeric = []
    for column in zip(*table):
        kinds = {_plain_kind(cell, width) for cell in column}
        if None in kinds:
            from tabulate import tabulate

            return tabulate(table, headers=headers, tablefmt="simple")
        numeric.append(kinds == {"int"})
    widths = [width(h) + 2 for h in headers]
    for row in table:
        widths = [max(w, width(cell)) for w, cell in zip(widths, row)]

    def line(cells):
        padded = [
            " " * (w - width(c)) + c if right else c + " " * (w - width(c))
            for c, w, right in zip(cells, widths, numeric)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in table])


def _plain_kind(cell: str, width) -> str | None:
    """ "int" or "text" when tabulate would treat the cell as exactly that; None when unsure."""
    if (
        not cell
        or cell != cell.strip()
        or cell in ("True", "False")
        or width(cell) < 0
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in cell)
    ):  # ANSI, tabs, newlines
        return None
    if _INT.fullmatch(cell):
        return "int"
    try:
        float(cell.replace(",", ""))  # 1e5, nan, 1,000.5: tabulate formats these as numbers
        return None
    except ValueError:
        return "text"


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


def diagnosis_lines(view: dict | None, lang: str = "en") -> list[str]:
    """The account check of a ticket for people: how many checks, the problems first."""
    if not view:
        return []
    counts = view["summary"]
    problems = counts.get("fail", 0) + counts.get("warn", 0)
    if lang == "es":
        head = f"comprobación de la cuenta: {view['checks']} pruebas, {problems} problema(s)"
    else:
        head = f"account check: {view['checks']} checks, {problems} problem(s)"
    order = {"fail": 0, "warn": 1, "could-not-check": 2, "ok": 3}
    lines = [head]
    for row in sorted(view["results"], key=lambda r: order.get(r["status"], 9)):
        if row["status"] == "ok":
            continue
        text = row.get("text_es") if lang == "es" else row.get("text_en")
        lines.append(printable(f"  {row['status']:<15} {row['check_id']} {row['target']}: {text}"))
    for fix in view["fixes"]:
        lines.append(printable(f"  fix #{fix['fix']}: {fix['text']}"))
    return lines


def show_ticket(obj: dict, lang: str = "en") -> None:
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
    if obj.get("diagnosis"):
        click.echo("")
        click.echo("\n".join(diagnosis_lines(obj["diagnosis"], lang)))
    if obj.get("held"):
        click.echo("\nheld by mail-in (nothing proved the sender; not filed):")
        for item in obj["held"]:
            click.echo(printable(held_line(item, with_target=False)))
    if obj.get("events") is not None:
        click.echo("\nhistory:")
        for event in obj["events"]:
            change = ""
            if event["before"] and event["after"]:
                change = f" {_compact(event['before'])} -> {_compact(event['after'])}"
            elif event["before"] or event["after"]:
                change = f" {_compact(event['before'] or event['after'])}"
            click.echo(f"  {event['at']}  {event['actor']}  {event['kind']}{change}")


def held_line(item: dict, *, with_target: bool = True) -> str:
    """One held message (shapes.held_mail) on one line."""
    target = ""
    if with_target:
        target = (
            f"reply to {item['ticket']}  " if item["ticket"] else f"new in {item['department']}  "
        )
    asked = "asked to confirm" if item["asked"] else "not asked"
    return (
        f"  #{item['id']} {item['received_at']}  {item['sender']}  {target}"
        f"{item['subject']!r}  ({item['reason']}; {asked})"
    )


def _compact(values: dict) -> str:
    """An event's before/after for people: `status=answered priority=high`."""

    def show(value):
        plain = isinstance(value, str) and value and not any(ch.isspace() for ch in value)
        return value if plain else json.dumps(value, ensure_ascii=False)

    return " ".join(f"{key}={show(value)}" for key, value in values.items())
