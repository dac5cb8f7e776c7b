"""Caching decisions, as pure functions over configuration and candidate sources.

The store finds candidates with equal hashes; these functions decide whether caching is
on for a type and whether a candidate may serve as a source (clauses K3, K6, K7).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

FailedSourcePolicy = Literal["allow_unless_invalidating", "never", "always"]
FAILED_SOURCE_POLICIES: tuple[str, ...] = ("allow_unless_invalidating", "never", "always")


@dataclass(frozen=True)
class CachingConfig:
    """Global default plus per-type patterns (fnmatch over type strings or labels).

    A type matching a ``disabled`` pattern is off, else one matching ``enabled`` is on,
    else ``default`` decides. Default off, as in AiiDA.
    """

    default: bool = False
    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    failed_source_policy: FailedSourcePolicy = "allow_unless_invalidating"

    def __post_init__(self) -> None:
        if self.failed_source_policy not in FAILED_SOURCE_POLICIES:
            raise ValueError(
                f"failed_source_policy {self.failed_source_policy!r} is not one of "
                f"{', '.join(FAILED_SOURCE_POLICIES)}"
            )

    def is_enabled(self, *names: str) -> bool:
        """Whether caching is on for a calculation known by any of ``names``."""
        if not (self.disabled or self.enabled):  # the default: no pattern to match
            return self.default
        if self._matchers[0](names):
            return False
        if self._matchers[1](names):
            return True
        return self.default

    @cached_property
    def _matchers(self) -> tuple[Callable[[tuple[str, ...]], bool], ...]:
        """``disabled`` and ``enabled`` as tests of names, literal patterns by equality.

        Why: ``fnmatchcase`` compiles a regular expression per new pattern, and the
        harness configures exact type strings that are new in every scenario (a
        pattern without ``*``, ``?`` or ``[`` matches exactly itself).
        """
        return _matcher(self.disabled), _matcher(self.enabled)

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the matchers (closures), which are rebuilt when asked for."""
        return {k: v for k, v in self.__dict__.items() if k != "_matchers"}

    def to_dict(self) -> dict[str, object]:
        return {
            "default": self.default,
            "enabled": list(self.enabled),
            "disabled": list(self.disabled),
            "failed_source_policy": self.failed_source_policy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CachingConfig:
        return cls(
            default=bool(data.get("default", False)),
            enabled=tuple(data.get("enabled", ())),  # type: ignore[arg-type]  # JSON list
            disabled=tuple(data.get("disabled", ())),  # type: ignore[arg-type]  # JSON list
            failed_source_policy=data.get(  # type: ignore[arg-type]  # validated above
                "failed_source_policy", "allow_unless_invalidating"
            ),
        )


def _matcher(patterns: tuple[str, ...]) -> Callable[[tuple[str, ...]], bool]:
    literal = frozenset(p for p in patterns if not _GLOB.intersection(p))
    globs = tuple(p for p in patterns if p not in literal)

    def matches(names: tuple[str, ...]) -> bool:
        return any(n in literal for n in names) or any(
            fnmatch.fnmatchcase(n, p) for n in names for p in globs)

    return matches


_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class SourceCandidate:
    """What the store knows of a finished calculation with an equal hash."""

    process_id: int
    state: str
    exit_status: int | None
    cache_valid: bool
    exit_invalidates_cache: bool = False
    outputs: dict[str, object] = field(default_factory=dict)


def is_valid_source(candidate: SourceCandidate, policy: FailedSourcePolicy) -> bool:
    """K3: only finished, valid nodes; failed ones per the declared policy."""
    if candidate.state != "finished" or not candidate.cache_valid:
        return False
    if candidate.exit_status == 0:
        return True
    if policy == "never":
        return False
    if policy == "always":
        return True
    return not candidate.exit_invalidates_cache


def choose_source(
    candidates: list[SourceCandidate], policy: FailedSourcePolicy
) -> SourceCandidate | None:
    """The oldest valid candidate, so repeated hits name one stable source."""
    valid = [c for c in candidates if is_valid_source(c, policy)]
    return min(valid, key=lambda c: c.process_id) if valid else None
