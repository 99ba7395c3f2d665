"""Peewee models mirroring the SQL migrations in sql/ (a test proves they agree).

The schema itself is owned by the migrations; these classes never create tables.
"""

import peewee as pw

# A proxy so one set of models serves SQLite and PostgreSQL; tix.store binds it.
database_proxy = pw.DatabaseProxy()

PRIORITIES = ("low", "medium", "high", "emergency")
STATUSES = ("open", "answered", "customer-reply", "in-progress", "on-hold", "closed")
LANGS = ("en", "es")
SERVICE_KINDS = ("hosting", "domain", "email")


class PriorityField(pw.SmallIntegerField):
    """Stored as 1..4 so the queue index sorts by urgency; read and written as names."""

    def db_value(self, value):
        if value is None:
            return None
        return PRIORITIES.index(value) + 1

    def python_value(self, value):
        if value is None:
            return None
        return PRIORITIES[int(value) - 1]


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Department(BaseModel):
    slug = pw.TextField(unique=True)
    name_en = pw.TextField()
    name_es = pw.TextField()
    email = pw.TextField(null=True)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "departments"

    def display_name(self, lang: str = "en") -> str:
        return self.name_es if lang == "es" else self.name_en


class Agent(BaseModel):
    email = pw.TextField(unique=True)
    name = pw.TextField()
    is_admin = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    lang = pw.TextField(default="en")
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "agents"


class AgentDepartment(BaseModel):
    agent = pw.ForeignKeyField(Agent, column_name="agent_id", backref="department_links")
    department = pw.ForeignKeyField(Department, column_name="department_id")

    class Meta:
        table_name = "agent_departments"
        primary_key = pw.CompositeKey("agent", "department")


class Account(BaseModel):
    handle = pw.TextField(unique=True)
    name = pw.TextField()
    is_reseller = pw.BooleanField(default=False)
    reseller = pw.ForeignKeyField("self", column_name="reseller_id", null=True, backref="clients")
    lang = pw.TextField(default="en")
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "accounts"


class Contact(BaseModel):
    account = pw.ForeignKeyField(Account, column_name="account_id", backref="contacts")
    email = pw.TextField(unique=True)
    name = pw.TextField()
    is_owner = pw.BooleanField(default=False)
    ticket_emails = pw.BooleanField(default=True)
    can_login = pw.BooleanField(default=True)
    lang = pw.TextField(default="en")
    created_at = pw.DateTimeField()
    # Migration 0012: a deactivated contact neither logs in nor writes by email, nor is mailed.
    active = pw.BooleanField(default=True)

    class Meta:
        table_name = "contacts"


class Service(BaseModel):
    account = pw.ForeignKeyField(Account, column_name="account_id", backref="services")
    name = pw.TextField()
    kind = pw.TextField()
    created_at = pw.DateTimeField()
    server_ip = pw.TextField(null=True)  # the account's server (ours), for the account check
    mail_host = pw.TextField(null=True)  # where its mail is read and sent (IMAP, submission)

    class Meta:
        table_name = "services"


class Token(BaseModel):
    token_hash = pw.TextField(unique=True)
    agent = pw.ForeignKeyField(Agent, column_name="agent_id", null=True)
    contact = pw.ForeignKeyField(Contact, column_name="contact_id", null=True)
    created_at = pw.DateTimeField()
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "tokens"


class Ticket(BaseModel):
    code = pw.TextField(unique=True)
    subject = pw.TextField()
    department = pw.ForeignKeyField(Department, column_name="department_id")
    priority = PriorityField()
    status = pw.TextField()
    account = pw.ForeignKeyField(Account, column_name="account_id")
    contact = pw.ForeignKeyField(Contact, column_name="contact_id")
    service = pw.ForeignKeyField(Service, column_name="service_id", null=True)
    assignee = pw.ForeignKeyField(Agent, column_name="assignee_id", null=True)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    last_customer_activity_at = pw.DateTimeField(null=True)
    last_agent_reply_at = pw.DateTimeField(null=True)
    waiting_since = pw.DateTimeField(null=True)
    reminded_at = pw.DateTimeField(null=True)
    reminder_delivered_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    closed_by = pw.TextField(null=True)
    close_reason = pw.TextField(null=True)
    # Set when `tix merge` closed this ticket into another (migration 0005).
    merged_into = pw.ForeignKeyField("self", column_name="merged_into_id", null=True)

    class Meta:
        table_name = "tickets"


class Message(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", backref="messages")
    author_agent = pw.ForeignKeyField(Agent, column_name="author_agent_id", null=True)
    author_contact = pw.ForeignKeyField(Contact, column_name="author_contact_id", null=True)
    body = pw.TextField()
    internal = pw.BooleanField(default=False)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "messages"

    @property
    def author_email(self) -> str:
        author = self.author_agent or self.author_contact
        return author.email if author else "system"


class Attachment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", backref="attachments")
    message = pw.ForeignKeyField(Message, column_name="message_id", null=True)
    filename = pw.TextField()
    content_type = pw.TextField()
    size = pw.IntegerField()
    sha256 = pw.TextField()
    data = pw.BlobField()
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "attachments"


class Event(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", backref="events")
    at = pw.DateTimeField()
    actor = pw.TextField()
    kind = pw.TextField()
    before = pw.TextField(null=True)
    after = pw.TextField(null=True)

    class Meta:
        table_name = "events"


class Outbox(BaseModel):
    message_id = pw.TextField(unique=True)
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", null=True)
    kind = pw.TextField()
    recipient = pw.TextField()
    subject = pw.TextField()
    raw = pw.TextField()
    # pending, sending, sent, failed, dead, uncertain, or cancelled (a reminder whose wait ended
    # before it went out; migration 0007).
    status = pw.TextField(default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField()
    lease_until = pw.DateTimeField(null=True)
    claimed_by = pw.TextField(null=True)
    last_error = pw.TextField(null=True)
    # For reminders: the ticket's reminded_at this email belongs to, so a late delivery of an old
    # reminder never arms the auto-close of a newer wait.
    reminder_of = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField()
    sent_at = pw.DateTimeField(null=True)
    # Set while a delivery is being handed to the mail server (migration 0002): a lease that
    # expires with this set means "maybe delivered", so the row turns `uncertain`, never resent.
    attempt_started_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "outbox"


class SchemaMigration(BaseModel):
    version = pw.IntegerField(primary_key=True)
    name = pw.TextField()
    applied_at = pw.DateTimeField()

    class Meta:
        table_name = "schema_migrations"


# -- the agents' desk (migration 0005) --------------------------------------------------------


class ReplyTemplate(BaseModel):
    """A canned reply, one per name and language."""

    name = pw.TextField()
    lang = pw.TextField()
    body = pw.TextField()
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    updated_by = pw.TextField()

    class Meta:
        table_name = "reply_templates"
        indexes = ((("name", "lang"), True),)


class Watcher(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id")
    agent = pw.ForeignKeyField(Agent, column_name="agent_id")
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "watchers"
        primary_key = pw.CompositeKey("ticket", "agent")


class EscalationFiring(BaseModel):
    rule = pw.TextField()
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id")
    period_start = pw.DateTimeField()
    fired_at = pw.DateTimeField()

    class Meta:
        table_name = "escalation_firings"
        indexes = ((("rule", "ticket", "period_start"), True),)


# -- email in (migration 0004) ----------------------------------------------------------------


class InboundMail(BaseModel):
    """One message `tix-jobs mail-in` handled: what became of it, for deduplication and the
    per-sender flood limit."""

    message_id = pw.TextField(null=True, unique=True)
    sender = pw.TextField()
    received_at = pw.DateTimeField()
    outcome = pw.TextField()
    notified = pw.BooleanField(default=False)
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", null=True)

    class Meta:
        table_name = "inbound_mail"
        indexes = ((("sender", "received_at"), False),)


# -- email in a forger cannot use (migration 0013) ---------------------------------------------


class HeldMail(BaseModel):
    """A message mail-in kept without filing it: nothing proved its sender (no reply key, no
    trusted DMARC verdict). Filed only when that person answers the keyed "did you send this?"."""

    message_id = pw.TextField(null=True)
    sender = pw.TextField()  # the From address it claims, lower case
    received_at = pw.DateTimeField()
    kind = pw.TextField()  # "reply" (to `ticket`) or "new" (a ticket in `department`)
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", null=True)
    department = pw.ForeignKeyField(Department, column_name="department_id", null=True)
    contact = pw.ForeignKeyField(Contact, column_name="contact_id", null=True)
    agent = pw.ForeignKeyField(Agent, column_name="agent_id", null=True)
    subject = pw.TextField()
    reason = pw.TextField()
    raw = pw.BlobField()
    notified = pw.BooleanField(default=False)
    filed_at = pw.DateTimeField(null=True)
    filed_ticket = pw.ForeignKeyField(Ticket, column_name="filed_ticket_id", null=True, backref="+")

    class Meta:
        table_name = "held_mail"
        indexes = ((("ticket",), False),)


class ReplyKey(BaseModel):
    """The sha256 of a key one email carried (tix/replykeys.py): a reply bringing the key back
    is that person's, on that ticket (or, with `held`, confirms that held message)."""

    key_hash = pw.TextField(primary_key=True)
    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id", null=True)
    held = pw.ForeignKeyField(HeldMail, column_name="held_id", null=True)
    contact = pw.ForeignKeyField(Contact, column_name="contact_id", null=True)
    agent = pw.ForeignKeyField(Agent, column_name="agent_id", null=True)
    created_at = pw.DateTimeField()
    used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "reply_keys"


# -- the account check (migration 0011) ---------------------------------------------------------


class DiagnosisResult(BaseModel):
    """One result of an account check run for a ticket (tix/diagnosis/store.py writes them)."""

    ticket = pw.ForeignKeyField(Ticket, column_name="ticket_id")
    run_id = pw.TextField()
    at = pw.DateTimeField()
    check_id = pw.TextField()
    target = pw.TextField()
    status = pw.TextField()
    facts = pw.TextField(default="{}")  # JSON
    text_en = pw.TextField()
    text_es = pw.TextField()
    private = pw.BooleanField(default=False)
    fix = pw.TextField(null=True)  # JSON of a Fix, or NULL

    class Meta:
        table_name = "diagnosis_results"
        indexes = ((("ticket", "at"), False),)


ALL_MODELS = [
    Department,
    Agent,
    AgentDepartment,
    Account,
    Contact,
    Service,
    Token,
    Ticket,
    Message,
    Attachment,
    Event,
    Outbox,
    ReplyTemplate,
    Watcher,
    EscalationFiring,
    InboundMail,
    DiagnosisResult,
    HeldMail,
    ReplyKey,
]
