"""`tix stats`: how fast we answer, computed from the event log.

Definitions (all durations on the SLA calendar, which is wall-clock time unless
TIX_BUSINESS_HOURS is set; department and priority are the tickets' current ones):
- opened: tickets whose `created` event is in the period;
- first response: for those tickets (less the ones merged away before an answer), the time from
  creation to the first agent reply; still unanswered ones are counted as `awaiting`;
- next response: from a customer message (the first of a run) to the next agent reply, both in
  the period;
- closed: tickets closed in the period (merges are counted apart, as `merged`); time to close is
  creation -> their last closure in the period; auto-closed share is the part closed by
  tix-jobs; reopen rate is the part reopened after that closure;
- p90 is the inclusive linear-interpolation percentile (numpy's default).
"""

import json
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from tix import clock
from tix.errors import InvalidInput
from tix.models import PRIORITIES, Department, Event, Ticket

KINDS = ("created", "agent-reply", "customer-reply", "closed", "reopened", "merged")
CHART_BY = ("hour", "department")


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = (
        ordered[0]
        if len(ordered) == 1
        else statistics.quantiles(ordered, n=10, method="inclusive")[-1]
    )
    return {
        "count": len(ordered),
        "mean": round(statistics.fmean(ordered), 1),
        "median": round(statistics.median(ordered), 1),
        "p90": round(p90, 1),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(
    *,
    since: datetime,
    department: str | None = None,
    priority: str | None = None,
    by: str = "hour",
    targets=None,
    tz=None,
) -> dict:
    from tix import sla
    from tix.tickets import check_priority, department_by_slug

    if by not in CHART_BY:
        raise InvalidInput(f"--by {by!r}: use one of {', '.join(CHART_BY)}")
    targets = targets or sla.load()
    until = clock.now()
    if since >= until:
        raise InvalidInput("--since must be in the past")
    query = (
        Event.select(
            Event.ticket,
            Event.actor,
            Event.kind,
            Event.at,
            Event.after,
            Ticket.created_at,
            Ticket.priority,
            Department.slug,
        )
        .join(Ticket, on=(Event.ticket == Ticket.id))
        .join(Department, on=(Ticket.department == Department.id))
        .where(Event.at >= since, Event.at <= until, Event.kind.in_(KINDS))
        .order_by(Event.at, Event.id)
    )
    if department:
        query = query.where(Ticket.department == department_by_slug(department).id)
    if priority:
        query = query.where(Ticket.priority == check_priority(priority))

    per_ticket = defaultdict(list)
    info = {}
    for row in query.tuples().iterator():
        ticket_id, actor, kind, at, after, created_at, prio, dept = row
        if kind == "reopened" and actor.startswith("contact:"):
            # A customer who reopens (a reply to a closed ticket is one `reopened` event) is
            # waiting for an answer, as after any reply of theirs.
            per_ticket[ticket_id].append(("customer-reply", at, {}))
        per_ticket[ticket_id].append((kind, at, json.loads(after) if after else {}))
        info[ticket_id] = (
            created_at,
            prio if isinstance(prio, str) else PRIORITIES[int(prio) - 1],
            dept,
        )

    cal = targets.calendar
    first, nexts, to_close = [], [], []
    first_met = first_with_target = next_met = next_with_target = 0
    opened = awaiting = closed = auto_closed = reopened = merged = 0
    buckets = defaultdict(list)
    for ticket_id, events in per_ticket.items():
        created_at, prio, dept = info[ticket_id]
        first_target = targets.target("first_response", dept, prio)
        next_target = targets.target("next_response", dept, prio)
        was_created = any(kind == "created" for kind, _, _ in events)
        opened += was_created
        first_pending = was_created
        customer_waiting = None
        last_close = None  # (at, reason) of the last closure in the period
        reopened_after_close = False
        for kind, at, after in events:
            if kind == "agent-reply":
                if first_pending:
                    first_pending = False
                    took = _seconds(cal.elapsed(created_at, at))
                    first.append(took)
                    local = clock.to_local(created_at, tz)
                    buckets[f"{local.hour:02d}" if by == "hour" else dept].append(took)
                    if first_target is not None:
                        first_with_target += 1
                        first_met += took <= _seconds(first_target)
                elif customer_waiting is not None:
                    took = _seconds(cal.elapsed(customer_waiting, at))
                    nexts.append(took)
                    if next_target is not None:
                        next_with_target += 1
                        next_met += took <= _seconds(next_target)
                customer_waiting = None
            elif kind == "customer-reply":
                if customer_waiting is None and not first_pending:
                    customer_waiting = at
            elif kind == "closed":
                last_close = (at, after.get("reason"))
                reopened_after_close = False
            elif kind == "reopened" and last_close is not None:
                reopened_after_close = True
            elif kind == "merged":
                merged += 1
                first_pending = False  # a duplicate merged away is answered on the other ticket
                customer_waiting = None
        if first_pending:
            awaiting += 1
        if last_close is not None:
            closed += 1
            auto_closed += last_close[1] == "auto"
            reopened += reopened_after_close
            to_close.append(_seconds(cal.elapsed(created_at, last_close[0])))

    default_target = targets.target("first_response", department or "*", priority or "*")
    chart_rows = []
    labels = [f"{h:02d}" for h in range(24)] if by == "hour" else sorted(buckets)
    for label in labels:
        values = buckets.get(label, [])
        chart_rows.append(
            {
                "label": label,
                "tickets": len(values),
                "mean": round(statistics.fmean(values), 1) if values else None,
            }
        )
    return {
        "since": clock.iso(since, tz),
        "until": clock.iso(until, tz),
        "department": department,
        "priority": priority,
        "calendar": cal.describe(),
        "opened": opened,
        "closed": closed,
        "merged": merged,
        "auto_closed": auto_closed,
        "auto_closed_share": _share(auto_closed, closed),
        "reopened": reopened,
        "reopen_rate": _share(reopened, closed),
        "first_response": dict(
            summary(first),
            awaiting=awaiting,
            target=_seconds(default_target) if default_target else None,
            within_target=_share(first_met, first_with_target),
        ),
        "next_response": dict(summary(nexts), within_target=_share(next_met, next_with_target)),
        "time_to_close": summary(to_close),
        "chart": {"by": by, "rows": chart_rows},
    }


def flat(result: dict) -> dict:
    """One row for CSV: nested figures as `first_response_mean` etc.; the chart left out."""
    row = {}
    for key, value in result.items():
        if key == "chart":
            continue
        if isinstance(value, dict):
            row.update({f"{key}_{sub}": v for sub, v in value.items()})
        else:
            row[key] = value
    return row


# -- showing it -------------------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def report_lines(result: dict, *, width: int = 40, bar: str = "█") -> list[str]:
    first, nxt, close = result["first_response"], result["next_response"], result["time_to_close"]
    scope = ", ".join(filter(None, [result["department"], result["priority"]])) or "all tickets"
    target = first["target"]
    lines = [
        f"{scope}, {result['since']} .. {result['until']} (clock: {result['calendar']})",
        "",
        f"opened           {result['opened']}",
        f"closed           {result['closed']}   auto-closed {result['auto_closed']} "
        f"({_percent(result['auto_closed_share'])})   reopened {result['reopened']} "
        f"({_percent(result['reopen_rate'])})   merged {result['merged']}",
        f"first response   mean {human_duration(first['mean'])}   median "
        f"{human_duration(first['median'])}   p90 {human_duration(first['p90'])}   "
        f"(target {human_duration(target)}; {_percent(first['within_target'])} within; "
        f"{first['count']} answered, {first['awaiting']} awaiting)",
        f"next response    mean {human_duration(nxt['mean'])}   median {human_duration(nxt['median'])}"
        f"   p90 {human_duration(nxt['p90'])}   ({_percent(nxt['within_target'])} within target)",
        f"time to close    mean {human_duration(close['mean'])}   median "
        f"{human_duration(close['median'])}   p90 {human_duration(close['p90'])}",
    ]
    if target is not None and first["mean"] is not None:
        verdict = "kept" if first["mean"] <= target else "NOT kept"
        lines.append(
            f"promise          mean first response {human_duration(first['mean'])} vs "
            f"{human_duration(target)}: {verdict}"
        )
    rows = result["chart"]["rows"]
    lines += [
        "",
        f"mean first response by {'hour of day (opened at)' if result['chart']['by'] == 'hour' else 'department'}"
        + (f", | = target {human_duration(target)}" if target else ""),
    ]
    scale = max([r["mean"] or 0 for r in rows] + [target or 0]) or 1
    label_width = max([len(r["label"]) for r in rows] + [2])
    for row in rows:
        length = (row["mean"] or 0) / scale * width
        cells = list(
            bar * int(length) + ("▌" if bar == "█" and length - int(length) >= 0.5 else "")
        )
        cells += [" "] * (width + 1 - len(cells))
        if target:
            mark = min(int(target / scale * width), width)
            if cells[mark] == " ":
                cells[mark] = "|"
        figure = f"{human_duration(row['mean'])} (n={row['tickets']})" if row["tickets"] else ""
        lines.append(f"{row['label']:>{label_width}} {''.join(cells)} {figure}".rstrip())
    return lines


def plot(result: dict, path: str) -> None:
    """The chart as a PNG; matplotlib is an optional extra (`pip install 'tix[plot]'`)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = result["chart"]["rows"]
    target = result["first_response"]["target"]
    figure, axes = pyplot.subplots(figsize=(10, 4.5))
    axes.bar([r["label"] for r in rows], [(r["mean"] or 0) / 60 for r in rows], color="#3b7dd8")
    if target:
        axes.axhline(
            target / 60, color="#d83b3b", linestyle="--", label=f"target {human_duration(target)}"
        )
        axes.legend()
    by = "hour of day (opened at)" if result["chart"]["by"] == "hour" else "department"
    axes.set_xlabel(by)
    axes.set_ylabel("mean first response (minutes)")
    scope = ", ".join(filter(None, [result["department"], result["priority"]])) or "all tickets"
    axes.set_title(f"First response by {by}: {scope}, since {result['since']}")
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)


def matplotlib_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None
