"""Setting the desk up (admins): departments, agents, accounts, contacts, services, tokens.
The rules are tix.admin's; this turns what it returns into plain data for the doors."""

from tix import admin, admin_people
from tix.auth import Principal
from tix.service import shapes


def init(db, admin_email: str, admin_name: str) -> tuple[dict, str]:
    """A new store's schema and first admin: ({email, name}, the admin's token, shown once)."""
    agent, token = admin.init(db, admin_email, admin_name)
    return {"email": agent.email, "name": agent.name}, token


def add_department(
    principal: Principal, slug: str, name: str, name_es: str | None, email: str | None
) -> dict:
    return shapes.department(admin.add_department(principal, slug, name, name_es, email))


def set_department_email(principal: Principal, slug: str, address: str) -> dict:
    """`address` `none` clears it."""
    email = None if address.lower() == "none" else address
    return shapes.department(admin.set_department_email(principal, slug, email))


def departments(principal: Principal) -> list[dict]:
    return [shapes.department(d) for d in admin.list_departments(principal)]


def add_agent(
    principal: Principal, email: str, name: str, departments: list[str], is_admin: bool, lang: str
) -> dict:
    agent = admin.add_agent(principal, email, name, departments, is_admin, lang)
    return {"email": agent.email, "name": agent.name}


def add_account(principal: Principal, handle: str, **fields) -> dict:
    """fields: name, owner_email, owner_name, reseller, lang, is_reseller (tix.admin)."""
    account = admin.add_account(
        principal,
        handle,
        fields["name"],
        fields["owner_email"],
        fields.get("owner_name"),
        fields.get("reseller"),
        fields["lang"],
        is_reseller=fields.get("is_reseller", False),
    )
    return {"handle": account.handle, "name": account.name}


def add_contact(principal: Principal, handle: str, email: str, **fields) -> dict:
    """fields: name, ticket_emails, can_login, lang (tix.admin)."""
    contact = admin.add_contact(
        principal,
        handle,
        email,
        fields["name"],
        fields["ticket_emails"],
        fields["can_login"],
        fields.get("lang"),
    )
    return {"email": contact.email, "account": handle}


def add_service(
    principal: Principal,
    handle: str,
    name: str,
    kind: str,
    server_ip: str | None = None,
    mail_host: str | None = None,
) -> dict:
    service = admin.add_service(principal, handle, name, kind, server_ip, mail_host)
    return {"name": service.name, "kind": service.kind, "account": handle}


def issue_token(principal: Principal, email: str) -> str:
    return admin.issue_token(principal, email)


def revoke_tokens(principal: Principal, email: str) -> int:
    return admin.revoke_token(principal, email)


# -- looking after people and accounts (tix.admin_people) -------------------------------------


def agents(principal: Principal) -> list[dict]:
    rows = admin_people.list_agents(principal)
    departments = admin_people.departments_of(rows)
    return [shapes.agent(a, departments[a.id]) for a in rows]


def agent(principal: Principal, email: str) -> dict:
    row = admin_people.get_agent(principal, email)
    return shapes.agent(row, admin_people.departments_of([row])[row.id])


def edit_agent(principal: Principal, email: str, **changes) -> dict:
    """changes: name, lang, add_departments, remove_departments (tix.admin_people)."""
    row = admin_people.edit_agent(principal, email, **changes)
    return shapes.agent(row, admin_people.departments_of([row])[row.id])


def set_agent_active(principal: Principal, email: str, active: bool) -> dict:
    """The agent, and `released`: the codes of the open tickets sent back to the queue."""
    row, released = admin_people.set_agent_active(principal, email, active)
    shown = shapes.agent(row, admin_people.departments_of([row])[row.id])
    return {"agent": shown, "released": released}


def accounts(principal: Principal) -> list[dict]:
    rows = admin_people.list_accounts(principal)
    resellers, owners = admin_people.reseller_handles(rows), admin_people.owners_of(rows)
    return [
        shapes.account(a, reseller=resellers.get(a.reseller_id), owner=owners[a.id]) for a in rows
    ]


def account(principal: Principal, handle: str) -> dict:
    row = admin_people.get_account(principal, handle)
    return shapes.account_detail(
        row,
        reseller=admin_people.reseller_handles([row]).get(row.reseller_id),
        owner=admin_people.owners_of([row])[row.id],
        clients=admin_people.clients_of(row),
        contacts=admin_people.list_contacts(principal, row.handle),
        services=admin_people.list_services(principal, row.handle),
    )


def edit_account(principal: Principal, handle: str, *, reseller: str | None = None, **changes):
    """changes: name, lang; `reseller`: a reseller's handle, `none` to clear, None to keep."""
    from tix.tickets import UNCHANGED

    if reseller is None:
        reseller = UNCHANGED
    elif reseller.strip().lower() == "none":
        reseller = None
    admin_people.edit_account(principal, handle, reseller=reseller, **changes)
    return account(principal, handle)


def contacts(principal: Principal, handle: str | None = None) -> list[dict]:
    return [shapes.contact(c) for c in admin_people.list_contacts(principal, handle)]


def contact(principal: Principal, email: str) -> dict:
    return shapes.contact(admin_people.get_contact(principal, email))


def edit_contact(principal: Principal, email: str, **changes) -> dict:
    """changes: name, lang, ticket_emails, can_login, owner (tix.admin_people)."""
    return shapes.contact(admin_people.edit_contact(principal, email, **changes))


def set_contact_active(principal: Principal, email: str, active: bool) -> dict:
    return shapes.contact(admin_people.set_contact_active(principal, email, active))


def services(principal: Principal, handle: str | None = None) -> list[dict]:
    return [shapes.service(s) for s in admin_people.list_services(principal, handle)]


def service(principal: Principal, handle: str, name: str) -> dict:
    return shapes.service(admin_people.get_service(principal, handle, name))
