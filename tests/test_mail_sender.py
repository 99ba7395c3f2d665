"""Who a message is from, and what our MTA's Authentication-Results say about it: parsing only
(the forgery checks that use them live in the filing code)."""

import pytest

from tix import mailparse
from tix.mailparse.authres import (
    authentication_verdict,
    organizational_domain,
    parse_authentication_results,
)
from tix.mailparse.sender import read_sender

# -- the sender --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, address, problem",
    [
        (["Olga Alpha <Owner@Alpha.test>"], "owner@alpha.test", None),
        (['"owner@alpha.test" <owner@alpha.test>'], "owner@alpha.test", None),  # Outlook's way
        (["owner@alpha.test (Olga)"], "owner@alpha.test", None),
        (["=?utf-8?q?Jos=C3=A9?= <jose@alpha.test>"], "jose@alpha.test", None),
        ([], None, "no From header"),
        (["a@alpha.test", "b@alpha.test"], None, "2 From headers"),
        ([""], None, "an empty From header"),
        (["Team: a@alpha.test, b@alpha.test;"], None, "a group in From"),
        (["a@alpha.test, b@alpha.test"], None, "several mailboxes in From"),
        (
            ['"olga@acme.example" <attacker@evil.example>'],
            None,
            "an address in the From display name",
        ),
        (
            ["=?utf-8?q?olga@acme.example?= <attacker@evil.example>"],
            None,
            "an address in the From display name",
        ),
        (["Olga <>"], None, "no usable address in From"),
    ],
)
def test_the_sender_is_one_mailbox_or_a_reason(values, address, problem):
    sender = read_sender(values)
    assert (sender.address, sender.problem) == (address, problem)


def test_a_refused_sender_is_never_answered():
    raw = (
        b'From: "olga@acme.example" <attacker@evil.example>\nTo: help@host.test\n'
        b"Subject: pay here\n\nx\n"
    )
    parsed = mailparse.parse(raw)
    assert parsed.sender is None and parsed.sender_problem == "an address in the From display name"
    assert parsed.no_notice == "no trustworthy sender: an address in the From display name"


# -- Authentication-Results (RFC 8601) ---------------------------------------------------------

MX = "mx.host.test"


def test_a_header_parses_into_methods_results_and_properties():
    parsed = parse_authentication_results(
        "mx.host.test 1; (a comment; with a semicolon)\n dkim=pass (2048-bit key)"
        ' header.d=mail.alpha.test header.i=@mail.alpha.test header.s="s1";\n'
        " spf=fail smtp.mailfrom=alpha.test; dmarc=pass (p=reject) header.from=alpha.test"
    )
    assert parsed.authserv_id == MX
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"),
        ("spf", "fail"),
        ("dmarc", "pass"),
    ]
    assert parsed.results[0].properties == {
        "header.d": "mail.alpha.test",
        "header.i": "@mail.alpha.test",
        "header.s": "s1",
    }
    assert parse_authentication_results("mx.host.test; none").results == ()
    assert parse_authentication_results("") is None


def ar(value: str) -> tuple[str, str]:
    return ("Authentication-Results", value)


RECEIVED = ("Received", "from mail.alpha.test by mx.host.test")
THEIRS = [("From", "owner@alpha.test"), ("Subject", "x")]


@pytest.mark.parametrize(
    "headers, how",
    [
        ([RECEIVED, ar(f"{MX}; dmarc=pass header.from=alpha.test"), *THEIRS], "dmarc"),
        ([ar(f"{MX}; dkim=pass header.d=alpha.test"), RECEIVED, *THEIRS], "dkim"),
        # relaxed alignment: a subdomain of the From domain signed
        ([RECEIVED, ar(f"{MX}; dkim=pass header.d=mail.alpha.test"), *THEIRS], "dkim"),
        ([RECEIVED, ar(f"{MX}; dkim=pass header.d=evil.test"), *THEIRS], None),
        ([RECEIVED, ar(f"{MX}; dkim=fail header.d=alpha.test"), *THEIRS], None),
        ([RECEIVED, ar(f"{MX}; dmarc=pass header.from=evil.test"), *THEIRS], None),
        # not our authserv-id
        ([RECEIVED, ar("mx.evil.test; dmarc=pass header.from=alpha.test"), *THEIRS], None),
        # the sender's own header, below their headers: never read
        ([RECEIVED, *THEIRS, ar(f"{MX}; dmarc=pass header.from=alpha.test")], None),
        # below a relay's Received the sender added (more Received than our hops)
        ([RECEIVED, RECEIVED, ar(f"{MX}; dmarc=pass header.from=alpha.test"), *THEIRS], None),
        # below another authserv-id's header: the block our MTA wrote has ended
        (
            [
                ar("mx.evil.test; none"),
                ar(f"{MX}; dmarc=pass header.from=alpha.test"),
                *THEIRS,
            ],
            None,
        ),
    ],
)
def test_only_our_mtas_topmost_results_authenticate_the_from_domain(headers, how):
    verdict = authentication_verdict(headers, "alpha.test", {MX})
    assert verdict.how == how and verdict.authenticated == (how is not None)


def test_hops_counts_our_own_received_headers_above_the_verdict():
    headers = [RECEIVED, RECEIVED, ar(f"{MX}; dmarc=pass header.from=alpha.test"), *THEIRS]
    assert authentication_verdict(headers, "alpha.test", {MX}, hops=2).how == "dmarc"


def test_organizational_domains_follow_the_public_suffix_list():
    assert organizational_domain("mail.alpha.co.uk") == "alpha.co.uk"
    assert organizational_domain("a.b.alpha.test") == "alpha.test"
    assert organizational_domain("user.github.io") == "user.github.io"


def test_a_parsed_message_checks_its_own_headers():
    raw = (
        f"Received: from mail.alpha.test by {MX}\n"
        f"Authentication-Results: {MX}; dkim=pass header.d=alpha.test\n"
        "From: Olga <owner@alpha.test>\nSubject: x\n\nx\n"
    ).encode()
    parsed = mailparse.parse(raw)
    assert parsed.authentication({MX}).how == "dkim"
    assert not parsed.authentication({"other.test"}).authenticated
