"""Setting up the desk: the first admin, departments, agents, accounts, contacts, services,
tokens. Admin-only except `init`, which runs on an empty store."""

import re

import peewee as pw

from tix import auth, clock, migrations
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed, NotFound
from tix.models import (
    LANGS,
    SERVICE_KINDS,
    Account,
    Agent,
    AgentDepartment,
    Contact,
    Department,
    Service,
)
from tix.store import transaction
from tix.tickets import department_by_slug

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def check_email(email: str) -> str:
    value = (email or "").strip()
    if len(value) > 254 or not EMAIL.match(value):
        raise InvalidInput(f"{email!r} is not an email address")
    return value.lower()


def check_slug(slug: str, what: str = "handle") -> str:
    value = (slug or "").strip().lower()
    if not SLUG.match(value):
        raise InvalidInput(f"{what} {slug!r}: use 1-40 lowercase letters, digits, '-' or '_'")
    return value


def check_name(name: str, what: str = "name") -> str:
    value = (name or "").strip()
    if not value or len(value) > 120 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{what} must be 1-120 characters of one line")
    return value


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidInput(f"language {lang!r}: use es or en")
    return lang


def _email_in_use(email: str) -> bool:
    return (
        Agent.select().where(pw.fn.LOWER(Agent.email) == email).exists()
        or Contact.select().where(pw.fn.LOWER(Contact.email) == email).exists()
    )


def init(db, admin_email: str, admin_name: str) -> tuple[Agent, str]:
    """Create the schema and a first admin (in every department); returns the admin's token."""
    admin_email, admin_name = check_email(admin_email), check_name(admin_name)
    migrations.upgrade(db)
    with transaction(db):
        if Agent.select().where(Agent.is_admin == True).exists():
            raise NotAllowed(
                "this store already has an admin: ask them for a token (`tix admin token issue`)"
            )
        agent = Agent.create(
            email=admin_email, name=admin_name, is_admin=True, created_at=clock.now()
        )
        for dept in Department.select():
            AgentDepartment.create(agent=agent, department=dept)
        token = auth.issue_token(agent=agent)
    return agent, token


def add_department(
    principal: Principal, slug: str, name: str, name_es: str | None = None, email: str | None = None
) -> Department:
    principal.require_admin()
    slug, name = check_slug(slug, "department"), check_name(name)
    with transaction():
        if Department.select().where(Department.slug == slug).exists():
            raise InvalidInput(f"department {slug!r} already exists")
        return Department.create(
            slug=slug,
            name_en=name,
            name_es=check_name(name_es) if name_es else name,
            email=check_email(email) if email else None,
            created_at=clock.now(),
        )


def set_department_email(principal: Principal, slug: str, email: str | None) -> Department:
    """The address whose mail `tix-jobs mail-in` files as new tickets in this department
    (None: no address). Two departments cannot share one."""
    principal.require_admin()
    email = check_email(email) if email else None
    with transaction():
        dept = department_by_slug(slug)
        if (
            email
            and Department.select()
            .where(pw.fn.LOWER(Department.email) == email, Department.id != dept.id)
            .exists()
        ):
            raise InvalidInput(f"{email} is already another department's address")
        Department.update(email=email).where(Department.id == dept.id).execute()
        dept.email = email
    return dept


def list_departments(principal: Principal) -> list[Department]:
    principal.require_admin()
    return list(Department.select().order_by(Department.id))


def add_agent(
    principal: Principal,
    email: str,
    name: str,
    departments: list[str],
    is_admin: bool = False,
    lang: str = "en",
) -> Agent:
    principal.require_admin()
    email, name, lang = check_email(email), check_name(name), check_lang(lang)
    if not departments:
        raise InvalidInput("an agent needs at least one --department")
    with transaction():
        depts = [department_by_slug(slug) for slug in departments]
        if _email_in_use(email):
            raise InvalidInput(f"{email} is already an agent or a contact")
        agent = Agent.create(
            email=email, name=name, is_admin=is_admin, lang=lang, created_at=clock.now()
        )
        for dept in {d.id: d for d in depts}.values():
            AgentDepartment.create(agent=agent, department=dept)
    return agent


def add_account(
    principal: Principal,
    handle: str,
    name: str,
    owner_email: str,
    owner_name: str | None = None,
    reseller: str | None = None,
    lang: str = "en",
    is_reseller: bool = False,
) -> Account:
    principal.require_admin()
    handle, name = check_slug(handle), check_name(name)
    owner_email, lang = check_email(owner_email), check_lang(lang)
    owner_name = check_name(owner_name, "owner name") if owner_name else name
    with transaction():
        if Account.select().where(Account.handle == handle).exists():
            raise InvalidInput(f"account {handle!r} already exists")
        parent = None
        if reseller:
            parent = Account.get_or_none(Account.handle == check_slug(reseller))
            if parent is None:
                raise NotFound(f"no account {reseller!r}")
            if not parent.is_reseller:
                raise InvalidInput(f"account {reseller!r} is not a reseller")
        if _email_in_use(owner_email):
            raise InvalidInput(f"{owner_email} is already an agent or a contact")
        now = clock.now()
        account = Account.create(
            handle=handle,
            name=name,
            is_reseller=is_reseller,
            reseller=parent,
            lang=lang,
            created_at=now,
        )
        Contact.create(
            account=account,
            email=owner_email,
            name=owner_name,
            is_owner=True,
            ticket_emails=True,
            lang=lang,
            created_at=now,
        )
    return account


def account_by_handle(handle: str) -> Account:
    account = Account.get_or_none(Account.handle == (handle or "").strip().lower())
    if account is None:
        raise NotFound(f"no account {handle!r}")
    return account


def add_contact(
    principal: Principal,
    handle: str,
    email: str,
    name: str,
    ticket_emails: bool = True,
    can_login: bool = True,
    lang: str | None = None,
) -> Contact:
    principal.require_admin()
    email, name = check_email(email), check_name(name)
    with transaction():
        account = account_by_handle(handle)
        if _email_in_use(email):
            raise InvalidInput(f"{email} is already an agent or a contact")
        return Contact.create(
            account=account,
            email=email,
            name=name,
            ticket_emails=ticket_emails,
            can_login=can_login,
            lang=check_lang(lang or account.lang),
            created_at=clock.now(),
        )


def add_service(
    principal: Principal,
    handle: str,
    name: str,
    kind: str = "hosting",
    server_ip: str | None = None,
    mail_host: str | None = None,
) -> Service:
    principal.require_admin()
    if kind not in SERVICE_KINDS:
        raise InvalidInput(f"service kind {kind!r}: use one of {', '.join(SERVICE_KINDS)}")
    name = check_name(name, "service name").lower()
    if server_ip is not None:
        import ipaddress

        try:
            server_ip = str(ipaddress.ip_address(server_ip.strip()))
        except ValueError:
            raise InvalidInput(f"--server-ip {server_ip!r} is not an IP address") from None
    if mail_host is not None:
        mail_host = check_name(mail_host, "mail host").lower().rstrip(".")
    with transaction():
        account = account_by_handle(handle)
        if Service.select().where(Service.account == account, Service.name == name).exists():
            raise InvalidInput(f"account {account.handle} already has service {name!r}")
        return Service.create(
            account=account,
            name=name,
            kind=kind,
            server_ip=server_ip,
            mail_host=mail_host,
            created_at=clock.now(),
        )


def _person(email: str) -> tuple[Agent | None, Contact | None]:
    email = check_email(email)
    agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == email)
    if agent:
        return agent, None
    contact = Contact.get_or_none(pw.fn.LOWER(Contact.email) == email)
    if contact:
        return None, contact
    raise NotFound(f"no agent or contact {email}")


def issue_token(principal: Principal, email: str) -> str:
    principal.require_admin()
    with transaction():
        agent, contact = _person(email)
        person = agent or contact
        if not person.active:
            kind = "agent" if agent else "contact"
            raise NotAllowed(
                f"{person.email} is deactivated: `tix admin {kind} reactivate {person.email}` first"
            )
        if contact is not None and not contact.can_login:
            raise NotAllowed(
                f"{contact.email} may not log in: allow it with "
                f"`tix admin contact edit {contact.email} --login`"
            )
        return auth.issue_token(agent=agent, contact=contact)


def revoke_token(principal: Principal, email: str) -> int:
    principal.require_admin()
    with transaction():
        agent, contact = _person(email)
        return auth.revoke_tokens(agent=agent, contact=contact)
