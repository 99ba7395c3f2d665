"""The CLI's client of `tix serve`: a desk with the same methods as the local one
(tix/service/local.py), each one request to the API. The answers are the service layer's
own data, so every command prints exactly what it prints on a local store."""

import base64
import json
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote, unquote, urlencode, urlsplit

from tix.errors import InvalidInput, NotAllowed, NotFound, NotLoggedIn, StoreError, TixError

API = "/api/v1"
ERRORS = {2: InvalidInput, 3: NotFound, 4: NotAllowed}
# Keys whose values are times: the server writes them in its zone, the CLI shows yours.
TIME_KEYS = {
    "created_at",
    "updated_at",
    "waiting_since",
    "closed_at",
    "at",
    "applied_at",
    "next_attempt_at",
    "sent_at",
    "reminded_at",  # in the history's before/after
    "reminder_delivered_at",
}


@dataclass(frozen=True)
class RemoteDraft:
    """A new ticket the server has checked (prepare) but not filed."""

    fields: dict
    review: object = None

    @property
    def body(self) -> str:
        return self.fields["body"]

    def with_body(self, body: str, conf=None) -> "RemoteDraft":
        return RemoteDraft(dict(self.fields, body=body))


def _local_times(value):
    if isinstance(value, list):
        return [_local_times(v) for v in value]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key in TIME_KEYS and isinstance(item, str) and "T" in item:
                try:
                    item = datetime.fromisoformat(item).astimezone().isoformat(timespec="seconds")
                except ValueError:
                    pass
            else:
                item = _local_times(item)
            result[key] = item
        return result
    return value


def _encoded(files) -> list[dict]:
    return [
        {"filename": f.filename, "data": base64.b64encode(f.data).decode("ascii")}
        for f in files or []
    ]


class RemoteDesk:
    def __init__(self, url: str, token: str, timeout: float | None = None):
        import os

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"not a server URL: {url!r}")
        self.url, self.token, self.parts = url, token, parts
        self.timeout = timeout or float(os.environ.get("TIX_HTTP_TIMEOUT") or 60)
        self._whoami = None

    # -- one request -----------------------------------------------------------------------

    def _request(self, method: str, path: str, *, query=None, body=None, raw: bool = False):
        import http.client

        from tix.store import mask_url

        target = self.parts.path.rstrip("/") + API + path
        if query:
            target += "?" + urlencode(
                [(k, v) for k, v in query if v is not None and v is not False], doseq=True
            )
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.parts.scheme == "https":
            import ssl

            connection = http.client.HTTPSConnection(
                self.parts.hostname,
                self.parts.port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                self.parts.hostname, self.parts.port, timeout=self.timeout
            )
        try:
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise StoreError(f"cannot reach the desk at {mask_url(self.url)}: {reason}") from None
        finally:
            connection.close()
        if response.status >= 400:
            raise self._error(response, data)
        if raw:
            return response, data
        return _local_times(json.loads(data)) if data else None

    def _error(self, response, data: bytes) -> TixError:
        try:
            answer = json.loads(data)
            message, code = str(answer["error"]), int(answer.get("exit_code", 1))
        except (ValueError, KeyError, TypeError):
            return StoreError(f"the desk's server answered {response.status} {response.reason}")
        if response.status == 401:
            return NotLoggedIn(message)
        return ERRORS.get(code, TixError)(message)

    def _ticket(self, code: str) -> str:
        return "/tickets/" + quote(code or "", safe="")

    # -- who ---------------------------------------------------------------------------------

    def whoami(self) -> dict:
        if self._whoami is None:
            self._whoami = self._request("GET", "/whoami")
        return {k: v for k, v in self._whoami.items() if k != "lang"}

    @property
    def lang(self) -> str:
        self.whoami()
        return self._whoami.get("lang", "en")

    # -- tickets -----------------------------------------------------------------------------

    def prepare_ticket(self, *, attachments=None, **fields) -> RemoteDraft:
        """Checked by the server now (a refusal comes before any question), not filed. Without
        a body (still to be written in the editor) the rest is checked; the review comes once
        `with_body` gives it one."""
        draft = RemoteDraft(dict(fields, attachments=_encoded(attachments)))
        review = self._review(draft)
        return replace(draft, review=review) if fields.get("body") is not None else draft

    def _review(self, draft: RemoteDraft):
        from tix import checks

        answer = self._request("POST", "/tickets/drafts", body=draft.fields)
        return checks.Review(
            lang=answer["lang"],
            findings=[checks.Finding(f["check"], f["text"]) for f in answer["findings"]],
            problems=answer["problems"],
        )

    def review_ticket(self, draft: RemoteDraft):
        return draft.review if draft.review is not None else self._review(draft)

    def file_ticket(self, draft: RemoteDraft, review=None) -> dict:
        return self._request("POST", "/tickets", body=draft.fields)

    def list_tickets(self, *, search=None, statuses=(), since=None, include_closed=False, **f):
        query = [("status", s) for s in statuses or ()]
        query += [(k, f.get(k)) for k in ("department", "priority", "assignee", "account")]
        query += [
            ("since", since.isoformat() if since else None),
            ("all", "1" if include_closed else None),
            ("limit", f.get("limit")),
            ("q", search),
        ]
        return self._request("GET", "/tickets", query=query)

    def list_page(self, *, limit: int | None = None, **filters) -> tuple[list[dict], bool]:
        """As the local one: at most `limit` tickets and whether there are more (0: all)."""
        rows = self.list_tickets(limit=limit + 1 if limit else None, **filters)
        return (rows[:limit], True) if limit and len(rows) > limit else (rows, False)

    def show_ticket(self, code: str, *, history: bool = False) -> dict:
        return self._request(
            "GET", self._ticket(code), query=[("history", "1" if history else None)]
        )

    def plan_reply(self, code, *, internal=False, template=None, message_given=False):
        from tix.service.tickets import ReplyPlan

        body = {"internal": internal, "template": template, "message_given": message_given}
        answer = self._request("POST", self._ticket(code) + "/reply-plan", body=body)
        return ReplyPlan(answer["code"], answer["internal"], answer["template_body"])

    def reply(self, plan, body: str, *, attachments=None) -> dict:
        payload = {"body": body, "internal": plan.internal, "attachments": _encoded(attachments)}
        return self._request("POST", self._ticket(plan.code) + "/replies", body=payload)

    def close(self, code: str) -> dict:
        return self._request("POST", self._ticket(code) + "/close", body={})

    def reopen(self, code: str, body: str | None = None) -> dict:
        return self._request("POST", self._ticket(code) + "/reopen", body={"body": body})

    def set_status(self, code: str, status: str) -> dict:
        return self._request("POST", self._ticket(code) + "/status", body={"status": status})

    def reassign(self, code: str, *, department=None, agent=None, priority=None) -> dict:
        body = {"department": department, "agent": agent, "priority": priority}
        return self._request("POST", self._ticket(code) + "/reassign", body=body)

    def attachment(self, code: str, attachment_id: int) -> dict:
        response, data = self._request(
            "GET", f"{self._ticket(code)}/attachments/{attachment_id}", raw=True
        )
        return {
            "filename": unquote(response.getheader("X-Tix-Filename") or "attachment"),
            "content_type": unquote(response.getheader("X-Tix-Content-Type") or "") or None,
            "data": data,
        }

    def apply_fix(self, code: str, number: int) -> dict:
        return self._request("POST", f"{self._ticket(code)}/fixes/{int(number)}", body={})

    def rediagnose(self, code: str) -> dict:
        return self._request("POST", self._ticket(code) + "/diagnose", body={})

    # -- the agents' desk --------------------------------------------------------------------

    def next_ticket(self, *, department=None) -> dict:
        return self._request("POST", "/next", body={"department": department})

    def merge(self, code: str, into_code: str) -> dict:
        return self._request("POST", self._ticket(code) + "/merge", body={"into": into_code})

    def watch(self, code: str) -> dict:
        return self._request("PUT", self._ticket(code) + "/watch", body={})

    def unwatch(self, code: str) -> dict:
        return self._request("DELETE", self._ticket(code) + "/watch")

    def templates(self, lang=None) -> list[dict]:
        return self._request("GET", "/templates", query=[("lang", lang)])

    def template(self, name: str, lang: str) -> dict:
        return self._request("GET", "/templates/" + quote(name, safe=""), query=[("lang", lang)])

    def add_template(self, name: str, lang: str, body: str) -> dict:
        return self._request("POST", "/templates", body={"name": name, "lang": lang, "body": body})

    def edit_template(self, name: str, lang: str, body: str) -> dict:
        return self._request(
            "PUT", "/templates/" + quote(name, safe=""), body={"lang": lang, "body": body}
        )

    def sla(self):
        answer = self._request("GET", "/sla")
        return answer["targets"], answer["business_hours"]

    def stats(self, *, since=None, **filters) -> dict:
        query = [("since", since.isoformat() if since else None)] + list(filters.items())
        return self._request("GET", "/stats", query=query)

    def __getattr__(self, name: str):
        from tix.service.local import METHODS

        if METHODS.get(name) == "tix.service.admin":
            raise NotAllowed(
                "`tix admin` works on the store itself: run it on the server's host "
                "with the store's URL"
            )
        raise AttributeError(name)
