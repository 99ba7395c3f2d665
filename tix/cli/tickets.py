"""The ticket commands: create, list, show, reply, reassign, status, close, reopen, attachment.
Each reads its options, calls one service function, and prints what it returns."""

import sys

import click

from tix import language, messages, output
from tix.cli import drafts
from tix.cli.completion import complete_departments, complete_settable_statuses
from tix.cli.plumbing import (
    EXIT_OTHER,
    FilePath,
    attach_option,
    code_argument,
    read_attachments,
    read_body,
    signed_in,
    ticket_filters,
)
from tix.errors import InvalidInput, TixError
from tix.service import shapes


@click.command()
@click.option(
    "--department",
    "-d",
    required=True,
    shell_complete=complete_departments,
    help="hosting, email, domains, billing, sales, administration",
)
@click.option(
    "--priority",
    "-p",
    default="medium",
    show_default=True,
    type=click.Choice(["low", "medium", "high", "emergency"]),
)
@click.option("--subject", "-s", required=True)
@click.option("-m", "--message", help="the body (else stdin, else $EDITOR)")
@drafts.recover_option
@click.option("--service", help="the hosting account or domain this is about")
@click.option("--account", help="the customer's HANDLE (agents and resellers)")
@attach_option
@click.option("--quiet", "-q", is_flag=True, help="print the new code alone")
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="file without asking about the ticket assistant's findings (they go to stderr)",
)
@click.option(
    "--ask",
    is_flag=True,
    help="ask about the findings even when stdin is not a terminal (needs -m)",
)
@click.option(
    "--fix", is_flag=True, help="apply every fix the account check offers, without asking"
)
@output.format_option(fields=shapes.TICKET_CREATED)
@signed_in
def create(
    desk,
    department,
    priority,
    subject,
    message,
    recover,
    service,
    account,
    attach,
    quiet,
    yes,
    ask,
    fix,
    fmt,
):
    """Open a ticket. The ticket assistant checks it first (which domain? which address? the
    exact error?); on a terminal it shows what it found and asks: go on, edit, or cancel.

    Everything but the body is checked before $EDITOR opens; if the ticket is still not filed,
    what you wrote is kept in a file for `--recover FILE`."""
    files = read_attachments(attach)
    stdin_is_terminal = sys.stdin.isatty()
    if yes and ask:
        raise InvalidInput("--yes and --ask contradict each other: give one")
    if ask and message is None and recover is None and not stdin_is_terminal:
        raise InvalidInput("--ask reads your answers from stdin: give the body with -m")
    body = drafts.given_body(message, recover)  # None: $EDITOR, once the rest is checked
    # Everything that can be refused is refused here, once, before the assistant's questions.
    new = desk.prepare_ticket(
        department=department,
        priority=priority,
        subject=subject,
        body=body,
        account=account,
        service=service,
        attachments=files,
    )
    lang = language.choose(desk.lang)
    again = ["tix", "create", "-d", department, "-s", subject if len(subject) <= 100 else "SUBJECT"]
    again += ["-p", priority] if priority != "medium" else []
    again += ["--account", account] if account else []
    again += ["--service", service] if service else []
    with drafts.kept(lang, again) as draft:
        if body is None:
            new = new.with_body(draft.edit())
        interactive = ask or (stdin_is_terminal and not yes)
        new, review = review_before_filing(desk, new, interactive, draft)
        if review.findings and not interactive:
            click.echo("\n".join([review.heading(), *review.lines()]), err=True)
        created = desk.file_ticket(new, review)
    if quiet:
        click.echo(created["code"])
        click.echo("\n".join(output.diagnosis_lines(created["diagnosis"], desk.lang)), err=True)
    else:
        said = messages.text(
            "created",
            lang,
            code=created["code"],
            subject=output.printable(created["subject"], keep_lines=False),
            department=created["department_name"],
            priority=created["priority"],
        )
        output.emit_object(
            created,
            fmt,
            lambda o: click.echo(
                "\n".join([said, *output.diagnosis_lines(o["diagnosis"], desk.lang)])
            ),
        )
    offer_fixes(desk, created, consent="all" if fix else ("ask" if interactive else "none"))


FIX_PROMPT = {"en": "Apply this fix now?", "es": "¿Aplicar esta corrección ahora?"}


def offer_fixes(desk, created: dict, *, consent: str) -> None:
    """The account check's fixes for a new ticket, applied only with consent: each asked on a
    terminal, all with --fix, none otherwise (they stay listed in `tix show`)."""
    for fix in (created["diagnosis"] or {}).get("fixes", []):
        if consent == "none":
            continue
        if consent == "ask":
            click.echo(f"fix #{fix['fix']}: {fix['text']}", err=True)
            if not click.confirm(FIX_PROMPT.get(desk.lang, FIX_PROMPT["en"]), default=False):
                continue
        apply_one(desk, created["code"], fix["fix"])


def apply_one(desk, code: str, number: int) -> bool:
    """Apply one fix; a failure is a warning, never a reason to lose the ticket."""
    from tix.errors import TixError

    try:
        done = desk.apply_fix(code, number)
    except TixError as exc:
        click.echo(f"tix: warning: fix #{number} not applied: {exc}", err=True)
        return False
    click.echo(f"fixed: {done['done']}", err=True)
    return True


ASSISTANT_PROMPT = {
    "en": "Go on, edit the message, or cancel? (g/e/c)",
    "es": "¿Seguir, editar el mensaje o cancelar? (s/e/c)",
}
ASSISTANT_ANSWERS = {
    **dict.fromkeys(("g", "go", "s", "seguir", "y", "yes"), "go"),
    **dict.fromkeys(("e", "edit", "editar"), "edit"),
    **dict.fromkeys(("c", "cancel", "cancelar", "n", "no"), "cancel"),
}


def _assistant_answer(text: str) -> str:
    answer = ASSISTANT_ANSWERS.get(text.strip().lower())
    if answer is None:
        raise click.BadParameter("answer g (go on), e (edit) or c (cancel)")
    return answer


def review_before_filing(desk, new, interactive: bool, draft=None):
    """Run the ticket assistant's checks; on a terminal, show the findings and let the user go
    on, edit the body (then check again) or cancel. Returns (the draft, its review). `draft`
    (tix.cli.drafts) keeps what the user types, should the ticket not be filed."""
    # The assistant's dialogue speaks the language of its findings: the filer's own.
    lang = "es" if desk.lang == "es" else "en"
    while True:
        review = desk.review_ticket(new)
        if not review.findings or not interactive:
            break
        click.echo("\n".join([review.heading(), *review.lines()]))
        answer = click.prompt(
            ASSISTANT_PROMPT[lang],
            default="s" if lang == "es" else "g",
            value_proc=_assistant_answer,
        )
        if answer == "go":
            break
        if answer == "cancel":
            click.echo(messages.text("cancelled", lang), err=True)
            click.get_current_context().exit(EXIT_OTHER)
        edited = click.edit(new.body)
        if edited is not None and edited.strip():
            if draft is not None:
                draft.text = edited
            new = new.with_body(edited)
    for problem in review.problems:
        click.echo(f"tix: warning: {problem}", err=True)
    return new, review


@click.command(name="list")
@ticket_filters
@output.format_option(fields=shapes.TICKET)
@signed_in
def list_command(desk, fmt, **filters):
    """List tickets: the queue (agents, by priority then age) or your history (newest first).

    30 at most unless --limit says otherwise (0: all); a line on stderr says when there are more."""
    print_tickets(desk, fmt, **filters)


def print_tickets(desk, fmt, *, status=(), limit=None, **filters) -> None:
    """What `tix list` and `tix search` print: one page of tickets, and whether more exist."""
    rows, more = desk.list_page(statuses=list(status), limit=limit, **filters)
    output.emit_rows(rows, output.TICKET_COLUMNS, fmt, fields=shapes.TICKET)
    say_if_more(desk, more, limit)


def say_if_more(desk, more: bool, limit: int) -> None:
    if more:
        line = messages.text("more", language.choose(desk.lang), count=limit)
        click.echo(f"tix: {line}", err=True)


@click.command()
@code_argument
@click.option("--history", is_flag=True, help="add the event log")
@output.format_option(fields=(*shapes.TICKET_DETAIL, "events"))
@signed_in
def show(desk, code, history, fmt):
    """Show a ticket and its whole thread."""
    history = history or "events" in (output.json_fields() or ())
    shown = desk.show_ticket(code, history=history)
    output.emit_object(shown, fmt, lambda o: output.show_ticket(o, desk.lang))


@click.command()
@code_argument
@click.option("-m", "--message", help="the reply (else stdin, else $EDITOR)")
@drafts.recover_option
@click.option(
    "--internal", is_flag=True, help="an internal note: agents only, never sent to the customer"
)
@click.option(
    "--template",
    "template_name",
    metavar="NAME",
    help="a canned reply (`tix template list`), in the customer's language",
)
@attach_option
@signed_in
def reply(desk, code, message, recover, internal, template_name, attach):
    """Reply to a ticket (or add an internal note).

    What would be refused is refused before $EDITOR opens; if the reply still fails, what you
    wrote is kept in a file for `tix reply CODE --recover FILE`."""
    plan = desk.plan_reply(
        code,
        internal=internal,
        template=template_name,
        message_given=message is not None or recover is not None,
    )
    files = read_attachments(attach)
    body = plan.template_body
    if body is None:
        body = drafts.given_body(message, recover)
    lang = language.choose(desk.lang)
    again = ["tix", "reply", plan.code] + (["--internal"] if internal else [])
    with drafts.kept(lang, again) as draft:
        if body is None:
            body = draft.edit()
        done = desk.reply(plan, body, attachments=files)
    said = "noted" if internal else "replied"
    click.echo(messages.text(said, lang, code=done["code"], status=done["status"]))


@click.command()
@code_argument
@click.option(
    "--department", "-d", shell_complete=complete_departments, help="move to this department"
)
@click.option("--agent", help="assign to this agent's email, or `none`")
@click.option("--priority", "-p", help="low, medium, high or emergency")
@signed_in
def reassign(desk, code, department, agent, priority):
    """Move a ticket to another department or technician, or change its priority (agents)."""
    t = desk.reassign(code, department=department, agent=agent, priority=priority)
    click.echo(
        f"{t['code']}: {t['department']}, {t['priority']}, assignee {t['assignee'] or 'none'}"
    )


@click.command()
@code_argument
@click.argument("status", shell_complete=complete_settable_statuses)
@signed_in
def status(desk, code, status):
    """Set a ticket in-progress or on-hold (agents)."""
    done = desk.set_status(code, status)
    click.echo(f"{done['code']} is now {done['status']}")


@click.command()
@code_argument
@signed_in
def close(desk, code):
    """Close a ticket (it can be reopened later)."""
    done = desk.close(code)
    click.echo(messages.text("closed", language.choose(desk.lang), code=done["code"]))


@click.command()
@code_argument
@click.option("-m", "--message", help="say why (optional)")
@signed_in
def reopen(desk, code, message):
    """Reopen a closed ticket."""
    done = desk.reopen(code, read_body(message, required=False))
    click.echo(messages.text("reopened", language.choose(desk.lang), code=done["code"]))


@click.group()
def attachment():
    """Files attached to tickets."""


@attachment.command(name="get")
@code_argument
@click.argument("attachment_id", type=int)
@click.option(
    "-o",
    "--output",
    "target",
    type=FilePath(dir_okay=False, writable=True),
    help="write here (default: the attachment's name in the current folder; - for stdout)",
)
@signed_in
def attachment_get(desk, code, attachment_id, target):
    """Save an attachment (its id is listed by `tix show`)."""
    from pathlib import Path

    item = desk.attachment(code, attachment_id)
    data = item["data"]
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target or Path(item["filename"]).name)
    if target is None and path.exists():
        raise InvalidInput(f"{path} exists: choose another name with -o")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise TixError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"saved {path} ({len(data)} bytes)")


@click.command(name="fix")
@code_argument
@click.argument("number", type=int)
@signed_in
def fix_command(desk, code, number):
    """Apply fix NUMBER that the account check offered for a ticket (`tix show` lists them)."""
    click.echo(f"fixed: {desk.apply_fix(code, number)['done']}")


@click.command()
@code_argument
@output.format_option
@signed_in
def diagnose(desk, code, fmt):
    """Run the account check of a ticket's services again and keep the results (agents)."""
    found = desk.rediagnose(code)
    output.emit_object(found, fmt, lambda o: click.echo("\n".join(output.diagnosis_lines(o))))


COMMANDS = [
    create,
    list_command,
    show,
    reply,
    reassign,
    status,
    close,
    reopen,
    attachment,
    fix_command,
    diagnose,
]
