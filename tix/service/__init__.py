"""The one layer every door calls: the CLI (tix/cli/), `tix-jobs mail-in` (tix/inbound.py), the
demo and the HTTP server. Each function takes the acting principal and plain arguments and
returns plain data built by service.shapes; none of the doors touches a model, a query or a
rule. The rules themselves live in tix.tickets (the lifecycle), tix.admin, tix.desk, tix.outbox.

    service.tickets   create (prepare, review, file), list, search, show, reply, close,
                      reopen, status, reassign, attachments
    service.desk      next, templates, merge, watch, SLA targets, statistics
    service.admin     departments, agents, accounts, contacts, services, tokens
    service.session   who is acting
    service.shapes    every JSON shape, with its documented keys
"""
