"""Hand-made histories for the check tests: a builder and a few correct runs.

Each ``*_run()`` function writes, line by line, the history a correct engine produces
for one catalog scenario; tests then break one fact to see the clause fail.
"""

from __future__ import annotations

from typing import Any

from harness.adapter import ProcessView
from harness.checks import CHECKS, ClauseResult
from harness.history import History, process_record
from scenarios.capabilities import Capabilities
from scenarios.catalog import by_name
from scenarios.effects import effect_target
from scenarios.oracle import expect

CAPS = Capabilities.everything()


class Hist:
    """Builds one scenario's history; every record gets the next tick of a fake clock."""

    def __init__(self, scenario: str) -> None:
        self.scenario = by_name(scenario)
        self.expectation = expect(self.scenario, CAPS)
        self.records: list[dict[str, Any]] = []
        self.procs: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.clock = 100.0

    def tick(self) -> float:
        self.clock += 0.01
        return round(self.clock, 3)

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        record = {"type": kind, "t": self.tick(), **fields}
        self.records.append(record)
        return record

    # ------------------------------------------------------------------ plan
    def launch(self, label: str, pid: str, of: str | None = None) -> Hist:
        op = "relaunch" if of else "launch"
        extra = {"of": of} if of else {}
        self.add("op", op=op, label=label, process=pid, **extra)
        return self

    def effect(self, key: str, pid: str, worker: int = 11, t0: float | None = None,
               t1: float | None = None, raised: bool = False) -> dict[str, Any]:
        start = self.tick() if t0 is None else t0
        return self.add("effect", key=key, target=effect_target(self.scenario, key),
                        process=pid, step=None, attempt=1, engine_attempt=1, worker=worker,
                        t0=start, t1=start + 0.001 if t1 is None else t1, raised=raised)

    def begin(self, key: str, pid: str, worker: int = 11, attempt: int = 1) -> dict[str, Any]:
        return self.add("begin", key=key, target=effect_target(self.scenario, key),
                        process=pid, worker=worker, engine_attempt=attempt)

    def run(self, key: str, pid: str, worker: int = 11, attempt: int = 1) -> dict[str, Any]:
        """A journal ``begin`` then its ``effect``: one body execution."""
        self.begin(key, pid, worker, attempt)
        return self.effect(key, pid, worker)

    def event(self, pid: str, state: str, worker: str | None = None) -> Hist:
        """One engine event (``adapter.events()``), in the engine's own order."""
        self.events.append({"type": "event", "id": len(self.events) + 1, "process": pid,
                            "state": state, "worker": worker, "at": float(len(self.events))})
        return self

    def kill(self, key: str, pid: str, crashpoint: str, worker: int = 11) -> None:
        self.add("fault", source="body", fault="kill_at_crashpoint", status="fired",
                 crashpoint=crashpoint, target=effect_target(self.scenario, key), key=key,
                 process=pid, worker=worker)

    def crash(self, pid: str, crashpoint: str, name: str) -> None:
        self.events.append({"type": "event", "id": len(self.events) + 1, "process": pid,
                            "state": f"crash:{crashpoint}:{name}", "worker": "w1",
                            "at": 1.0})

    # ------------------------------------------------------------------ engine view
    def wf(self, pid: str, path: str, name: str, state: str = "finished",
           exit_status: int | None = 0, outputs: Any = None, parent: str | None = None,
           restart_of: str | None = None) -> Hist:
        self.procs[pid] = dict(id=pid, path=path, kind="workflow", name=name, state=state,
                               exit_status=exit_status, outputs=outputs or {}, parent=parent,
                               children=[], restart_of=restart_of, cached_from=None)
        if parent is not None:
            self.procs[parent]["children"].append(pid)
        return self

    def calc(self, pid: str, path: str, parent: str, outputs: Any, state: str = "finished",
             exit_status: int | None = 0, cached_from: str | None = None) -> Hist:
        name = path.rpartition(":")[2]
        self.procs[pid] = dict(id=pid, path=path, kind="calculation", name=name, state=state,
                               exit_status=exit_status, outputs=outputs, parent=parent,
                               children=[], restart_of=None, cached_from=cached_from)
        self.procs[parent]["children"].append(pid)
        return self

    def terminal(self, *pids: str) -> Hist:
        for pid in pids:
            p = self.procs[pid]
            self.add("terminal", process=pid, path=p["path"], state=p["state"],
                     exit_status=p["exit_status"], outputs=p["outputs"], after_op=0)
        return self

    def set(self, pid: str, **changes: Any) -> Hist:
        self.procs[pid].update(changes)
        return self

    # ------------------------------------------------------------------ result
    def history(self) -> History:
        meta = {"type": "meta", "scenario_name": self.scenario.name, "engine": "hand",
                "tier": "test", "scenario": self.scenario.to_dict()}
        processes = [process_record(ProcessView(**{**p, "children": tuple(p["children"])}))
                     for p in self.procs.values()]
        outcome = {"type": "outcome", "status": "ran", "stopped": [], "unsupported": []}
        return History.from_records([meta, *self.records, *self.events, *processes, outcome])

    def check(self, clause: str) -> ClauseResult:
        return CHECKS[clause](self.scenario, self.expectation, self.history())


# ---------------------------------------------------------------------- correct runs
def c2_run() -> Hist:
    """Steps(7); the worker dies after s2's checkpoint; s3 runs in the next worker."""
    h = Hist("c2_checkpointed_effect_not_repeated").launch("A", "1")
    h.effect("A/s1", "1")
    h.effect("A/s2", "1")
    h.crash("1", "after_checkpoint_before_ack", "A@Steps.s_s2")
    h.effect("A/s3", "1", worker=12)
    return h.wf("1", "A", "Steps", outputs={"out": 7}).terminal("1")


def c3_run() -> Hist:
    """Steps(7); two kills after s2's effect, before its checkpoint: s2 runs 3 times."""
    h = Hist("c3_in_flight_effect_at_most_kills_plus_one").launch("A", "1")
    h.effect("A/s1", "1")
    for worker in (11, 12):
        h.effect("A/s2", "1", worker=worker)
        h.kill("A/s2", "1", "after_effect_before_checkpoint", worker)
    h.effect("A/s2", "1", worker=13)
    h.effect("A/s3", "1", worker=13)
    return h.wf("1", "A", "Steps", outputs={"out": 7}).terminal("1")


FAN_DIGEST = "b62c6bf50ecf415a6231d5e4f3bb52193d31a8bfd573a5a6ae1158c50b0fb68c"


def c6_run() -> Hist:
    """Fan(5); the worker dies after the fan-out's checkpoint; children are awaited."""
    h = Hist("c6_children_awaited_not_relaunched").launch("A", "1")
    h.effect("A/fan", "1")
    h.crash("1", "after_checkpoint_before_ack", "A@Fan.s_fan")
    h.wf("1", "A", "Fan", outputs={"sum": 6, "digest": FAN_DIGEST})
    for pid, path, out in (("2", "A/fan/0:add", {"sum": 6}), ("3", "A/fan/1:add", {"sum": 7}),
                           ("4", "A/fan/2:digest", {"digest": FAN_DIGEST})):
        h.effect(path, pid, worker=12)
        h.calc(pid, path, "1", out)
    h.effect("A/done", "1", worker=12)
    return h.terminal("2", "3", "4", "1")


def relaunch_run_start(cached: bool) -> Hist:
    """``relaunch_run`` up to B's launch: A excepted, B (process 3) launched."""
    name = "add_three_numbers_relaunch_" + ("cached" if cached else "uncached")
    h = Hist(name)
    if cached:
        h.add("op", op="set_caching", default=True, enabled=[], disabled=[])
    h.launch("A", "1")
    h.effect("A/add_xy", "1")
    h.wf("1", "A", "AddThreeNumbers", state="excepted", exit_status=None)
    h.effect("A/add_xy/0:add", "2")
    h.calc("2", "A/add_xy/0:add", "1", {"sum": 3})
    h.effect("A/add_xyz", "1", raised=True)
    h.terminal("2", "1").launch("B", "3", of="A")
    h.wf("3", "B", "AddThreeNumbers", outputs={"sum": 6}, restart_of="1")
    return h


def relaunch_run(cached: bool) -> Hist:
    """AddThreeNumbers(1, 2, 3): A excepts in add_xyz; B is a new instance (process 3)."""
    h = relaunch_run_start(cached)
    h.effect("B/add_xy", "3")
    if cached:
        h.calc("4", "B/add_xy/0:add", "3", {"sum": 3}, cached_from="2")
    else:
        h.effect("B/add_xy/0:add", "4")
        h.calc("4", "B/add_xy/0:add", "3", {"sum": 3})
    h.effect("B/add_xyz", "3")
    h.effect("B/add_xyz/0:add", "5")
    h.calc("5", "B/add_xyz/0:add", "3", {"sum": 6})
    h.effect("B/result", "3")
    return h.terminal("4", "5", "3")


def two_launch_run(scenario: str, workflow: str, steps: dict[str, Any],
                   outputs: dict[str, Any], hits: dict[str, str] | None = None) -> Hist:
    """Two launches A, B of one workflow; ``steps`` maps step -> children outputs (or
    None for a compute step); ``hits`` maps B's calculation paths to their source pid."""
    h = Hist(scenario)
    h.add("op", op="set_caching", default=True, enabled=[], disabled=[])
    pids = iter(str(n) for n in range(1, 100))
    paths: dict[str, str] = {}
    for label in ("A", "B"):
        top = next(pids)
        h.launch(label, top).wf(top, label, workflow, outputs=outputs)
        for step, children in steps.items():
            h.effect(f"{label}/{step}", top)
            for index, (calc, out) in enumerate((children or {}).items()):
                pid, path = next(pids), f"{label}/{step}/{index}:{calc}"
                source = (hits or {}).get(path)
                if source is None:
                    h.effect(path, pid)
                h.calc(pid, path, top, out, cached_from=paths.get(source) if source else None)
                paths[path] = pid
                h.terminal(pid)
        h.terminal(top)
    return h
