"""``CheckedAdapter``: checks an adapter's side of the protocol at run time.

Why: an adapter that returns the wrong thing (a state the harness does not know, a
handle for another label, an int id) would otherwise surface as a puzzling verdict
far away. The wrapper turns it into a ``ContractError`` naming the method, the value
and the expectation. It checks types and shapes only, never semantics: a relaunch
that reuses an id is an engine bug for clause N2 to find, not a contract breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.adapter import (
    ACTIVE_STATES,
    OPERATIONS,
    OPTIONAL_METHODS,
    OWNERSHIP_ACTIONS,
    TERMINAL_STATES,
    EngineAdapter,
    Handle,
    Observation,
    Ownership,
    ProcessView,
)
from harness.errors import ContractError, Unsupported
from harness.session import Session
from scenarios.capabilities import Capabilities

__all__ = ["CheckedAdapter"]

_STATES = ACTIVE_STATES | TERMINAL_STATES


class CheckedAdapter:
    """Delegates every call to ``inner`` and checks what comes back (see module doc)."""

    def __init__(self, inner: EngineAdapter) -> None:
        self.inner = inner
        self.name = _string("name", inner.name)
        self.tier = _string("tier", inner.tier)
        self._open = False

    def _need_open(self, method: str) -> None:
        if not self._open:
            raise ContractError(method, "a call before open()", "open(session) first")

    # ------------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        caps = self.inner.capabilities()
        if not isinstance(caps, Capabilities):
            raise ContractError("capabilities", caps, "a scenarios.capabilities.Capabilities")
        return caps

    def supports(self, operation: str) -> bool:
        if operation not in OPERATIONS:
            raise ContractError("supports", operation, f"to be asked only about {OPERATIONS}")
        answer = self.inner.supports(operation)
        if not isinstance(answer, bool):
            raise ContractError("supports", answer, "a bool")
        if operation in OPTIONAL_METHODS and not callable(getattr(self.inner, operation, None)):
            return False  # an adapter older than this optional operation (``offers``)
        return answer

    # ------------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.inner.open(session)
        self._open = True

    def close(self) -> None:
        self._open = False
        self.inner.close()

    # ------------------------------------------------------------------ plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        self._need_open("launch")
        return _handle("launch", label, self.inner.launch(label, workflow, inputs))

    def relaunch(self, label: str, of: Handle) -> Handle:
        self._need_open("relaunch")
        return _handle("relaunch", label, self.inner.relaunch(label, of))

    def wait(self, handle: Handle, timeout: float) -> str | None:
        state = self.inner.wait(handle, timeout)
        if state is not None and state not in TERMINAL_STATES:
            raise ContractError("wait", state, f"None or one of {sorted(TERMINAL_STATES)}")
        return state

    def kill_process(self, handle: Handle) -> None:
        self.inner.kill_process(handle)

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        self.inner.set_caching(default, enabled, disabled)

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        self.inner.invalidate(handle, calc_path)

    # ------------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        self._need_open("arm_crashpoint")
        self.inner.arm_crashpoint(crashpoint, target, attempt)

    def fail_commit(self, target: str, attempt: int) -> None:
        self._need_open("fail_commit")
        method = getattr(self.inner, "fail_commit", None)
        if method is None:
            raise Unsupported(self.name, self.tier, "fail commit",
                              "the adapter has no fail_commit method")
        method(target, attempt)

    def disarm_all(self) -> None:
        self.inner.disarm_all()

    def kill_worker(self, pid: int | None = None) -> int:
        killed = self.inner.kill_worker(pid)
        if not isinstance(killed, int) or isinstance(killed, bool):
            raise ContractError("kill_worker", killed, "the pid (int) of the killed worker")
        return killed

    def expire_lease(self, worker: int) -> str | None:
        return self._redeliver("expire_lease", worker)

    def duplicate_delivery(self, worker: int) -> str | None:
        return self._redeliver("duplicate_delivery", worker)

    def _redeliver(self, method: str, worker: int) -> str | None:
        self._need_open(method)
        if not self.supports(method):
            raise ContractError(method, "a call", f"supports({method!r}) to be True first")
        taken_by = getattr(self.inner, method)(worker)
        if taken_by is not None and not isinstance(taken_by, str):
            raise ContractError(method, taken_by, "None or the str name of the new holder")
        return taken_by  # type: ignore[no-any-return]  # checked just above

    def restart_broker(self, hard: bool) -> None:
        self.inner.restart_broker(hard)

    def restart_database(self) -> None:
        self.inner.restart_database()

    def drop_connection(self) -> None:
        self.inner.drop_connection()

    def pause_service(self, service: str, seconds: float) -> None:
        self._outage("pause_service", service, seconds)

    def partition_service(self, service: str, seconds: float) -> None:
        self._outage("partition_service", service, seconds)

    def _outage(self, method: str, service: str, seconds: float) -> None:
        self._need_open(method)
        if not self.supports(method):
            raise ContractError(method, "a call", f"supports({method!r}) to be True first")
        getattr(self.inner, method)(service, seconds)

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        observation = self.inner.observe()
        if not isinstance(observation, Observation):
            raise ContractError("observe", observation, "a harness.adapter.Observation")
        seen: set[str] = set()
        for view in observation.processes:
            _check_view(view)
            if view.id in seen:
                raise ContractError("observe", view, f"one ProcessView per id; {view.id} twice")
            seen.add(view.id)
        return observation

    def events(self) -> tuple[Mapping[str, Any], ...]:
        events = tuple(self.inner.events())
        for event in events:
            if not isinstance(event, Mapping):
                raise ContractError("events", event, "mappings (JSON-like records)")
        return events

    def ownership(self) -> tuple[Ownership, ...]:
        if not self.supports("ownership"):
            raise ContractError("ownership", "a call", "supports('ownership') to be True first")
        records = tuple(self.inner.ownership())  # type: ignore[attr-defined]  # optional
        for record in records:
            _check_ownership(record)
        return records

    def diagnose(self, handle: Handle) -> str:
        return _string("diagnose", self.inner.diagnose(handle))


def _string(method: str, value: object) -> str:
    if not isinstance(value, str):
        raise ContractError(method, value, "a str")
    return value


def _handle(method: str, label: str, handle: object) -> Handle:
    if not isinstance(handle, Handle) or handle.label != label:
        raise ContractError(method, handle, f"a Handle with label {label!r}")
    if not isinstance(handle.id, str) or not handle.id:
        raise ContractError(method, handle, "a Handle whose id is a non-empty str")
    return handle


def _check_view(view: object) -> None:
    if not isinstance(view, ProcessView):
        raise ContractError("observe", view, "ProcessView items")
    if view.state not in _STATES:
        raise ContractError("observe", view, f"a state among {sorted(_STATES)}")
    if view.kind not in ("workflow", "calculation"):
        raise ContractError("observe", view, "kind 'workflow' or 'calculation'")
    for name in ("id",):
        _string("observe", getattr(view, name))
    for link in (view.parent, view.restart_of, view.cached_from, view.attempt_of):
        if link is not None and not isinstance(link, str):
            raise ContractError("observe", view, "process links (parent, restart_of, "
                                "cached_from, attempt_of) as str ids or None")
    for key in (view.cache_key, view.cached_from_key):
        if key is not None and (not isinstance(key, str) or not key):
            raise ContractError("observe", view, "cache_key and cached_from_key as "
                                "non-empty str or None")
    if not isinstance(view.aliases, tuple) or not all(
            isinstance(alias, str) and alias for alias in view.aliases):
        raise ContractError("observe", view, "aliases as a tuple of non-empty str paths")


def _check_ownership(record: object) -> None:
    if not isinstance(record, Ownership):
        raise ContractError("ownership", record, "harness.adapter.Ownership items")
    if record.action not in OWNERSHIP_ACTIONS:
        raise ContractError("ownership", record, f"action among {OWNERSHIP_ACTIONS}")
    if not isinstance(record.process, str) or not isinstance(record.owner, str):
        raise ContractError("ownership", record, "process and owner as str")
    if record.version is not None and (not isinstance(record.version, int)
                                       or isinstance(record.version, bool)):
        raise ContractError("ownership", record, "version as int or None")
    if not isinstance(record.accepted, bool):
        raise ContractError("ownership", record, "accepted as bool")
