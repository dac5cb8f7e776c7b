"""Hash probes: which different inputs AiiDA's cache cannot tell apart (K4), and types (K8).

Two calculation nodes of one process type are equal cache keys exactly when their input
nodes hash alike (the rest of the hash is the type's own attributes), so the K4 probe
stores every probe value as the adapter's input node, reloads it from the database (the
lookup compares hashes of stored inputs) and groups values by `compute_hash()`. A group
with two *different* scenario values is a collision; each one is then confirmed (or not)
by really running a probe calcfunction twice with caching on: does the second run hit
the first? A collision explained by a declared normalisation (`float_round_14`: floats
hash by their text at 14 significant digits; `float_signed_zero`: `float_to_text` maps
`-0.0` to `0.0`, "Identify value of -0. and overwrite with 0.") is
documented behaviour; any other one is a finding. Values AiiDA refuses to store are
reported as such.

The K8 probe runs two CalcJob types that differ only in their process type
(`core.arithmetic.add` and a subclass of it) on equal inputs, caching on for the second:
AiiDA's hash covers the node class, attributes and inputs but not the process type.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any, cast

from aiida import orm
from aiida.calculations.arithmetic.add import ArithmeticAddCalculation
from aiida.engine import calcfunction, run_get_node
from aiida.manage.caching import enable_caching

from harness.adapters.aiida.values import to_node
from scenarios.values import canonical, normalise

__all__ = [
    "PROBE_VALUES",
    "Collision",
    "HashReport",
    "TypeProbe",
    "probe_hashes",
    "probe_types",
]

_NFC = unicodedata.normalize("NFC", "caf\u00e9")
_NFD = unicodedata.normalize("NFD", "caf\u00e9")
_SCALARS: tuple[Any, ...] = (
    1, 1.0, True, "1", 0, 0.0, -0.0, False, "", None, 2**70, 2**53 + 1, 2**63, -(2**63) - 1,
    0.1, 0.1 + 2**-56, 1e-300, 1.0000000000000002, math.nan, math.inf, _NFC, _NFD,
    "\u212b", "\u00c5",
)
PROBE_VALUES: tuple[Any, ...] = (
    *_SCALARS,
    *([v] for v in _SCALARS),
    *({"k": v} for v in _SCALARS),
    [], {}, [[]], {"": None}, {"a.b": 1}, {"$x": 1},
    {"a": 1, "b": [1, 2]}, {"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1.0}}},
)
"""Values that a careless hash merges: each scalar alone, in a list and in a dict."""


@calcfunction
def hash_probe(v: orm.Data) -> orm.Data:  # type: ignore[no-untyped-def]
    """Echo the input as a new node: a calculation whose hash is its input's hash."""
    return v.clone()


class AddAgainCalculation(ArithmeticAddCalculation):
    """`core.arithmetic.add` under another process type, nothing else changed (K8 probe)."""


@dataclass(frozen=True)
class Collision:
    """Different scenario values whose AiiDA input nodes hash alike.

    `confirmed` is whether a real second run hit the first (None: not run, e.g. the
    second value could not be stored); `normalisation` names the declared normalisation
    that explains it, or is None for an undeclared collision (a finding).
    """

    values: tuple[Any, ...]
    hash: str
    confirmed: bool | None
    normalisation: str | None


@dataclass(frozen=True)
class HashReport:
    """Everything the K4 probe found."""

    probed: int
    collisions: tuple[Collision, ...]
    unstorable: tuple[tuple[Any, str], ...]


@dataclass(frozen=True)
class TypeProbe:
    """K8: did a type hit a different type's node with equal inputs?"""

    first: str
    second: str
    hit: bool
    first_hash: str
    second_hash: str


def _stored_hash(value: Any) -> tuple[str | None, str | None]:
    from aiida.manage import get_manager

    try:
        node = to_node(value).store()
    except Exception as error:  # a refusal to store is a finding to report
        return None, f"{type(error).__name__}: {error}"
    session = cast(Any, get_manager().get_profile_storage()).get_session()  # SQLA storages
    session.commit()
    session.expire_all()  # read the attributes back from the database, not from memory
    return orm.load_node(node.pk).base.caching.compute_hash(), None


def _explained(values: tuple[Any, ...], declared: frozenset[str]) -> str | None:
    """The declared normalisation(s) under which `values` are one value, or None."""
    for names in [frozenset({name}) for name in sorted(declared)] + [declared]:
        if len({canonical(normalise(value, names)) for value in values}) == 1:
            return "+".join(sorted(names))
    return None


def _confirm(first: Any, second: Any) -> bool | None:
    identifier = f"{__name__}.hash_probe"
    try:
        with enable_caching(identifier=identifier):
            _, source = hash_probe.run_get_node(v=to_node(first))
            _, target = hash_probe.run_get_node(v=to_node(second))
    except Exception:  # unstorable values were reported already
        return None
    hit = target.base.caching.get_cache_source() == source.uuid
    for node in (source, target):
        node.base.caching.clear_hash()  # keep later probes from hitting these
    return hit


def probe_hashes(values: tuple[Any, ...] = PROBE_VALUES,
                 declared: frozenset[str] = frozenset({"float_round_14", "float_signed_zero"})
                 ) -> HashReport:
    """Group `values` by AiiDA input hash; confirm every collision by a real run.

    `declared` are the normalisations the adapter declares; a collision they explain is
    documented behaviour, any other is a finding.
    """
    groups: dict[str, list[Any]] = {}
    unstorable = []
    for value in values:
        digest, error = _stored_hash(value)
        if digest is None:
            unstorable.append((value, str(error)))
            continue
        group = groups.setdefault(digest, [])
        if all(canonical(value) != canonical(seen) for seen in group):
            group.append(value)
    collisions = []
    for digest, group in groups.items():
        if len(group) > 1:
            collisions.append(Collision(tuple(group), digest, _confirm(group[0], group[1]),
                                        _explained(tuple(group), declared)))
    return HashReport(len(values), tuple(collisions), tuple(unstorable))


def probe_types(x: int = 2, y: int = 3) -> TypeProbe:
    """Run `core.arithmetic.add`, then `AddAgainCalculation` on equal inputs (caching on)."""
    code = orm.load_code("add@localhost")
    nodes = []
    for job in (ArithmeticAddCalculation, AddAgainCalculation):
        identifier = job.build_process_type()
        with enable_caching(identifier=identifier):
            _, node = run_get_node(job, code=code, x=orm.Int(x), y=orm.Int(y),
                                   metadata={"options": {"resources": {"num_machines": 1}}})
        nodes.append(node)
    first, second = nodes
    hit = second.base.caching.get_cache_source() == first.uuid
    hashes = [node.base.caching.compute_hash() or "" for node in nodes]
    for node in nodes:
        node.base.caching.clear_hash()
    return TypeProbe(first.process_type or "?", second.process_type or "?", hit, *hashes)


def main() -> int:
    """`python -m harness.adapters.aiida.probes`: print both probes' findings.

    Runs in its own throwaway profile (no daemon: the probes run processes in this
    process), which is removed afterwards.
    """
    from harness.adapters.aiida.profile import ThrowawayProfile

    with ThrowawayProfile().open(daemon=False):
        report = probe_hashes()
        types = probe_types()
    print(f"K4 hash probe: {report.probed} values, {len(report.collisions)} collision(s), "
          f"{len(report.unstorable)} unstorable")
    for collision in report.collisions:
        why = collision.normalisation or "NOT a declared normalisation"
        print(f"  collision {collision.values!r}: confirmed by a real run: "
              f"{collision.confirmed}; {why}")
    for value, error in report.unstorable:
        print(f"  unstorable {value!r}: {error}")
    print(f"K8 type probe: {types.second} on the inputs of {types.first}: "
          f"{'HIT (types collide)' if types.hit else 'miss'}; hashes "
          f"{'equal' if types.first_hash == types.second_hash else 'differ'}")
    return 0


if __name__ == "__main__":
    # Import under the real module name, so the probe types are not `__main__.*`.
    from harness.adapters.aiida.probes import main as _main

    raise SystemExit(_main())
