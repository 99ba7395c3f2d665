"""Every way tix prints: a table for people, JSON or CSV for scripts (keys documented in
docs/cli.md), `--json FIELDS` to pick keys as gh does; and how it reaches a terminal: text from
customers made harmless, colour and the pager (tix/terminal.py)."""

import csv
import io
import json
import re

import click

from tix.terminal import colour_off, page, pager_command  # noqa: F401  (printing's own API)

FORMATS = ("table", "json", "csv")
_JSON_FIELDS = "tix.json_fields"  # click's context meta: the keys `--json` picked


def _default_format() -> str:
    from tix import config

    chosen = config.effective("format")
    return chosen if chosen in FORMATS else "table"


def _format_given(ctx, param, value):
    if ctx.meta.get(_JSON_FIELDS) is None:
        return value
    source = ctx.get_parameter_source(param.name)
    if source is not None and source.name == "COMMANDLINE" and value != "json":
        raise click.BadParameter("--json prints JSON: give --json or --format, not both")
    return "json"


def _json_option(fields: tuple):
    def given(ctx, param, value):
        if value is None:
            return None
        if not value.strip():
            # `--json` alone: which keys there are, as gh lists them.
            click.echo("\n".join(fields))
            ctx.exit(0)
        picked = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in picked if name not in fields]
        if unknown:
            raise click.BadParameter(
                f"unknown field {unknown[0]!r}: use some of {', '.join(fields)}"
            )
        ctx.meta[_JSON_FIELDS] = list(dict.fromkeys(picked))
        return None

    return click.option(
        "--json",
        "json_fields",
        metavar="FIELDS",
        is_flag=False,
        flag_value="",
        default=None,
        expose_value=False,
        is_eager=True,
        callback=given,
        help="JSON with only these keys, comma-separated (alone: list the keys)",
    )


def format_option(func=None, *, fields: tuple | None = None):
    """`--format table|json|csv` (default: `format` in the config file, else table) and, when the
    shape's keys are given, `--json FIELDS`. Use as `@format_option` or
    `@format_option(fields=shapes.TICKET)`."""

    def decorate(f):
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=_default_format,
            show_default="table",
            callback=_format_given,
            help="table for people; json or csv for scripts",
        )(f)
        return _json_option(tuple(fields))(f) if fields is not None else f

    return decorate(func) if func is not None else decorate


def json_fields() -> list[str] | None:
    """The keys `--json FIELDS` picked for this command, or None."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_JSON_FIELDS) if ctx is not None else None


class Limit(click.ParamType):
    """`--limit N`: 0 for all, else at most N; beyond the range (or not a number) is bad input,
    exit 2, like any other."""

    name = "integer"
    MAX = 1_000_000_000

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]+", text):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        number = int(text)
        if number < 0 or number > self.MAX:
            self.fail(f"use 0 (all) up to {self.MAX}", param, ctx)
        return number


LIMIT = Limit()


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
    picked = json_fields()
    if fmt == "json":
        if picked is not None:
            rows = [{key: row.get(key) for key in picked} for row in rows]
        page(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(fields))
        writer.writerows([[_csv_cell(row.get(key)) for key in fields] for row in rows])
        click.echo(buffer.getvalue(), nl=False)
    else:
        if not rows:
            from tix import language, messages

            click.echo(messages.text("none", language.choose(_user_lang())))
            return
        from tabulate import tabulate

        table = [[_cell(row.get(c)) for c in columns] for row in rows]
        page(tabulate(table, headers=headers or columns, tablefmt="simple"))


def _user_lang() -> str | None:
    """The signed-in person's language setting, if a command has one (tix.cli sets it)."""
    ctx = click.get_current_context(silent=True)
    known = ctx.meta.get("tix.user_lang") if ctx is not None else None
    try:
        return known() if callable(known) else known
    except Exception:  # a server that cannot say: the machine's language will do
        return None


# A cell a spreadsheet would run as a formula (=, +, -, @; tab and CR too) gets a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    if isinstance(value, list):
        value = " ".join(str(item) for item in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def emit_object(obj: dict, fmt: str, human, *, flat: dict | None = None) -> None:
    """One object: JSON for scripts, CSV as one row (`flat`, else its keys without the nested
    lists), or `human(obj)` for people."""
    picked = json_fields()
    if fmt == "json":
        if picked is not None:
            obj = {key: obj.get(key) for key in picked}
        page(json.dumps(obj, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        if flat is None:
            flat = {k: v for k, v in obj.items() if not isinstance(v, (list, dict))}
        emit_rows([flat], list(flat), "csv", fields=list(flat))
    else:
        human(obj)


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    text = printable(str(value), keep_lines=False)
    return text if len(text) <= 60 else text[:57] + "..."


# What must not reach a terminal as it is: C0 and C1 controls (escape sequences, bell, a
# carriage return that hides a line), and the invisible characters that reorder or hide text:
# bidi embeddings, overrides and isolates, line and paragraph separators, zero-width characters.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_CONTROL_OR_LINE = re.compile(f"[\t\n{_CONTROL.pattern[1:-1]}]")


def _escape(match) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_lines: bool = True) -> str:
    """Text from customers made safe for a terminal: what _CONTROL matches is shown as \\xNN or
    \\uNNNN, so nobody's message can clear, retitle or rewrite an agent's screen or make text
    read in another order than it is stored. `keep_lines`: newlines and tabs stay (a message's
    body); else they are escaped too (a table cell, a history line). JSON keeps the text."""
    text = text.replace("\r\n", "\n")
    return (_CONTROL if keep_lines else _CONTROL_OR_LINE).sub(_escape, text)


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
    line = lambda text: printable(text, keep_lines=False)  # noqa: E731
    out = [
        click.style(line(f"{obj['code']}  {obj['subject']}"), bold=True),
        line(
            f"status {obj['status']} · priority {obj['priority']} · {obj['department_name']} · "
            f"account {obj['account']} · assignee {obj['assignee'] or '-'}"
        ),
        f"opened {obj['created_at']} · updated {obj['updated_at']}"
        + (f" · closed ({obj['close_reason']})" if obj.get("closed_at") else ""),
    ]
    for message in obj["messages"]:
        label = " [internal note]" if message["internal"] else ""
        out.append("")
        out.append(
            click.style(
                line(f"--- {message['author']} · {message['created_at']}{label}"),
                fg="yellow" if label else None,
            )
        )
        out.append(printable(message["body"]))
    if obj["attachments"]:
        out.append("\nattachments:")
        for item in obj["attachments"]:
            out.append(
                line(
                    f"  #{item['id']} {item['filename']} ({item['size']} bytes, "
                    f"{item['content_type']})"
                )
            )
    if obj.get("diagnosis"):
        out += ["", *diagnosis_lines(obj["diagnosis"], lang)]
    if obj.get("held"):
        out.append("\nheld by mail-in (nothing proved the sender; not filed):")
        for item in obj["held"]:
            out.append(printable(held_line(item, with_target=False), keep_lines=False))
    if obj.get("events") is not None:
        out.append("\nhistory:")
        for event in obj["events"]:
            change = ""
            if event["before"] and event["after"]:
                change = f" {_compact(event['before'])} -> {_compact(event['after'])}"
            elif event["before"] or event["after"]:
                change = f" {_compact(event['before'] or event['after'])}"
            out.append(line(f"  {event['at']}  {event['actor']}  {event['kind']}{change}"))
    page("\n".join(out))


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


def show_fields(obj: dict) -> None:
    """The human view of one record (`tix admin ... show`): `key: value` lines, a nested list
    of records as a table under its key."""
    out = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            columns = list(value[0])
            table = [[_cell(row.get(c)) for c in columns] for row in value]
            out += [f"{key}:", _simple(table, columns)]
        else:
            out.append(f"{key}: {_cell(value)}")
    page("\n".join(out))


def _simple(table: list[list[str]], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(table, headers=headers, tablefmt="simple")
