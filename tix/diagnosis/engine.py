"""Running the probes: concurrently, each within its own timeout, all within the budget.

Probes run on daemon threads. When the budget is spent the engine stops waiting: whatever a
probe had not reported by then is recorded as could-not-check, and its thread is left to end
on its own deadline (every socket and DNS question of a probe carries one), never joined. A
probe that raises costs only its own results.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from tix.diagnosis.model import COULD_NOT_CHECK, FAIL, OK, WARN, Fix, Result, Target

NOT_FINISHED_EN = "not finished within the budget"
NOT_FINISHED_ES = "no terminó dentro del tiempo disponible"


class ProbeTimeout(Exception):
    """A probe's own deadline passed (`budget` says whether it was the whole diagnosis')."""

    def __init__(self, what: str, budget: bool = False):
        super().__init__(what)
        self.budget = budget


@dataclass
class Task:
    name: str
    target: Target
    fn: object  # fn(ctx) -> iterable of Result, or None (results emitted through ctx)
    check_ids: tuple[str, ...]
    label: str = ""  # what the results are about, when not the target's name
    order: int = 0
    results: list = field(default_factory=list)
    done: bool = False
    started: bool = False


class Run:
    """One diagnosis under way: the task queue, the clock, what has been reported."""

    def __init__(self, conf, guard, dns, reveals=None):
        self.conf, self.guard, self.dns = conf, guard, dns
        self.reveals = reveals  # reveals(text) -> True when text names something private
        self.started = time.monotonic()
        self.deadline = self.started + conf.budget
        self.cond = threading.Condition()
        self.queue: deque[Task] = deque()
        self.tasks: list[Task] = []
        self.pending = 0
        self.workers = 0
        self.idle = 0
        self.sealed = False
        self.emitted = 0
        self.shared: dict = {}  # facts probes share (memoised under `memo`)
        self.shared_lock = threading.Lock()

    # -- scheduling ----------------------------------------------------------------------

    def add(self, task: Task) -> None:
        with self.cond:
            if self.sealed:
                return
            task.order = len(self.tasks)
            self.tasks.append(task)
            self.queue.append(task)
            self.pending += 1
            # A new thread whenever the idle ones cannot take every queued task at once: a task
            # must never wait behind another that is stuck on a black hole.
            if len(self.queue) > self.idle and self.workers < self.conf.workers:
                self.workers += 1
                threading.Thread(target=self._work, name="tix-probe", daemon=True).start()
            else:
                self.cond.notify()

    def _work(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.sealed:
                    self.idle += 1
                    self.cond.wait(max(0.01, self.deadline - time.monotonic()))
                    self.idle -= 1
                    if time.monotonic() >= self.deadline:
                        return
                if self.sealed or time.monotonic() >= self.deadline:
                    return
                task = self.queue.popleft()
                task.started = True
            self._run(task)
            with self.cond:
                task.done = True
                self.pending -= 1
                self.cond.notify_all()

    def _run(self, task: Task) -> None:
        ctx = Context(self, task)
        try:
            produced = task.fn(ctx)
            for result in produced or ():
                ctx.emit(result)
        except ProbeTimeout as exc:
            ctx.unfinished(str(exc), budget=exc.budget)
        except Exception as exc:  # a probe's crash is its own could-not-check
            line = (str(exc).splitlines() or [""])[0][:200]
            ctx.unfinished(
                f"the check failed: {type(exc).__name__}: {line}",
                es=f"la comprobación falló: {type(exc).__name__}: {line}",
            )

    def wait(self) -> None:
        with self.cond:
            while self.pending and time.monotonic() < self.deadline:
                self.cond.wait(self.deadline - time.monotonic())
            self.sealed = True
            self.cond.notify_all()

    # -- results ---------------------------------------------------------------------------

    def collect(self) -> tuple[list[Result], int]:
        """Every result in plan order; what was not finished becomes could-not-check."""
        results, timed_out = [], 0
        with self.cond:
            for task in self.tasks:
                results.extend(task.results)
                if task.done:
                    continue
                seen = {r.check_id for r in task.results}
                for check_id in task.check_ids or (task.name,):
                    if check_id not in seen:
                        timed_out += 1
                        results.append(
                            Result(
                                check_id,
                                task.label or task.target.name,
                                COULD_NOT_CHECK,
                                {"reason": "budget", "budget_s": self.conf.budget},
                                NOT_FINISHED_EN,
                                NOT_FINISHED_ES,
                            )
                        )
        return results, timed_out

    def accept(self, task: Task, result: Result) -> None:
        with self.cond:
            if self.sealed or self.emitted >= self.conf.max_results:
                return
            self.emitted += 1
            task.results.append(result)


class Context:
    """What a probe gets: its target, the settings, DNS, the guard, its clock, and `emit`."""

    def __init__(self, run: Run, task: Task):
        self.run, self.task = run, task
        self.target = task.target
        self.conf = run.conf
        self.guard = run.guard
        self.dns = run.dns
        self.deadline = min(time.monotonic() + run.conf.probe_timeout, run.deadline)

    @property
    def label(self) -> str:
        return self.task.label or self.target.name

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.timeout("time ran out")
        return left

    def timeout(self, what: str):
        raise ProbeTimeout(what, budget=self.deadline >= self.run.deadline)

    def emit(self, result: Result) -> Result:
        if (
            self.run.reveals
            and not result.private
            and self.run.reveals(f"{result.target}\n{result.text_en}\n{result.text_es}")
        ):
            result.private = True  # its text names an address the customer must not see
        self.run.accept(self.task, result)
        return result

    def say(
        self,
        check_id: str,
        status: str,
        en: str,
        es: str,
        facts: dict | None = None,
        *,
        target: str | None = None,
        private: bool = False,
        fix: Fix | None = None,
    ) -> Result:
        private = private or _private_check(check_id, self.conf.private)
        return self.emit(
            Result(check_id, target or self.label, status, facts or {}, en, es, private, fix)
        )

    def ok(self, check_id, en, es, facts=None, **kw):
        return self.say(check_id, OK, en, es, facts, **kw)

    def warn(self, check_id, en, es, facts=None, **kw):
        return self.say(check_id, WARN, en, es, facts, **kw)

    def fail(self, check_id, en, es, facts=None, **kw):
        return self.say(check_id, FAIL, en, es, facts, **kw)

    def unknown(self, check_id, en, es, facts=None, **kw):
        return self.say(check_id, COULD_NOT_CHECK, en, es, facts, **kw)

    def unfinished(self, en: str, es: str | None = None, budget: bool = False) -> None:
        """Every check this task promised and did not report: could-not-check."""
        es = es or ("no terminó dentro del tiempo disponible" if budget else f"sin respuesta: {en}")
        if budget:
            en, es = NOT_FINISHED_EN, NOT_FINISHED_ES
        seen = {r.check_id for r in self.task.results}
        for check_id in self.task.check_ids or (self.task.name,):
            if check_id not in seen:
                self.unknown(check_id, en, es, {"reason": "budget" if budget else "error"})

    def spawn(self, name, fn, check_ids, label: str = "", target: Target | None = None) -> None:
        """Another task (one per MX host, per address...), run concurrently with this one."""
        self.run.add(Task(name, target or self.target, fn, tuple(check_ids), label))

    def first_time(self, key) -> bool:
        """True for the first probe of this diagnosis that asks about `key`."""
        with self.run.shared_lock:
            seen = self.run.shared.setdefault("first_time", set())
            if key in seen:
                return False
            seen.add(key)
            return True

    def memo(self, key, compute):
        """`compute()` once per diagnosis for `key`, shared by every probe that asks."""
        with self.run.shared_lock:
            slot = self.run.shared.get(key)
            if slot is None:
                slot = self.run.shared[key] = [threading.Event(), None, None]
                owner = True
            else:
                owner = False
        if owner:
            try:
                slot[1] = compute()
            except BaseException as exc:
                slot[2] = exc
            finally:
                slot[0].set()
        elif not slot[0].wait(max(0.0, self.deadline - time.monotonic())):
            self.timeout("waiting for another check")
        if slot[2] is not None:
            raise slot[2]
        return slot[1]


def _private_check(check_id: str, private: tuple[str, ...]) -> bool:
    from fnmatch import fnmatchcase

    return any(("." in p or "*" in p) and fnmatchcase(check_id, p) for p in private)


STATUS_ORDER = {OK: 0, WARN: 1, FAIL: 2, COULD_NOT_CHECK: 3}
__all__ = ["FAIL", "OK", "WARN", "Context", "ProbeTimeout", "Run", "Task"]
