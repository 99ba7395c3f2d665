"""Looking after the people and accounts of the desk once they exist (admins): list, show, edit,
deactivate and reactivate agents and contacts; list, show and edit accounts; list services.
Adding them is tix.admin's.

A deactivated agent is sent no email and gets no ticket: the open tickets assigned to them go
back to their department's queue (`tix next`), and nobody can assign them one. A deactivated
contact can neither log in nor write by email, and is sent no ticket email."""

import peewee as pw

from tix import clock
from tix.admin import account_by_handle, check_lang, check_name, check_slug
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed, NotFound
from tix.models import Account, Agent, AgentDepartment, Contact, Department, Service, Ticket
from tix.store import transaction
from tix.tickets import UNCHANGED, department_by_slug
from tix.tickets.record import record_event

# -- agents -----------------------------------------------------------------------------------


def agent_by_email(email: str) -> Agent:
    agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == (email or "").strip().lower())
    if agent is None:
        raise NotFound(f"no agent {email!r}")
    return agent


def departments_of(agents: list[Agent]) -> dict[int, list[str]]:
    """agent id -> the slugs of their departments, in the desk's order (one query)."""
    result: dict[int, list[str]] = {a.id: [] for a in agents}
    links = (
        AgentDepartment.select(AgentDepartment.agent, Department.slug)
        .join(Department)
        .where(AgentDepartment.agent.in_([a.id for a in agents]))
        .order_by(Department.id)
        .tuples()
    )
    for agent_id, slug in links:
        result[agent_id].append(slug)
    return result


def list_agents(principal: Principal) -> list[Agent]:
    principal.require_admin()
    return list(Agent.select().order_by(Agent.email))


def get_agent(principal: Principal, email: str) -> Agent:
    principal.require_admin()
    return agent_by_email(email)


def edit_agent(
    principal: Principal,
    email: str,
    *,
    name: str | None = None,
    lang: str | None = None,
    add_departments: tuple = (),
    remove_departments: tuple = (),
) -> Agent:
    principal.require_admin()
    if name is None and lang is None and not add_departments and not remove_departments:
        raise InvalidInput("nothing to change: give --name, --lang or a department to add/remove")
    name = check_name(name) if name is not None else None
    lang = check_lang(lang) if lang is not None else None
    with transaction():
        agent = agent_by_email(email)
        adding = [department_by_slug(slug) for slug in add_departments]
        removing = [department_by_slug(slug) for slug in remove_departments]
        current = {link.department_id for link in agent.department_links}
        wanted = (current | {d.id for d in adding}) - {d.id for d in removing}
        if not wanted:
            raise InvalidInput(f"{agent.email} would belong to no department: keep at least one")
        changes = {k: v for k, v in (("name", name), ("lang", lang)) if v is not None}
        if changes:
            Agent.update(**changes).where(Agent.id == agent.id).execute()
        for dept_id in wanted - current:
            AgentDepartment.create(agent=agent.id, department=dept_id)
        if current - wanted:
            AgentDepartment.delete().where(
                AgentDepartment.agent == agent.id,
                AgentDepartment.department.in_(sorted(current - wanted)),
            ).execute()
    return Agent.get_by_id(agent.id)


def set_agent_active(principal: Principal, email: str, active: bool) -> tuple[Agent, list[str]]:
    """(the agent, the codes of the tickets sent back to the queue). Deactivating takes the
    agent's open tickets off them (one `reassigned` event each) so that `tix next` hands them to
    someone who is there."""
    principal.require_admin()
    with transaction():
        agent = agent_by_email(email)
        if agent.active == active:
            state = "active" if active else "deactivated"
            raise NotAllowed(f"agent {agent.email} is already {state}")
        if not active and agent.id == principal.agent.id:
            raise NotAllowed("you cannot deactivate yourself: ask another admin")
        Agent.update(active=active).where(Agent.id == agent.id).execute()
        released = []
        if not active:
            mine = Ticket.select().where(Ticket.assignee == agent.id, Ticket.status != "closed")
            for ticket in mine.order_by(Ticket.id):
                Ticket.update(assignee=None, updated_at=clock.now()).where(
                    Ticket.id == ticket.id
                ).execute()
                record_event(
                    ticket,
                    principal.actor,
                    "reassigned",
                    before={"assignee": agent.email},
                    after={"assignee": None, "deactivated": agent.email},
                )
                released.append(ticket.code)
    return Agent.get_by_id(agent.id), released


# -- accounts ---------------------------------------------------------------------------------


def list_accounts(principal: Principal) -> list[Account]:
    principal.require_admin()
    return list(Account.select().order_by(Account.handle))


def owners_of(accounts: list[Account]) -> dict[int, str | None]:
    """account id -> the owner contact's email (one query)."""
    result: dict[int, str | None] = {a.id: None for a in accounts}
    owners = Contact.select(Contact.account, Contact.email).where(
        Contact.account.in_([a.id for a in accounts]), Contact.is_owner == True
    )
    for contact in owners.order_by(Contact.id):
        if result.get(contact.account_id) is None:
            result[contact.account_id] = contact.email
    return result


def reseller_handles(accounts: list[Account]) -> dict[int, str]:
    """reseller id -> handle, for the resellers of these accounts (one query)."""
    ids = sorted({a.reseller_id for a in accounts if a.reseller_id})
    if not ids:
        return {}
    return {a.id: a.handle for a in Account.select().where(Account.id.in_(ids))}


def get_account(principal: Principal, handle: str) -> Account:
    principal.require_admin()
    return account_by_handle(handle)


def clients_of(account: Account) -> list[Account]:
    return list(Account.select().where(Account.reseller == account.id).order_by(Account.handle))


def edit_account(
    principal: Principal,
    handle: str,
    *,
    name: str | None = None,
    lang: str | None = None,
    reseller=UNCHANGED,
) -> Account:
    """`reseller`: a reseller's handle, None to make the account nobody's client, or UNCHANGED."""
    principal.require_admin()
    if name is None and lang is None and reseller is UNCHANGED:
        raise InvalidInput("nothing to change: give --name, --lang or --reseller")
    changes = {}
    if name is not None:
        changes["name"] = check_name(name)
    if lang is not None:
        changes["lang"] = check_lang(lang)
    with transaction():
        account = account_by_handle(handle)
        if reseller is not UNCHANGED:
            parent = None
            if reseller is not None:
                parent = account_by_handle(check_slug(reseller))
                if parent.id == account.id:
                    raise InvalidInput(f"account {account.handle} cannot be its own reseller")
                if not parent.is_reseller:
                    raise InvalidInput(f"account {parent.handle!r} is not a reseller")
            changes["reseller"] = parent.id if parent else None
        Account.update(**changes).where(Account.id == account.id).execute()
    return Account.get_by_id(account.id)


# -- contacts ---------------------------------------------------------------------------------


def contact_by_email(email: str) -> Contact:
    contact = (
        Contact.select(Contact, Account)
        .join(Account)
        .where(pw.fn.LOWER(Contact.email) == (email or "").strip().lower())
        .first()
    )
    if contact is None:
        raise NotFound(f"no contact {email!r}")
    return contact


def list_contacts(principal: Principal, handle: str | None = None) -> list[Contact]:
    principal.require_admin()
    query = Contact.select(Contact, Account).join(Account)
    if handle is not None:
        query = query.where(Contact.account == account_by_handle(handle).id)
    return list(query.order_by(Account.handle, Contact.is_owner.desc(), Contact.email))


def get_contact(principal: Principal, email: str) -> Contact:
    principal.require_admin()
    return contact_by_email(email)


def edit_contact(
    principal: Principal,
    email: str,
    *,
    name: str | None = None,
    lang: str | None = None,
    ticket_emails: bool | None = None,
    can_login: bool | None = None,
    owner: bool = False,
) -> Contact:
    """`owner`: make this contact its account's owner (the previous owner stays a contact)."""
    principal.require_admin()
    changes = {}
    if name is not None:
        changes["name"] = check_name(name)
    if lang is not None:
        changes["lang"] = check_lang(lang)
    if ticket_emails is not None:
        changes["ticket_emails"] = ticket_emails
    if can_login is not None:
        changes["can_login"] = can_login
    if not changes and not owner:
        raise InvalidInput(
            "nothing to change: give --name, --lang, --ticket-emails/--no-ticket-emails, "
            "--login/--no-login or --owner"
        )
    with transaction():
        contact = contact_by_email(email)
        if owner:
            if not contact.active:
                raise NotAllowed(f"contact {contact.email} is deactivated: reactivate it first")
            Contact.update(is_owner=False).where(Contact.account == contact.account_id).execute()
            changes["is_owner"] = True
        Contact.update(**changes).where(Contact.id == contact.id).execute()
    return contact_by_email(contact.email)


def set_contact_active(principal: Principal, email: str, active: bool) -> Contact:
    principal.require_admin()
    with transaction():
        contact = contact_by_email(email)
        if contact.active == active:
            state = "active" if active else "deactivated"
            raise NotAllowed(f"contact {contact.email} is already {state}")
        if not active and contact.is_owner:
            raise NotAllowed(
                f"{contact.email} is the owner of account {contact.account.handle}: make another "
                "contact the owner first (`tix admin contact edit EMAIL --owner`)"
            )
        Contact.update(active=active).where(Contact.id == contact.id).execute()
    return contact_by_email(contact.email)


# -- services ---------------------------------------------------------------------------------


def list_services(principal: Principal, handle: str | None = None) -> list[Service]:
    principal.require_admin()
    query = Service.select(Service, Account).join(Account)
    if handle is not None:
        query = query.where(Service.account == account_by_handle(handle).id)
    return list(query.order_by(Account.handle, Service.name))


def get_service(principal: Principal, handle: str, name: str) -> Service:
    principal.require_admin()
    account = account_by_handle(handle)
    service = (
        Service.select(Service, Account)
        .join(Account)
        .where(Service.account == account.id, Service.name == (name or "").strip().lower())
        .first()
    )
    if service is None:
        raise NotFound(f"account {account.handle} has no service {name!r}")
    return service
