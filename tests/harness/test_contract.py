"""CheckedAdapter names the method, the value and the expectation of a protocol breach."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from harness.adapter import EngineAdapter, Handle, Observation, ProcessView
from harness.contract import CheckedAdapter
from harness.errors import ContractError
from harness.session import Session
from scenarios.capabilities import Capabilities
from scenarios.catalog import by_name


class Fake:
    """An adapter whose answers a test sets; everything else is a harmless no-op."""

    name = "fake"
    tier = "test"

    def __init__(self, **answers: Any) -> None:
        self.answers = answers

    def __getattr__(self, method: str) -> Any:
        if method in ("name", "tier", "answers"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self.answers.get(method)


def _opened(tmp_path: Path, **answers: Any) -> CheckedAdapter:
    adapter = CheckedAdapter(Fake(**answers))
    adapter.open(Session(tmp_path, by_name("k6_workflows_never_cached")))
    return adapter


def test_the_fake_satisfies_the_protocol_shape() -> None:
    assert isinstance(Fake(), EngineAdapter)


def test_a_launch_before_open_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="open\\(session\\) first"):
        CheckedAdapter(Fake()).launch("A", "Steps", {})


def test_a_handle_for_another_label_is_a_contract_error(tmp_path: Path) -> None:
    adapter = _opened(tmp_path, launch=Handle("B", "1"))
    with pytest.raises(ContractError, match=r"adapter.launch returned .*label 'A'"):
        adapter.launch("A", "Steps", {})


def test_an_integer_process_id_is_a_contract_error(tmp_path: Path) -> None:
    adapter = _opened(tmp_path, launch=Handle("A", 7))  # type: ignore[arg-type]  # the bug
    with pytest.raises(ContractError, match="non-empty str"):
        adapter.launch("A", "Steps", {})


def test_an_unknown_state_from_wait_is_a_contract_error(tmp_path: Path) -> None:
    adapter = _opened(tmp_path, wait="done")
    with pytest.raises(ContractError, match="'done'; expected None or one of"):
        adapter.wait(Handle("A", "1"), 1.0)


def test_an_observation_with_a_duplicate_id_is_a_contract_error(tmp_path: Path) -> None:
    view = ProcessView("1", "A", "workflow", "Steps", "finished", 0, {})
    adapter = _opened(tmp_path, observe=Observation((view, view)))
    with pytest.raises(ContractError, match="1 twice"):
        adapter.observe()


def test_capabilities_of_the_wrong_type_are_a_contract_error() -> None:
    with pytest.raises(ContractError, match="Capabilities"):
        CheckedAdapter(Fake(capabilities={"promised": "all"})).capabilities()


def test_well_formed_answers_pass_through_unchanged(tmp_path: Path) -> None:
    caps = Capabilities.everything()
    view = ProcessView("1", "A", "workflow", "Steps", "finished", 0, {"out": 1})
    adapter = _opened(tmp_path, capabilities=caps, launch=Handle("A", "1"), wait="finished",
                      observe=Observation((view,)), kill_worker=1234, supports=True)
    assert adapter.capabilities() is caps
    assert adapter.launch("A", "Steps", {}) == Handle("A", "1")
    assert adapter.wait(Handle("A", "1"), 1.0) == "finished"
    assert adapter.observe().processes == (view,)
    assert adapter.kill_worker() == 1234
    assert adapter.supports("restart_broker") is True


@pytest.mark.parametrize(("fields", "says"), [
    ({"cached_from_key": ""}, "cache_key and cached_from_key as non-empty str"),
    ({"cache_key": 7}, "cache_key and cached_from_key as non-empty str"),
    ({"aliases": ["B"]}, "aliases as a tuple"),
    ({"attempt_of": 3}, "attempt_of) as str ids"),
])
def test_malformed_optional_view_fields_are_contract_errors(tmp_path: Path,
                                                            fields: dict[str, object],
                                                            says: str) -> None:
    view = ProcessView("1", "A", "workflow", "Steps", "finished", 0, {}, **fields)  # type: ignore[arg-type]  # the bug
    adapter = _opened(tmp_path, observe=Observation((view,)))
    with pytest.raises(ContractError, match=re.escape(says)):
        adapter.observe()


def test_well_formed_optional_view_fields_pass_through(tmp_path: Path) -> None:
    view = ProcessView("2", "A/s/0:add", "calculation", "add", "finished", 0, {},
                       cache_key="k", cached_from_key="k", aliases=("B/s/0:add",),
                       attempt_of="1")
    adapter = _opened(tmp_path, observe=Observation((view,)))
    assert adapter.observe().processes == (view,)
