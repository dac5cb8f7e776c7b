from __future__ import annotations

import pytest

from reference_engine.core.caching import CachingConfig, SourceCandidate, choose_source


def cand(pid: int, state: str = "finished", exit_status: int | None = 0, valid: bool = True,
         invalidating: bool = False) -> SourceCandidate:
    return SourceCandidate(pid, state, exit_status, valid, invalidating)


def test_caching_is_off_by_default() -> None:
    assert not CachingConfig().is_enabled("m:add")


def test_per_type_patterns_enable_and_disabled_wins() -> None:
    config = CachingConfig(enabled=("m:*",), disabled=("m:mul",))
    assert config.is_enabled("m:add")
    assert not config.is_enabled("m:mul")
    assert not config.is_enabled("other:add")
    assert CachingConfig(default=True, disabled=("m:mul",)).is_enabled("x:y")


def test_only_finished_valid_nodes_are_sources() -> None:
    for bad in (cand(1, "excepted", None), cand(2, "killed", None), cand(3, "running", None),
                cand(4, valid=False)):
        assert choose_source([bad], "always") is None


def test_failed_source_policy_follows_the_declaration() -> None:
    failed, invalidating = cand(1, exit_status=3), cand(2, exit_status=13, invalidating=True)
    assert choose_source([failed], "allow_unless_invalidating") == failed
    assert choose_source([invalidating], "allow_unless_invalidating") is None
    assert choose_source([failed, invalidating], "never") is None
    assert choose_source([invalidating], "always") == invalidating


def test_oldest_valid_source_is_chosen() -> None:
    assert choose_source([cand(9), cand(4), cand(2, "excepted")], "never") == cand(4)


def test_unknown_policy_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="allow_unless_invalidating"):
        CachingConfig(failed_source_policy="sometimes")  # type: ignore[arg-type]  # on purpose
