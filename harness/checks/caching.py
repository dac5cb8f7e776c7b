"""Checks of the caching clauses K1..K8, from the engine's view of each node's source.

A node is an observed cache hit when the engine names its source (``cached_from``), or
the storage key it read (``cached_from_key``): then its source is the process whose
result the engine stored under that key (``Observation.source_of``).
The oracle's ``CacheExpectation`` per calculation path says whether it must hit
(``hit``), from which valid sources, and whether caching was on for its type.
"""

from __future__ import annotations

from harness.adapter import ACTIVE_STATES, ProcessView
from harness.checks._facts import Facts, Verdict, same_outputs
from harness.checks._order import EngineOrder
from harness.checks.result import ClauseResult
from harness.history import History, Line
from scenarios.effects import is_calc_key
from scenarios.oracle.expectation import CacheExpectation, Expectation
from scenarios.scenario import Scenario
from scenarios.values import first_difference

__all__ = [
    "check_k1", "check_k2", "check_k3", "check_k4",
    "check_k5", "check_k6", "check_k7", "check_k8",
]


def _hits(f: Facts) -> list[tuple[ProcessView, ProcessView | None]]:
    return [(view, f.observation.source_of(view)) for view in f.observation.processes
            if view.is_hit]


def _source_name(view: ProcessView) -> str:
    """How the hit names its source: a process id, or the storage key it read."""
    return str(view.cached_from) if view.cached_from is not None \
        else f"key {view.cached_from_key!r}"


def _source_phrase(view: ProcessView, source: ProcessView) -> str:
    """``source.path`` with how it was found: by the id the hit named, or as the process
    whose result the engine stored under the key the hit read."""
    if view.cached_from is not None:
        return f"{source.path} (process {source.id})"
    return (f"{source.path} (process {source.id}, which stored its result under key "
            f"{view.cached_from_key!r})")


def _invalidations(f: Facts) -> list[Line]:
    return [line for line in f.history.of("op") if line.get("op") == "invalidate"]


def _invalidated_before(f: Facts, source: ProcessView, hit: ProcessView) -> Line | None:
    launch = f.launch_lines.get(f.launch_of(hit.path or ""))
    for line in _invalidations(f):
        if line.get("path") == source.path and (
                launch is None or float(line["t"]) < float(launch["t"])):
            return line
    return None


def _judge_rule(v: Verdict, f: Facts, expectation: Expectation, rule: str) -> None:
    """Judge every lookup whose decision the declared `rule` (`CacheExpectation.rules`)
    decides, both ways, naming the rule through the model's reason: a hit the rule
    forbids, and an execution where the rule keeps an equal source."""
    for path, cache in sorted(expectation.cache.items()):
        views = f.views_at(path)
        if not cache.decided_by(rule) or not views:
            continue
        v.saw()
        hits = [view for view in views if view.is_hit]
        if cache.hit is False and hits:
            source = f.observation.source_of(hits[0])
            named = _source_name(hits[0]) if source is None else \
                _source_phrase(hits[0], source)
            v.fail(f"{path} (process {hits[0].id}) hit {named} although the model wants a "
                   f"miss: the inputs are equal, but {cache.reason}",
                   f.process_line(hits[0].id),
                   *([f.process_line(source.id)] if source is not None else []))
        elif cache.hit is True and not hits and any(map(f.executed, views)):
            v.fail(f"{path} (process {views[0].id}) executed although the model wants a hit "
                   f"from {', '.join(cache.sources)}: {cache.reason}",
                   f.process_line(views[0].id), *f.executed(views[0])[:1])


def _left_to_a_rule(expectation: Expectation, source: ProcessView,
                    cache: CacheExpectation) -> bool:
    """Whether a declared rule decides this lookup and the hit's inputs equal its
    source's: K3 or K7 judges it then, not the hash clauses."""
    if not cache.rules:
        return False
    known = expectation.cache.get(source.path or "")
    return known is not None and known.inputs is not None and cache.inputs is not None \
        and first_difference(dict(known.inputs), dict(cache.inputs), "inputs") is None


def check_k1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K1: a cache hit executes no effect."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K1", f)
    order = EngineOrder.of(history)
    for view, _source in _hits(f):
        v.saw()
        ran = []
        for effect in f.executed(view):
            if _cut_by_kill(f, effect):
                continue
            if _cut_by_service_fault(f, effect):
                if not order.claims_offered:
                    v.excused_loosely(effect["key"])  # the sentence says so
                    continue
                if _claimed_after_its_bodies(f, order, view.id):
                    continue
            ran.append(effect)
        if ran:
            v.fail(f"cache hit {view.path} (process {view.id}, source {_source_name(view)}) "
                   f"executed its body in worker {ran[0]['worker']}",
                   f.process_line(view.id), ran[0])
    for issue in f.count_issues():
        cache = expectation.cache.get(issue.key)
        if issue.over and cache is not None and cache.hit is True and not cache.rules:
            # (a lookup a declared rule decides is K3's or K7's: its node is no hit)
            v.fail(f"{issue.describe()}: it must be a cache hit, which executes nothing",
                   *issue.lines[:3])
    return v.result(f"{v.checked} cache hit(s) executed no effect", "no cache hit happened")


def _cut_by_kill(f: Facts, effect: Line) -> bool:
    """Whether a kill cut the attempt that ran ``effect`` after the effect, before its
    outcome was committed: a later attempt of the process may then find an equal
    finished sibling and end as a hit. The hit executed nothing; the lost attempt's
    effect belongs to C3's count, not to K1."""
    return any(kill.get("worker") == effect["worker"] and float(kill["t"]) >= float(effect["t1"])
               for kill in f.kills_by_key.get(effect["key"], ()))


def _cut_by_service_fault(f: Facts, effect: Line) -> bool:
    """Whether the run that executed ``effect`` is one a service fault (a broker or
    database restart, a cut connection) could have cut (``Facts.service_runs``, the runs
    C2 and C3 excuse: in flight at the fault, begun during it, or the first begun after
    it): the restart took the delivery back, the attempt's commit was refused, and the
    redelivered task found an equal sibling finished. Loose, as C3's bound is there:
    which task a restart takes back, and when its worker notices, is the engine's
    timing. Found by 20-minute campaigns of the correct engine (seeds 2026120401 and
    2026120402, 2026-12-04): a broker restart landed on a calculation's effect, or just
    before a sibling's body, and each retry was an honest hit. Where the engine logs
    its claims, ``check_k1`` also asks for a later claim (``_claimed_after_its_bodies``)."""
    pid = str(effect["process"])
    began = float(effect["t0"])
    for index, (t, key, _line) in enumerate(f.runs.get(pid, ())):
        if key == effect["key"] and t == began:
            return (pid, index) in f.service_runs
    return False


def _claimed_after_its_bodies(f: Facts, order: EngineOrder, pid: str) -> bool:
    """Whether the engine claimed the hit ``pid`` after the last attempt that began a
    body: the evidence, where the engine logs its claims, that a service fault cut the
    attempt that ran the body and a later attempt, one that ran no body, ended as the
    hit. Without it the body ran in the attempt that hit (a hit that executes once: K1
    fails), which ``_cut_by_service_fault``'s timing alone cannot tell apart.

    The engine's claims carry no clock the journal shares, so "after" is read from the
    attempt numbers: a process's n-th claim is its attempt n (``engine_attempt`` on the
    journal's lines), so more claims than the highest numbered body attempt means a
    claim after it. A claim that ran no body *before* the body (a worker that died after
    its claim, a database restart that cut it) then excuses nothing. Without attempt
    numbers, the count of distinct (worker, attempt) body runs stands in for it."""
    attempts = {(line.get("worker"), line.get("engine_attempt"))
                for _t, _key, line in f.runs.get(pid, ())}
    numbers = [n for _worker, n in attempts]
    if numbers and all(type(n) is int for n in numbers):
        return order.claims(pid) > max(numbers)  # type: ignore[type-var]  # ints, checked
    return order.claims(pid) > len(attempts)


def check_k2(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K2: a hit's outputs equal its source's, and the hit names its source."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K2", f)
    for view, source in _hits(f):
        v.saw()
        line = f.process_line(view.id)
        if source is None and view.cached_from is not None:
            v.fail(f"cache hit {view.path} (process {view.id}) names source "
                   f"{view.cached_from}, which the engine does not know", line)
        elif source is None:
            v.fail(f"cache hit {view.path} (process {view.id}) read key "
                   f"{view.cached_from_key!r}, under which no process of this run stored a "
                   "result", line)
        elif not same_outputs(view.outputs, source.outputs):
            v.fail(f"cache hit {view.path} (process {view.id}) returned "
                   f"{dict(view.outputs or {})!r} but its source {_source_phrase(view, source)}"
                   f" returned {dict(source.outputs or {})!r}",
                   line, f.process_line(source.id))
    for path, cache in sorted(expectation.cache.items()):
        for view in f.views_at(path) if cache.hit is True else ():
            if not view.is_hit and view.state == "finished" and not f.executed(view):
                v.fail(f"{path} (process {view.id}) finished without executing but names no "
                       "cache source", f.process_line(view.id))
    by_key = sum(1 for view, _ in _hits(f) if view.cached_from is None)
    how = (f" ({by_key} named by storage key, judged against the process that stored its "
           "result under that key)") if by_key else ""
    return v.result(f"{v.checked} cache hit(s) returned their named source's outputs{how}",
                    "no cache hit happened")


def check_k3(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K3: hits never come from excepted, killed, unfinished or invalidated sources."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K3", f)
    for view, source in _hits(f):
        if source is None:
            continue
        v.saw()
        lines = (f.process_line(view.id), f.process_line(source.id))
        cache = expectation.cache.get(view.path or "")
        invalidated = _invalidated_before(f, source, view)
        if source.state in ACTIVE_STATES \
                and f.observation.identity(source) == f.observation.identity(view):
            # The node's own earlier attempt (``attempt_of``), whose worker died after it
            # stored its result and before its end was recorded: the next attempt resuming
            # from that result is a continuation from its checkpoint, which C2 wants, not a
            # cache hit from an unfinished node; the lost end is L1's and P1's (as in K4).
            continue
        if source.state != "finished":
            v.fail(f"cache hit {view.path} (process {view.id}) came from {source.path} "
                   f"(process {source.id}), which is {source.state}", *lines)
        elif invalidated is not None:
            v.fail(f"cache hit {view.path} (process {view.id}) came from {source.path} "
                   f"(process {source.id}), invalidated before this launch", invalidated,
                   *lines)
        elif source.exit_status and cache is not None and source.name == view.name \
                and source.path not in cache.sources:
            v.fail(f"cache hit {view.path} came from {source.path}, which failed with exit "
                   f"status {source.exit_status}; the declared failed-source policy forbids "
                   f"it ({cache.reason})", *lines)
    for path, cache in sorted(expectation.cache.items()):
        views = f.views_at(path)
        if cache.caching_enabled and cache.hit is False and views \
                and not any(view.is_hit for view in views):
            v.saw()  # a miss where the model rejects or lacks a source is K3 evidence too
    _judge_rule(v, f, expectation, "invalidation_scope")
    return v.result(f"{v.checked} lookup(s) hit only finished, valid sources"
                    f"{_ruled(expectation, 'invalidation_scope')}",
                    "no lookup with caching on happened")


def check_k4(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K4: any change of any input misses (up to the declared normalisations)."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K4", f)
    normalised = []
    for path, cache in sorted(expectation.cache.items()):
        views = f.views_at(path)
        if not views or not cache.caching_enabled or cache.hit is None:
            continue
        v.saw()
        if cache.via_normalisation and any(view.is_hit for view in views):
            normalised.append(path)
        if cache.hit is not False:
            continue
        for view in views:
            source = f.observation.source_of(view)
            if source is not None and source.name == view.name and source.state == "finished" \
                    and not source.exit_status and _invalidated_before(f, source, view) is None \
                    and not _left_to_a_rule(expectation, source, cache) \
                    and f.observation.identity(source) != f.observation.identity(view):
                # (a hit on an earlier attempt of the same node (``attempt_of``) is a
                # resumption, not hash sensitivity: C2/N1 judge it, K6 when caching is off)
                v.fail(f"{path} (process {view.id}) hit {source.path} (process {source.id}) "
                       f"{_why_miss(expectation, source, cache)}", f.process_line(view.id),
                       f.process_line(source.id))
    note = f"; hits only through a declared normalisation: {', '.join(normalised)}" \
        if normalised else ""
    return v.result(f"{v.checked} lookup(s) with caching on hit exactly when inputs were "
                    f"equal{note}")


def _why_miss(expectation: Expectation, source: ProcessView, cache: CacheExpectation) -> str:
    """Why the model wanted a miss, naming the true cause: differing inputs (with the
    pair), or equal inputs and a source that was not a valid earlier node (the model's
    reason: e.g. it finished only after this lookup). Never "inputs differ" when they
    did not."""
    known = expectation.cache.get(source.path or "")
    if known is not None and known.inputs is not None and cache.inputs is not None \
            and first_difference(dict(known.inputs), dict(cache.inputs), "inputs") is None:
        return f"although the model wants a miss: the inputs are equal, but {cache.reason}"
    if known is None or known.inputs is None or cache.inputs is None:
        return f"although the model wants a miss ({cache.reason})"
    return f"although its inputs differ{_pair(expectation, source, cache)} ({cache.reason})"


def _pair(expectation: Expectation, source: ProcessView, cache: CacheExpectation) -> str:
    """Where the hit's inputs differ from its source's, as the model knows them: the exact
    pair and its path (`: inputs['x'][0]: (1, 2) vs [1, 2]`), or "" when unknown."""
    known = expectation.cache.get(source.path or "")
    if known is None or known.inputs is None or cache.inputs is None:
        return ""
    found = first_difference(dict(known.inputs), dict(cache.inputs), "inputs")
    return "" if found is None else f" at {found} (source vs hit)"


def check_k5(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K5: equal inputs hit across worker restarts and separate processes."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K5", f)
    for path, cache in sorted(expectation.cache.items()):
        views = f.views_at(path)
        if cache.hit is not True or not views or cache.rules:
            continue  # a declared rule's lookups: K3 and K7 judge them, naming the rule
        v.saw()
        if not any(view.is_hit for view in views) and any(map(f.executed, views)):
            v.fail(f"{path} (process {views[0].id}) executed although an equal, valid source "
                   f"exists ({', '.join(cache.sources)}): the hash is not stable",
                   f.process_line(views[0].id), *f.executed(views[0])[:1])
    ruled = sum(1 for cache in expectation.cache.values() if cache.rules)
    return v.result(f"{v.checked} lookup(s) with an equal valid source hit",
                    "no lookup had an equal valid source" + (
                        f" but for {ruled} a declared rule decides (K3 and K7 judge those)"
                        if ruled else ""))


def check_k6(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K6: workflows are never cached; caching off never hits."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K6", f)
    for view in f.observation.processes:
        if view.kind == "workflow":
            v.saw()
            if view.is_hit:
                v.fail(f"workflow {view.path} (process {view.id}) is a cache hit from "
                       f"{_source_name(view)}; workflows are never cached",
                       f.process_line(view.id))
    for path, cache in sorted(expectation.cache.items()):
        if cache.caching_enabled:
            continue
        for view in f.views_at(path):
            v.saw()
            if view.is_hit:
                v.fail(f"caching is off for {cache.calc} ({cache.reason}), yet {path} "
                       f"(process {view.id}) hit {_source_name(view)}", f.process_line(view.id))
    for issue in f.count_issues():
        config = f.config.get(f.launch_of(issue.key))
        if config is not None and not issue.over and not is_calc_key(issue.key):
            v.fail(f"{issue.describe()}: with caching configured, a workflow's steps still "
                   "run in every launch", f.launch_lines.get(f.launch_of(issue.key)))
    return v.result(f"no workflow was cached and caching off never hit ({v.checked} nodes)")


def check_k7(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K7: per-type caching configuration is honoured."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K7", f)
    for path, cache in sorted(expectation.cache.items()):
        config = f.config.get(f.launch_of(path))
        views = f.views_at(path)
        if config is None or not (config.enabled or config.disabled) or not views \
                or cache.decided_by("caching_config_applies"):
            continue
        v.saw()
        hit = any(view.is_hit for view in views)
        rule = (f"default {'on' if config.default else 'off'}, enabled {list(config.enabled)},"
                f" disabled {list(config.disabled)}")
        if hit and not cache.caching_enabled:
            v.fail(f"{path} of type {cache.calc} hit although caching is off for it ({rule})",
                   f.process_line(views[0].id))
        elif cache.hit is True and not hit and any(map(f.executed, views)):
            v.fail(f"{path} of type {cache.calc} executed although caching is on for it "
                   f"({rule}) and {', '.join(cache.sources)} is an equal source",
                   f.process_line(views[0].id))
    _judge_rule(v, f, expectation, "caching_config_applies")
    return v.result(f"{v.checked} lookup(s) followed the caching configuration"
                    f"{_ruled(expectation, 'caching_config_applies')}",
                    "no lookup ran under a per-type configuration or after a change of it")


def _ruled(expectation: Expectation, rule: str) -> str:
    """How many lookups the declared `rule` decided, naming its value, for a pass."""
    ruled = [r for cache in expectation.cache.values() for r in cache.rules
             if r.partition("=")[0] == rule]
    return f" ({len(ruled)} decided by the declared rule {ruled[0]})" if ruled else ""


def check_k8(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """K8: two different calculation types never hit each other."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("K8", f)
    for view, source in _hits(f):
        if source is None:
            continue
        v.saw()
        if source.name != view.name or source.kind != view.kind:
            cache = expectation.cache.get(view.path or "")
            pair = _pair(expectation, source, cache) if cache is not None else ""
            v.fail(f"{view.path} of type {view.name} hit {source.path} (process {source.id}) "
                   f"of type {source.name}{pair or ' (inputs equal)'}",
                   f.process_line(view.id), f.process_line(source.id))
    lookups = sum(1 for c in expectation.cache.values() if c.caching_enabled)
    v.saw(lookups)
    return v.result(f"no hit crossed calculation types ({v.checked} lookups and hits)")
