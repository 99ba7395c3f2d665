"""Setting the desk up (admins): departments, agents, accounts, contacts, services, tokens.
The rules are tix.admin's; this turns what it returns into plain data for the doors."""

from tix import admin
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
