"""The desk as a door sees it on the store's own host: the service functions with the acting
principal bound, so a command calls `desk.show_ticket(code)` whether the desk is this one or
the HTTP client of `tix serve` (tix/remote.py), which has the very same methods."""

import functools

from tix.auth import Principal

# Which service module answers each method (imported when first called: `tix --help` stays
# free of the store's libraries).
_MODULES = {
    "tix.service.tickets": (
        "prepare_ticket",
        "review_ticket",
        "file_ticket",
        "list_tickets",
        "list_page",
        "department_slugs",
        "open_codes",
        "show_ticket",
        "plan_reply",
        "reply",
        "close",
        "reopen",
        "set_status",
        "reassign",
        "attachment",
    ),
    "tix.service.desk": (
        "next_ticket",
        "add_template",
        "template",
        "edit_template",
        "templates",
        "merge",
        "watch",
        "unwatch",
        "sla",
        "stats",
    ),
    "tix.service.admin": (
        "add_department",
        "set_department_email",
        "departments",
        "add_agent",
        "add_account",
        "add_contact",
        "add_service",
        "issue_token",
        "revoke_tokens",
        "agents",
        "agent",
        "edit_agent",
        "set_agent_active",
        "accounts",
        "account",
        "edit_account",
        "contacts",
        "contact",
        "edit_contact",
        "set_contact_active",
        "services",
        "service",
    ),
    "tix.service.session": ("whoami",),
    "tix.service.diagnosis": ("apply_fix", "rediagnose"),
}
METHODS = {name: module for module, names in _MODULES.items() for name in names}


class LocalDesk:
    """Every service function, called as `principal`."""

    def __init__(self, principal: Principal):
        self.principal = principal

    @property
    def lang(self) -> str:
        return self.principal.lang

    def __getattr__(self, name: str):
        if name not in METHODS:
            raise AttributeError(name)
        import importlib

        function = getattr(importlib.import_module(METHODS[name]), name)
        return functools.partial(function, self.principal)
