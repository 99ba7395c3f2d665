"""The engine: which services a ticket is about, the budget (a probe that never returns costs
no more than the budget and never blocks the caller), crashes, JSON results, what customers
and agents see, and plug-in probes and fixes installed through entry points."""

import importlib
import json
import threading
import time
from pathlib import Path

import pytest
from diagfixtures import one, run, world  # noqa: F401

import tix.diagnosis as diagnosis_api
from tix.diagnosis import (
    RESULT_KEYS,
    Request,
    ServiceInfo,
    apply_fix,
    diagnose,
    targets_for,
)
from tix.diagnosis.conf import Conf
from tix.diagnosis.targets import customer_ip

PLUGINS = Path(__file__).parent / "data" / "plugins" / "diagnosis"
SERVICES = [
    ServiceInfo("alpha.test", "hosting", "198.51.100.10"),
    ServiceInfo("alpha-shop.test", "hosting", "198.51.100.11"),
    ServiceInfo("shop.alpha.test", "email"),
]


def names(targets):
    return [t.name for t in targets]


def test_targets_the_service_given_else_those_named_else_the_only_one():
    assert names(targets_for(SERVICES, "anything", "alpha-shop.test")) == ["alpha-shop.test"]
    assert names(targets_for(SERVICES, "anything", "other.test")) == []
    assert names(targets_for(SERVICES, "https://www.alpha-shop.test/cart fails", None)) == [
        "alpha-shop.test"
    ]
    assert names(targets_for(SERVICES, "info@shop.alpha.test bounces", None)) == ["shop.alpha.test"]
    assert names(targets_for(SERVICES, "nothing named", None)) == []
    assert names(targets_for(SERVICES[:1], "nothing named", None)) == ["alpha.test"]
    [target] = targets_for(
        SERVICES,
        "see https://alpha.test/a and http://alpha.test/b, ana@alpha.test; not https://evil.test/",
        None,
    )
    assert target.urls == ("https://alpha.test/a", "http://alpha.test/b")
    assert target.addresses == ("ana@alpha.test",)
    assert target.server_ips == ("198.51.100.10",)


def test_the_ip_a_customer_names():
    assert customer_ip("My IP 203.0.113.7 is blocked") == "203.0.113.7"
    assert customer_ip("mi ip es 2001:db8::7, me bloquea") == "2001:db8::7"
    assert customer_ip("see http://203.0.113.9/x at 10:30:00") is None
    assert customer_ip("server 198.51.100.10 blocks me", exclude={"198.51.100.10"}) is None
    assert customer_ip("PrestaShop 1.6.1.24 shows a blank page") is None


def test_nothing_to_check_costs_nothing():
    started = time.perf_counter()
    result = diagnose(Request(services=SERVICES, text="which one? none named"), Conf())
    assert (time.perf_counter() - started) < 0.05
    assert result.results == [] and result.summary["ok"] == 0


def test_a_probe_that_never_returns_costs_the_budget_not_more(world, monkeypatch):
    release = threading.Event()

    def stuck(ctx):
        release.wait(60)

    def crashing(ctx):
        raise RuntimeError("boom in a probe")

    real = diagnosis_api.builtin_probes
    monkeypatch.setattr(
        diagnosis_api,
        "builtin_probes",
        lambda: [
            *real(),
            ("stuck", "web", stuck, ("x.stuck",)),
            ("crash", "web", crashing, ("x.crash",)),
        ],
    )
    started = time.monotonic()
    result = run(world, "alpha.test", budget=1.0)
    elapsed = time.monotonic() - started
    release.set()
    assert 1.0 <= elapsed < 1.4, elapsed
    stuck_result = one(result, "x.stuck")
    assert stuck_result.status == "could-not-check"
    assert stuck_result.text_en == "not finished within the budget"
    assert result.timed_out == 1
    crash = one(result, "x.crash")
    assert crash.status == "could-not-check" and "RuntimeError: boom in a probe" in crash.text_en
    assert one(result, "web.https.status").status == "ok"


def test_results_are_json_with_the_documented_keys(world):
    result = run(world, "info@alpha.test https://alpha.test/")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["summary"] == result.summary and len(data["results"]) == len(result.results)
    assert all(tuple(r) == RESULT_KEYS for r in data["results"])
    assert all(r["status"] in diagnosis_api.STATUSES for r in data["results"])


def test_private_results_stay_with_the_agent(world):
    world.serve(
        "alpha.test",
        "/",
        __import__("diagworld").Page(500, "Error establishing a database connection"),
        scheme="https",
    )
    result = run(world, "alpha.test", private=("servers", "web.page.*"))
    database = one(result, "web.page.database")
    assert database.private and database.status == "fail"
    assert one(result, "dns.a").private  # its text names our server's address
    assert not one(result, "web.https.status").private
    customer = "\n".join(result.customer_lines("en"))
    assert "database" not in customer and world.web.ip not in customer
    agent = "\n".join(result.agent_lines())
    assert "FAIL web.page.database alpha.test [private]" in agent and "facts:" in agent


def test_a_broken_setting_is_a_result_not_an_exception(monkeypatch):
    monkeypatch.setenv("TIX_DIAGNOSIS_BUDGET", "soon")
    result = diagnose(Request(services=SERVICES[:1], text="x"))
    assert one(result, "diagnosis.engine").status == "could-not-check"
    assert "TIX_DIAGNOSIS_BUDGET" in result.results[0].text_en


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    quota = tmp_path / "quota.json"
    quota.write_text(json.dumps({"alpha.test": {"used_mb": 980, "quota_mb": 1000}}))
    monkeypatch.setenv("TIX_EXAMPLE_QUOTA_FILE", str(quota))
    monkeypatch.syspath_prepend(str(PLUGINS))
    importlib.invalidate_caches()
    return quota


def test_plugin_probes_and_fixes_from_entry_points(world, plugins):
    result = run(world, "alpha.test")
    quota = one(result, "example.quota")
    assert quota.status == "fail" and "98%" in quota.text_en
    broken = one(result, "example.broken")
    assert broken.status == "could-not-check" and "10.0.0.9 unreachable" in broken.text_en
    [fix] = result.fixes
    assert fix.kind == "example.raise-quota" and "500 MB" in fix.text_es
    assert apply_fix(fix, world.conf()) == "quota of alpha.test raised to 1500 MB"
    assert json.loads(plugins.read_text())["alpha.test"]["quota_mb"] == 1500
    assert one(run(world, "alpha.test"), "example.quota").status == "ok"
    # A domain-only service is not a hosting: the plug-in said it checks hostings only.
    assert [
        r
        for r in run(world, "alpha.test", services=[ServiceInfo("alpha.test", "domain")]).results
        if r.check_id == "example.quota"
    ] == []


def test_every_check_a_diagnosis_reports_is_documented(world):
    docs = (Path(__file__).parent.parent / "docs" / "diagnosis.md").read_text(encoding="utf-8")
    reported = {r.check_id for r in run(world, "info@alpha.test https://alpha.test/").results}
    assert len(reported) >= 60
    assert sorted(c for c in reported if f"| `{c}` |" not in docs) == []
