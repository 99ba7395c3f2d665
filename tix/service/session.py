"""Who is acting: a token checked against the store, and what tix says about that person."""

from tix import auth
from tix.auth import Principal
from tix.service import shapes


def sign_in(token: str) -> Principal:
    """The principal a token names (NotLoggedIn if it names nobody who may act)."""
    return auth.principal_for_token(token)


def current(url: str) -> Principal:
    """The principal of the token saved for this store, or TIX_TOKEN."""
    return auth.current_principal(url)


def whoami(principal: Principal) -> dict:
    return shapes.whoami(principal)


def ask_quietly(url: str, ask):
    """`ask(principal)` as the person whose token is saved for this store (or TIX_TOKEN), in a
    transaction that writes nothing; None on any failure (no store, no token, a server URL, a
    store that is down). For shell completion, which must never fail loudly."""
    from tix import store

    db = None
    try:
        db = store.connect(url, create=False)
        with store.command_transaction(db):
            return ask(current(url))
    except Exception:
        return None
    finally:
        store.set_identity(None)
        if db is not None and not db.is_closed():
            db.close()
