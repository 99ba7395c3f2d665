"""What `tix-jobs mail-in` keeps without filing (cron's door; no principal: tix-jobs acts as
the system)."""

from tix.service import shapes


def held_messages() -> list[dict]:
    """Every held message not filed, oldest first (tix/held.py)."""
    from tix import held

    return [shapes.held_mail(row) for row in held.waiting()]
