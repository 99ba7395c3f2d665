"""TLS checks against real TLS servers on loopback with trustme certificates (SSL_CERT_FILE
points at the test CA): expiry, validity dates, names, chains, self-signed."""

import datetime

import pytest
from diagaccount import point
from diagfixtures import one, run, world  # noqa: F401
from diagworld import WebServer

from tix import clock

NAMES = ("alpha.test", "www.alpha.test")


def serve_with(world, context):
    server = WebServer(dict(world.web.pages), context)
    world.extra.append(server)
    point(world, "alpha.test", server.ip)
    return server


def tls(diagnosis, check_id):
    return one(diagnosis, check_id, "alpha.test:443")


def test_a_good_certificate(world):
    diagnosis = run(world, "alpha.test")
    for check_id in ("tls.protocol", "tls.chain", "tls.name", "tls.expiry", "tls.key"):
        assert tls(diagnosis, check_id).status == "ok", check_id
    assert tls(diagnosis, "tls.protocol").facts["protocol"] in ("TLSv1.2", "TLSv1.3")


def test_expiring_soon_warns_with_the_days_left(world):
    now = datetime.datetime.now(datetime.UTC)
    soon = now + datetime.timedelta(days=10, hours=12)
    serve_with(
        world,
        world.certs.context(*NAMES, not_before=now - datetime.timedelta(days=80), not_after=soon),
    )
    diagnosis = run(world, "alpha.test")
    expiry = tls(diagnosis, "tls.expiry")
    assert expiry.status == "warn" and expiry.facts["days"] == 10
    assert "expires in 10 days" in expiry.text_en and "caduca en 10 días" in expiry.text_es


@pytest.mark.parametrize("kind, words", [("expired", "expired on"), ("future", "not valid yet")])
def test_expired_and_not_yet_valid_certificates_fail(world, kind, words):
    serve_with(world, world.certs.context(*NAMES, kind=kind))
    diagnosis = run(world, "alpha.test")
    expiry = tls(diagnosis, "tls.expiry")
    assert expiry.status == "fail" and words in expiry.text_en
    assert tls(diagnosis, "tls.chain").status == "ok"  # the chain itself is fine
    assert tls(diagnosis, "tls.name").status == "ok"


def test_the_expiry_is_judged_at_the_clock_of_the_check(world):
    """Three weeks from now, the same certificate is within the warning window."""
    now = datetime.datetime.now(datetime.UTC)
    serve_with(
        world,
        world.certs.context(
            *NAMES,
            not_before=now - datetime.timedelta(days=1),
            not_after=now + datetime.timedelta(days=30),
        ),
    )
    assert tls(run(world, "alpha.test"), "tls.expiry").status == "ok"
    clock.advance(datetime.timedelta(days=20))  # tix's clock; sockets and DNS keep real time
    expiry = tls(run(world, "alpha.test"), "tls.expiry")
    assert expiry.status == "warn" and expiry.facts["days"] == 9


def test_a_certificate_for_another_name(world):
    serve_with(world, world.certs.context("shop.other.test"))
    diagnosis = run(world, "alpha.test")
    name = tls(diagnosis, "tls.name")
    assert name.status == "fail" and "shop.other.test" in name.text_en
    assert tls(diagnosis, "tls.chain").status == "ok"


def test_self_signed_and_incomplete_chains(world):
    serve_with(world, world.certs.context(*NAMES, kind="self-signed"))
    chain = tls(run(world, "alpha.test"), "tls.chain")
    assert chain.status == "fail" and "self-signed" in chain.text_en
    assert "autofirmado" in chain.text_es

    serve_with(world, world.certs.context(*NAMES, kind="no-chain"))
    diagnosis = run(world, "alpha.test")
    chain = tls(diagnosis, "tls.chain")
    assert chain.status == "fail" and "intermediate" in chain.text_en
    assert tls(diagnosis, "tls.name").status == "ok"
    assert tls(diagnosis, "tls.expiry").status == "ok"
    # The page is still read (over the unverified connection), so the site is judged too.
    assert one(diagnosis, "web.https.status").status == "ok"


def test_www_without_its_name_on_the_certificate(world):
    serve_with(world, world.certs.context("alpha.test"))
    world.zone.records.pop(("www.alpha.test.", "CNAME"))
    point(world, "www.alpha.test", world.extra[-1].ip)
    diagnosis = run(world, "alpha.test")
    assert one(diagnosis, "tls.name", "www.alpha.test:443").status == "fail"
    assert tls(diagnosis, "tls.name").status == "ok"
