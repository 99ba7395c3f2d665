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
