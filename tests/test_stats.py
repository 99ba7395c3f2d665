"""`tix stats` on a fixed week of tickets, walked through the real commands under
freezegun; every expected figure is worked out by hand in the comments.

Monday 2025-03-03 (UTC, the tests' zone):
  09:00 A opened (alpha, hosting, emergency)   09:10 answered  -> first response 10m
  09:30 B opened (beta, hosting, medium)       10:30 answered  -> first response 60m
  10:00 A closed by an agent                                    -> time to close 1h
  10:00 C opened (client, billing, high)       10:20 answered  -> first response 20m
  10:40 B customer writes, 10:45 again, 10:50 agent answers      -> next response 10m (from 10:40)
  11:00 D opened (beta, hosting, low), never answered            -> awaiting 1
  11:10 F opened (beta, hosting, medium), 11:15 merged into D    -> merged 1 (no first response)
  11:30 B closed by an agent                                    -> time to close 2h
  12:00 B reopened by the customer                              -> reopened 1
Wednesday 11:00 tix-jobs run reminds C; Thursday 11:00 it closes C (auto) -> time to close 3d1h.
"""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from jobs_support import jobs

MONDAY = datetime(2025, 3, 3)


@pytest.fixture
def week(desk):
    with freeze_time(MONDAY + timedelta(hours=9)) as clock:

        def at(hh, mm, day=0):
            clock.move_to(MONDAY + timedelta(days=day, hours=hh, minutes=mm))

        a = desk.create("alpha", "Server down", "hosting", "emergency")
        at(9, 10)
        desk.tix("reply", a, "-m", "Rebooted", as_="hosting_agent")
        at(9, 30)
        b = desk.create("beta", "Slow site", "hosting", "medium")
        at(10, 0)
        desk.tix("close", a, as_="hosting_agent")
        c = desk.create("client", "Invoice", "billing", "high")
        at(10, 20)
        desk.tix("reply", c, "-m", "Sent again", as_="billing_agent")
        at(10, 30)
        desk.tix("reply", b, "-m", "Cache on", as_="hosting_agent")
        at(10, 40)
        desk.tix("reply", b, "-m", "Still slow", as_="beta")
        at(10, 45)
        desk.tix("reply", b, "-m", "Really slow", as_="beta")
        at(10, 50)
        desk.tix("reply", b, "-m", "Moved you to SSD", as_="hosting_agent")
        at(11, 0)
        d = desk.create("beta", "Backup question", "hosting", "low")
        at(11, 10)
        f = desk.create("beta", "Backups?", "hosting", "medium")
        at(11, 15)
        desk.tix("merge", f, d, as_="admin")
        at(11, 30)
        desk.tix("close", b, as_="hosting_agent")
        at(12, 0)
        desk.tix("reopen", b, "-m", "Slow again", as_="beta")
        at(11, 0, day=2)
        jobs(desk.url, "run")
        at(11, 0, day=3)
        assert jobs(desk.url, "run").stdout.startswith("reminded 0, closed 1")
        at(12, 0, day=3)
        yield desk, {"A": a, "B": b, "C": c, "D": d, "F": f}


def stats(desk, *args):
    return json.loads(
        desk.tix(
            "stats", "--since", "2025-03-03", "--format", "json", *args, as_="hosting_agent"
        ).stdout
    )


def test_stats_match_the_hand_computed_figures(week):
    desk, _ = week
    result = stats(desk)
    assert {
        k: result[k]
        for k in (
            "opened",
            "closed",
            "merged",
            "auto_closed",
            "auto_closed_share",
            "reopened",
            "reopen_rate",
            "calendar",
        )
    } == {
        "opened": 5,
        "closed": 3,
        "merged": 1,
        "auto_closed": 1,
        "auto_closed_share": 0.3333,
        "reopened": 1,
        "reopen_rate": 0.3333,
        "calendar": "24/7",
    }
    # First responses 600, 3600, 1200 s: mean 1800, median 1200, p90 at rank 1.8 of [600, 1200,
    # 3600] = 1200 + 0.8 * 2400 = 3120; A and C within 30 minutes, B not.
    assert result["first_response"] == {
        "count": 3,
        "mean": 1800.0,
        "median": 1200.0,
        "p90": 3120.0,
        "awaiting": 1,
        "target": 1800.0,
        "within_target": 0.6667,
    }
    assert result["next_response"] == {
        "count": 1,
        "mean": 600.0,
        "median": 600.0,
        "p90": 600.0,
        "within_target": 1.0,
    }
    # Closures 3600 (A), 7200 (B), 262800 (C, 3 days and 1 hour): p90 = 7200 + 0.8 * 255600.
    assert result["time_to_close"] == {
        "count": 3,
        "mean": 91200.0,
        "median": 7200.0,
        "p90": 211680.0,
    }
    hours = {row["label"]: (row["tickets"], row["mean"]) for row in result["chart"]["rows"]}
    assert len(hours) == 24 and hours["09"] == (2, 2100.0) and hours["10"] == (1, 1200.0)
    assert sum(n for n, _ in hours.values()) == 3


def test_stats_filters_and_the_department_chart(week):
    desk, _ = week
    hosting = stats(desk, "--department", "hosting", "--by", "department")
    assert (
        hosting["opened"],
        hosting["closed"],
        hosting["reopen_rate"],
        hosting["auto_closed_share"],
    ) == (4, 2, 0.5, 0.0)
    assert (
        hosting["first_response"]["mean"] == 2100.0 and hosting["first_response"]["p90"] == 3300.0
    )
    assert hosting["time_to_close"]["mean"] == 5400.0
    assert hosting["chart"]["rows"] == [{"label": "hosting", "tickets": 2, "mean": 2100.0}]

    everything = stats(desk, "--by", "department")
    assert everything["chart"]["rows"] == [
        {"label": "billing", "tickets": 1, "mean": 1200.0},
        {"label": "hosting", "tickets": 2, "mean": 2100.0},
    ]
    emergency = stats(desk, "--priority", "emergency")
    assert (emergency["opened"], emergency["first_response"]["median"]) == (1, 600.0)
    # Since Monday 10:00 only C, D and F were opened, and only C got its first answer.
    later = json.loads(
        desk.tix("stats", "--since", "2025-03-03T10:00", "--format", "json", as_="admin").stdout
    )
    assert (later["opened"], later["first_response"]["count"], later["closed"]) == (3, 1, 3)


def test_stats_on_a_business_hours_calendar(week, monkeypatch):
    desk, _ = week
    monkeypatch.setenv("TIX_BUSINESS_HOURS", "mon-fri 09:00-18:00")
    # C was open Monday 10:00 -> Thursday 11:00: 8 + 9 + 9 + 2 = 28 business hours.
    billing = stats(desk, "--department", "billing")
    assert billing["time_to_close"]["mean"] == 28 * 3600.0
    assert (
        billing["calendar"]
        == "mon 09:00-18:00; tue 09:00-18:00; wed 09:00-18:00; thu 09:00-18:00; fri 09:00-18:00 (UTC)"
    )
    monkeypatch.setenv("TIX_BUSINESS_HOURS", "mon-fri 9-18")
    assert "not like 'mon-fri 09:00-18:00'" in desk.tix("stats", as_="admin", expect=2).stderr


def test_stats_text_csv_and_refusals(week, tmp_path):
    desk, _ = week
    text = desk.tix("stats", "--since", "2025-03-03", as_="admin").stdout.splitlines()
    assert text[2] == "opened           5"
    assert text[4].startswith(
        "first response   mean 30m   median 20m   p90 52m   (target 30m; 66.7% within"
    )
    assert "promise          mean first response 30m vs 30m: kept" in text
    chart = text[text.index("mean first response by hour of day (opened at), | = target 30m") + 1 :]
    assert len(chart) == 24
    assert chart[9].startswith("09 ") and chart[9].endswith("35m (n=2)")
    assert chart[10].endswith("20m (n=1)") and chart[11].rstrip().endswith("|")

    rows = list(
        csv.DictReader(
            io.StringIO(desk.tix("stats", "--since", "2025-03-03", "--format", "csv").stdout)
        )
    )
    assert len(rows) == 1
    assert (rows[0]["opened"], rows[0]["first_response_mean"], rows[0]["time_to_close_p90"]) == (
        "5",
        "1800.0",
        "211680.0",
    )

    assert "only agents" in desk.tix("stats", as_="alpha", expect=4).stderr
    assert "unknown department" in desk.tix("stats", "-d", "nope", expect=2).stderr
    assert "unknown priority" in desk.tix("stats", "-p", "urgent", expect=2).stderr
    assert desk.tix("stats", "--since", "yesterday-ish", expect=2)


def test_stats_plot_writes_a_png_or_says_what_is_missing(week, tmp_path):
    desk, _ = week
    target = tmp_path / "chart.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        result = desk.tix("stats", "--plot", str(target), expect=1)
        assert result.stderr.strip() == (
            "tix: error: --plot needs matplotlib, an optional extra: pip install 'tix[plot]'"
        )
        assert result.stdout == "" and not target.exists()
    else:
        result = desk.tix("stats", "--since", "2025-03-03", "--plot", str(target))
        assert f"chart written to {target}" in result.stdout
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
