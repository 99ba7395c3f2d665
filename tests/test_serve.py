"""`tix serve` at its door, tried as an attacker would: another account's ticket reads like a
missing one, nothing internal reaches a response, bodies are limited before they are read,
failed sign-ins and heavy use get 429 with Retry-After, the identity never outlives its request
on a pooled connection, and the API describes itself."""

import http.client
import json
import socket

import pytest
from serve_support import Server, app_role_url, served

pytestmark = pytest.mark.served


@pytest.fixture
def server(desk, tmp_path):
    running = Server(app_role_url(desk.url), tmp_path)
    yield running
    running.stop()


def request(server, method, path, *, token=None, body=None, headers=None, raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if payload is not None:
        sent.setdefault("Content-Type", "application/json")
    connection.request(method, "/api/v1" + path, body=payload, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def error_of(data: bytes) -> dict:
    answer = json.loads(data)
    assert set(answer) == {"error", "exit_code"}
    assert "\n" not in answer["error"] and "Traceback" not in answer["error"]
    return answer


def test_another_accounts_ticket_reads_exactly_like_a_missing_one(desk, server):
    code = desk.create("beta")
    theirs, their_data = request(server, "GET", f"/tickets/{code}", token=desk.tokens["alpha"])
    missing = "ZZZZ-ZZZZ"
    nobody, nobody_data = request(server, "GET", f"/tickets/{missing}", token=desk.tokens["alpha"])
    assert theirs.status == nobody.status == 404
    assert error_of(their_data)["error"].replace(code, missing) == error_of(nobody_data)["error"]
    for verb, path in [("POST", "/replies"), ("POST", "/close"), ("GET", "/attachments/1")]:
        response, data = request(
            server,
            verb,
            f"/tickets/{code}{path}",
            token=desk.tokens["alpha"],
            body={"body": "x"} if verb == "POST" else None,
        )
        assert response.status == 404, path
        assert error_of(data)["exit_code"] == 3
    mine, data = request(server, "GET", f"/tickets/{code}", token=desk.tokens["beta"])
    assert mine.status == 200 and json.loads(data)["code"] == code


def test_without_a_valid_token_nothing_is_answered(desk, server):
    desk.create("alpha")
    for token in (None, "tix_forged", desk.tokens["alpha"] + "x"):
        response, data = request(server, "GET", "/tickets", token=token)
        assert response.status == 401
        assert error_of(data)["exit_code"] == 4
    response, _ = request(server, "GET", "/tickets", headers={"Authorization": "Basic eDp5"})
    assert response.status == 401


def test_bad_bodies_are_refused_in_one_line_and_write_nothing(desk, server):
    import deskdb

    before = deskdb.dump(desk.url)
    token = desk.tokens["alpha"]
    cases = [
        (b"{not json", 422),
        (b"[1, 2]", 422),
        (b"\xff\xfe", 422),
        (json.dumps({"department": "hosting", "subject": "", "body": "x"}).encode(), 400),
        (json.dumps({"department": "nope", "subject": "s", "body": "x"}).encode(), 400),
        (json.dumps({"department": "hosting", "subject": 5, "body": "x"}).encode(), 400),
        (
            json.dumps(
                {
                    "department": "hosting",
                    "subject": "s",
                    "body": "x",
                    "attachments": [{"filename": "a", "data": "!!not base64!!"}],
                }
            ).encode(),
            400,
        ),
    ]
    for raw, status in cases:
        response, data = request(server, "POST", "/tickets", token=token, raw=raw)
        assert response.status == status, raw
        assert error_of(data)["exit_code"] == 2
    assert deskdb.dump(desk.url) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(desk, tmp_path):
    limited = Server(app_role_url(desk.url), tmp_path, env={"TIX_SERVE_MAX_BODY": "1000"})
    try:
        # A declared length over the limit: refused on the headers alone (nothing else is sent).
        sock = socket.create_connection(("127.0.0.1", limited.port), timeout=10)
        sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer "
            + desk.tokens["alpha"].encode()
            + b"\r\nContent-Length: 1000000000000\r\n\r\n"
        )
        head = sock.recv(4096)
        sock.close()
        assert head.startswith(b"HTTP/1.1 413"), head
        # Chunked, with no declared length: refused once the limit is passed.
        big = json.dumps({"department": "hosting", "subject": "s", "body": "x" * 5000}).encode()
        connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=10)
        connection.request(
            "POST",
            "/api/v1/tickets",
            body=iter([big[:600], big[600:]]),
            headers={
                "Authorization": f"Bearer {desk.tokens['alpha']}",
                "Transfer-Encoding": "chunked",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert error_of(response.read())["exit_code"] == 2
    finally:
        limited.stop()


def test_failed_sign_ins_and_heavy_use_are_rate_limited(desk, tmp_path):
    limited = Server(
        app_role_url(desk.url),
        tmp_path,
        env={"TIX_SERVE_FAILED_LOGINS": "3", "TIX_SERVE_RATE": "1"},
    )
    try:
        # A guesser tries a new token each time.
        statuses = [
            request(limited, "GET", "/tickets", token=f"tix_guess{n}")[0].status for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        # The address waits now, whatever token it sends.
        response, data = request(limited, "GET", "/tickets", token=desk.tokens["alpha"])
        assert response.status == 429 and int(response.getheader("Retry-After")) >= 1
        assert "too many requests" in error_of(data)["error"]
    finally:
        limited.stop()
    busy = Server(app_role_url(desk.url), tmp_path, env={"TIX_SERVE_RATE": "1"})
    try:
        # One token: a burst of 2, then one a second.
        statuses = [
            request(busy, "GET", "/tickets", token=desk.tokens["beta"])[0].status for _ in range(4)
        ]
        assert statuses[:2] == [200, 200] and 429 in statuses[2:]
        # Another customer is not held back by the first one's burst.
        assert request(busy, "GET", "/tickets", token=desk.tokens["alpha"])[0].status == 200
    finally:
        busy.stop()


def test_the_identity_never_outlives_its_request_on_a_pooled_connection(desk, tmp_path):
    """One worker thread, hence one store connection, serving two customers in turn."""
    alpha, beta = desk.create("alpha"), desk.create("beta")
    pooled = Server(app_role_url(desk.url), tmp_path, env={"TIX_SERVE_THREADS": "1"})
    try:
        for _ in range(3):
            for who, own in (("alpha", alpha), ("beta", beta)):
                _, data = request(pooled, "GET", "/tickets", token=desk.tokens[who])
                assert [t["code"] for t in json.loads(data)] == [own]
            # A forged token right after a valid one: nothing carries over.
            assert request(pooled, "GET", "/tickets", token="tix_forged")[0].status == 401
    finally:
        pooled.stop()


def test_a_failing_store_answers_503_without_its_details(desk, tmp_path):
    if not desk.url.startswith("sqlite"):
        pytest.skip("a SQLite file made unreadable stands for any store failure")
    from tix import store

    broken = Server(desk.url, tmp_path)
    try:
        path = store.sqlite_path(desk.url)
        with open(path, "r+b") as handle:  # the header overwritten: "file is not a database"
            handle.write(b"\0" * 100)
        response, data = request(broken, "GET", "/tickets", token=desk.tokens["alpha"])
        assert response.status == 503
        answer = error_of(data)
        assert answer["exit_code"] == 1
        assert "sqlite" not in answer["error"].lower() and path not in answer["error"]
    finally:
        broken.stop()


def test_unknown_routes_and_methods_answer_in_json(server, desk):
    response, data = request(server, "GET", "/nothing-here", token=desk.tokens["alpha"])
    assert response.status == 404 and error_of(data)
    response, data = request(server, "DELETE", "/tickets", token=desk.tokens["alpha"])
    assert response.status == 405 and error_of(data)


def test_the_api_describes_itself(server):
    from tix.server.calls import ROUTES

    _, data = request(server, "GET", "/openapi.json")
    doc = json.loads(data)
    assert doc["openapi"].startswith("3.")
    served_routes = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served_routes == {(m, "/api/v1" + p) for m, p, _, _ in ROUTES}


def test_the_cli_says_in_one_line_when_the_server_is_unreachable(desk, runner):
    from serve_support import free_port

    from tix.cli import cli

    result = runner.invoke(
        cli,
        ["list"],
        env={
            "TIX_DATABASE_URL": f"http://127.0.0.1:{free_port()}",
            "TIX_TOKEN": desk.tokens["alpha"],
        },
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("tix: error: cannot reach the desk at http://127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1


def test_several_workers_serve_one_store(desk, tmp_path):
    code = desk.create("alpha")
    through = served(desk, tmp_path, workers=2)
    try:
        for _ in range(4):
            shown = json.loads(through.tix("show", code, "--format", "json", as_="alpha").stdout)
            assert shown["code"] == code
    finally:
        through.server.stop()
