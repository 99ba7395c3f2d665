"""Who is acting: tokens (hashed at rest) and the principal they name. Where a user keeps
their token is tix/credentials.py."""

import hashlib
import hmac
from dataclasses import dataclass

import peewee as pw

from tix import clock
from tix.credentials import load_token
from tix.errors import NotAllowed, NotLoggedIn
from tix.models import Account, Agent, Contact, Token
from tix.store import dialect, set_identity, token_locator

TOKEN_PREFIX = "tix_"


@dataclass(frozen=True)
class Principal:
    """The person a command acts as: exactly one of agent or contact."""

    agent: Agent | None = None
    contact: Contact | None = None

    @property
    def is_agent(self) -> bool:
        return self.agent is not None

    @property
    def is_admin(self) -> bool:
        return self.agent is not None and self.agent.is_admin

    @property
    def email(self) -> str:
        return (self.agent or self.contact).email

    @property
    def name(self) -> str:
        return (self.agent or self.contact).name

    @property
    def lang(self) -> str:
        return (self.agent or self.contact).lang

    @property
    def role(self) -> str:
        if self.agent:
            return "admin" if self.agent.is_admin else "agent"
        return "reseller" if self.contact.account.is_reseller else "customer"

    @property
    def actor(self) -> str:
        """How this principal is written in the event log."""
        return f"{'agent' if self.agent else 'contact'}:{self.email}"

    def visible_account_ids(self) -> set[int] | None:
        """None means every account (agents); otherwise the accounts this contact may see."""
        if self.agent:
            return None
        account = self.contact.account
        ids = {account.id}
        if account.is_reseller:
            ids.update(a.id for a in Account.select(Account.id).where(Account.reseller == account))
        return ids

    def can_see_account(self, account_id: int) -> bool:
        visible = self.visible_account_ids()
        return visible is None or account_id in visible

    def require_agent(self, what: str) -> None:
        if not self.agent:
            raise NotAllowed(f"only agents can {what}")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed("only admins can do this")


def hash_token(token: str) -> str:
    # surrogatepass: a token from undecodable bytes is just a wrong token (exit 4), not a crash.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    import secrets  # only commands that issue a token pay for importing it

    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(agent: Agent | None = None, contact: Contact | None = None) -> str:
    """Create a token for one person; the clear text is returned once and never stored."""
    db = Token._meta.database.obj
    if dialect(db) == "postgresql":
        # Made by the database (migration 0010): its hash in an INSERT would be readable by
        # other sessions of the same login in pg_stat_activity.
        return db.execute_sql(
            "SELECT tix_issue_token(%s, %s)",
            (agent.id if agent else None, contact.id if contact else None),
        ).fetchone()[0]
    token = new_token()
    Token.create(token_hash=hash_token(token), agent=agent, contact=contact, created_at=clock.now())
    return token


def revoke_tokens(agent: Agent | None = None, contact: Contact | None = None) -> int:
    query = Token.update(revoked_at=clock.now()).where(Token.revoked_at.is_null())
    if agent is not None:
        query = query.where(Token.agent == agent)
    else:
        query = query.where(Token.contact == contact)
    return query.execute()


def _is_token(digest: str):
    """The row of this hash. On PostgreSQL looked up by its locator: the statement's text is
    visible to other sessions of the same login, and the hash is a credential there."""
    if dialect(Token._meta.database.obj) == "postgresql":
        stored = pw.fn.encode(pw.fn.sha256(pw.fn.decode(Token.token_hash, "hex")), "hex")
        return stored == token_locator(digest)
    return Token.token_hash == digest


def principal_for_token(token: str) -> Principal:
    token = (token or "").strip()
    digest = hash_token(token)
    # On PostgreSQL as the application role, the policies show only this token's own rows, and
    # only in a transaction that names it (tix.store.transaction sets it from here on).
    set_identity(digest)
    row = Token.get_or_none(_is_token(digest))
    # The lookup is by hash; compare_digest keeps the final check constant-time all the same.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at:
        raise NotLoggedIn.said("token-not-valid")
    if row.agent_id:
        # None: row-level security hides a deactivated agent from their own token.
        agent = Agent.get_or_none(Agent.id == row.agent_id)
        if agent is None or not agent.active:
            raise NotLoggedIn("this agent is deactivated")
        return Principal(agent=agent)
    contact = (
        Contact.select(Contact, Account).join(Account).where(Contact.id == row.contact_id).first()
    )
    if contact is None or not contact.can_login or not contact.active:
        raise NotLoggedIn("this contact may not log in")
    return Principal(contact=contact)


def current_principal(url: str) -> Principal:
    token = load_token(url)
    if not token:
        raise NotLoggedIn.said("not-logged-in")
    return principal_for_token(token)
