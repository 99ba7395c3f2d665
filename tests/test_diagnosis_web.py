"""The website checks against real web servers on loopback: the failure pages a customer
actually sees, redirects, response time, the CMS, and hostile servers that drip, never end or
never answer."""

import time

from diagaccount import point
from diagfixtures import one, results, run, world  # noqa: F401
from diagworld import Listener, Page


def test_a_healthy_site_has_nothing_to_say(world):
    diagnosis = run(
        world, "info@alpha.test no recibe correo; la tienda https://alpha.test/ va bien"
    )
    assert diagnosis.problems() == []
    assert diagnosis.summary["ok"] >= 100  # a domain, its site and its mail: over a hundred checks
    assert len({r.check_id for r in diagnosis.results}) >= 40
    assert one(diagnosis, "web.cms").facts == {"cms": "wordpress", "version": "6.5.2"}
    assert one(diagnosis, "web.https.redirect").status == "ok"
    assert diagnosis.customer_lines("es") == []


def test_wordpress_database_error_is_a_fail_the_customer_reads_in_spanish(world):
    world.serve(
        "alpha.test",
        "/",
        Page(500, "<html><body><h1>Error establishing a database connection</h1></body></html>"),
        scheme="https",
    )
    diagnosis = run(world, "Mi web alpha.test no funciona")
    result = one(diagnosis, "web.page.database", "alpha.test")
    assert result.status == "fail"
    assert "500" in result.text_es and "conexión con la base de datos" in result.text_es
    assert "wp-config.php" in result.text_es
    assert one(diagnosis, "web.https.status").status == "fail"
    assert any("base de datos" in line for line in diagnosis.customer_lines("es"))
    assert any("database connection" in line for line in diagnosis.customer_lines("en"))


def test_php_errors_htaccess_suspended_and_placeholder_pages_are_recognised(world):
    cases = {
        "/fatal": (
            Page(500, "<b>Fatal error</b>: Uncaught Error: Call to undefined function"),
            "web.page.php",
        ),
        "/ht": (
            Page(
                500,
                "<h1>Internal Server Error</h1><p>The server encountered an internal "
                "error or\nmisconfiguration and was unable</p>",
            ),
            "web.page.server-error",
        ),
        "/susp": (
            Page(
                200, "<html><title>Account Suspended</title>This Account has been suspended.</html>"
            ),
            "web.page.suspended",
        ),
        "/soon": (
            Page(200, "<html><head><title>Coming Soon</title></head></html>"),
            "web.page.placeholder",
        ),
        "/maint": (
            Page(503, "Briefly unavailable for scheduled maintenance. Check back in a minute."),
            "web.page.maintenance",
        ),
        "/notice": (
            Page(
                200,
                "<b>Warning</b>:  Undefined variable $x in <b>/home/alpha/public"
                "_html/index.php</b> on line <b>3</b>",
            ),
            "web.page.php-notice",
        ),
    }
    for path, (page, _) in cases.items():
        world.serve("alpha.test", path, page)
    urls = " ".join(f"https://alpha.test{path}" for path in cases)
    diagnosis = run(world, f"Errors on {urls}")
    for path, (_, check_id) in cases.items():
        url = f"https://alpha.test{path}"
        assert one(diagnosis, check_id, url).status == "fail", (path, check_id)
        others = [
            r
            for r in diagnosis.results
            if r.target == url and r.check_id.startswith("web.page.") and r.check_id != check_id
        ]
        assert all(r.status == "ok" for r in others), (
            path,
            [r.check_id for r in others if r.status != "ok"],
        )


def test_redirect_loop_http_only_and_offsite_redirects(world):
    world.serve(
        "alpha.test", "/", Page(301, b"", {"Location": "https://www.alpha.test/"}), scheme="https"
    )
    world.serve("www.alpha.test", "/", Page(301, b"", {"Location": "https://alpha.test/"}))
    diagnosis = run(world, "alpha.test")
    loop = one(diagnosis, "web.redirect", "alpha.test")
    assert loop.status == "fail" and "loop" in loop.text_en and "bucle" in loop.text_es

    world.serve(
        "alpha.test", "/", Page(302, b"", {"Location": "https://casino.example/"}), scheme="https"
    )
    diagnosis = run(world, "alpha.test")
    away = one(diagnosis, "web.redirect", "alpha.test")
    assert away.status == "warn" and away.facts["offsite"] == "casino.example"
    assert not any(host == "casino.example" for _, host, _ in world.web.requests)

    world.serve("alpha.test", "/", Page(200, "<p>plain</p>"), scheme="http")
    world.serve("alpha.test", "/", Page(200, "<p>secure</p>"), scheme="https")
    assert one(run(world, "alpha.test"), "web.https.redirect").status == "warn"


def test_old_wordpress_and_php_and_noindex_and_robots(world):
    world.serve(
        "alpha.test",
        "/",
        Page(
            200,
            '<meta name="generator" content="WordPress 5.2.1">'
            '<meta name="robots" content="noindex, nofollow"><img src="http://cdn.alpha.test'
            '/a.png">',
            {"X-Powered-By": "PHP/7.2.34"},
        ),
        scheme="https",
    )
    world.serve("alpha.test", "/robots.txt", Page(200, "User-agent: *\nDisallow: /\n"))
    diagnosis = run(world, "alpha.test")
    assert one(diagnosis, "web.cms.version").status == "warn"
    assert "WordPress 5.2.1" in one(diagnosis, "web.cms.version").text_en
    assert one(diagnosis, "web.php.version").status == "warn"
    assert one(diagnosis, "web.noindex").status == "warn"
    assert one(diagnosis, "web.robots").status == "warn"
    assert one(diagnosis, "web.mixed-content", "alpha.test").facts["hosts"] == ["cdn.alpha.test"]


def test_a_slow_drip_and_an_endless_body_cost_at_most_the_probe_timeout(world):
    world.serve("alpha.test", "/drip", Page(200, "x" * 100, mode="drip"))
    world.serve("alpha.test", "/endless", Page(200, mode="endless"))
    started = time.monotonic()
    diagnosis = run(
        world, "https://alpha.test/drip https://alpha.test/endless", probe_timeout=1.0, budget=3.0
    )
    assert time.monotonic() - started < 2.5
    drip = one(diagnosis, "web.url.status", "https://alpha.test/drip")
    assert drip.status == "fail" and "no answer within 1 s" in drip.text_en
    endless = one(diagnosis, "web.url.status", "https://alpha.test/endless")
    assert endless.status == "ok"  # read up to the cap, then judged on what it said


def test_a_black_hole_server_is_recorded_within_the_budget(world):
    hole = Listener((80, 443))
    world.extra.append(hole)
    point(world, "alpha.test", hole.ip)
    started = time.monotonic()
    diagnosis = run(world, "alpha.test", budget=1.0, probe_timeout=5.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed
    assert hole.accepted  # it was contacted: it is the account's own address
    status = one(diagnosis, "web.https.status")
    assert status.status == "could-not-check" and status.text_en == "not finished within the budget"
    assert diagnosis.timed_out >= 1
    assert one(diagnosis, "dns.a").status == "ok"  # what finished is kept


def test_the_server_itself_and_each_address(world):
    diagnosis = run(world, "alpha.test")
    server = one(diagnosis, "web.server.status")
    assert server.status == "ok" and server.private
    assert results(diagnosis, "web.address") == []  # a single address: nothing more to compare


def test_the_cms_and_its_version_from_what_the_page_reveals():
    from tix.diagnosis import pages

    assert pages.cms(
        '<meta name="generator" content="Joomla! - Open Source Content Management" />', {}
    ) == ("joomla", None)
    assert pages.cms('<script src="/media/jui/js/jquery.min.js?v=4.4.1"></script>', {}) == (
        "joomla",
        None,
    )
    assert pages.cms('<meta name="generator" content="PrestaShop 1.6.1.24">', {}) == (
        "prestashop",
        "1.6.1.24",
    )
    assert pages.cms("<script>var prestashop = {};</script>", {}) == ("prestashop", None)
    assert pages.cms('<link href="/wp-includes/js/x.js?ver=6.1.1">', {}) == ("wordpress", "6.1.1")
    assert pages.cms("<html>plain</html>", {}) is None
    assert pages.older("6.1.1", "6.4") and not pages.older("6.4.2", "6.4")
