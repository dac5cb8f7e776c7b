"""The AiiDA-specific pieces, without a daemon: names, process types, values, hashes."""

from __future__ import annotations

import math
from typing import Any, cast

import pytest

from scenarios.catalog import by_name
from scenarios.effects import effect_keys
from tests.aiida.conftest import needs_aiida

pytestmark = [needs_aiida, pytest.mark.services]


def test_link_labels_encode_every_catalog_effect_path_reversibly() -> None:
    from harness.adapters.aiida.workchain import decode_link, encode_link

    paths = {key.partition("/")[2] for name in ("p1_nested_links_consistent",
                                                 "c3_redo_of_launch_step_may_orphan_children")
             for key in effect_keys(by_name(name))}
    paths |= {"loop#1/fit/0:add", "a__b_/x#0/c_d:e_"}
    for path in paths:
        label = encode_link(path)
        assert label.replace("_", "").isalnum() and not label.endswith("_"), label
        assert "__" not in label, label
        assert decode_link(label) == path
    assert decode_link("CALL") is None


def test_add_runs_as_core_arithmetic_add_and_a_second_add_type_as_its_own_subclass() -> None:
    from harness.adapters.aiida.calcs import build_table

    table = build_table(by_name("k8_types_never_hit_each_other"), "s7")
    add, plus = table.types["add"], table.types["plus"]
    assert add.job == "aiida.calculations:core.arithmetic.add" and add.job_class is None
    assert plus.job == "wfc_s7_plus.AddJob" and plus.job_class == "wfc_s7_plus:AddJob"
    assert add.function == "wfc_s7_add.calc_add" != plus.function
    digest = build_table(by_name("k7_per_type_configuration"), "s8").types["digest"]
    assert digest.job is None and digest.identifiers() == ("wfc_s8_digest.calc_digest",)


def test_a_calculation_type_targeted_by_a_fault_runs_only_as_a_calcfunction() -> None:
    from harness.adapters.aiida.calcs import build_table

    table = build_table(by_name("c4_outputs_equal_without_kills"), "s1")
    assert table.types["add"].job is None
    assert build_table(by_name("k1_hit_executes_no_effect"), "s1", calcjobs=False
                       ).types["add"].job is None


@pytest.mark.parametrize(("values", "expected"), [
    ({"x": 1, "y": 2}, True), ({"x": 0, "y": 0}, True),
    ({"x": -1, "y": 2}, False), ({"x": 1.0, "y": 2}, False), ({"x": True, "y": 2}, False),
    ({"x": 1}, False), ({"x": 1, "y": 2, "z": 3}, False), ({"x": 2**62, "y": 1}, False),
])
def test_only_two_non_negative_ints_x_and_y_run_as_the_bash_calcjob(
        values: dict[str, Any], expected: bool) -> None:
    from harness.adapters.aiida.calcs import CalcType, uses_job

    kind = CalcType("add", "m", "m.calc_add", "aiida.calculations:core.arithmetic.add", None)
    assert uses_job(kind, values) is expected


ROUND_TRIP = [None, True, False, 0, -7, 2**70, 0.1, -0.0, 1e-300, "", "a\x00b", "caf\u00e9",
              [], [1, 1.0, True, "1", None], {"$x": 1, "b": {"c": [2**63]}}, {}]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_scenario_values_survive_the_database_round_trip_with_their_types(
        aiida_profile: Any, value: Any) -> None:
    from aiida import orm
    from aiida.manage import get_manager

    from harness.adapters.aiida.values import from_node, to_node
    from scenarios.values import values_equal

    node = to_node(value).store()
    session = cast(Any, get_manager().get_profile_storage()).get_session()  # SQLite storage
    session.commit()
    session.expire_all()
    assert values_equal(from_node(orm.load_node(node.pk)), value)


@pytest.mark.parametrize("value", [math.nan, [math.inf], {"a.b": 1}, {"": 1}, "\ud800",
                                   {"k": [1, {"x": -math.inf}]}], ids=repr)
def test_unstorable_names_exactly_what_aiida_refuses_to_store(aiida_profile: Any,
                                                               value: Any) -> None:
    from harness.adapters.aiida.values import to_node, unstorable

    assert unstorable(value) is not None
    with pytest.raises(Exception) as refused:
        to_node(value).store()
    assert type(refused.value).__name__ in ("ValidationError", "UnicodeEncodeError")


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_unstorable_accepts_every_value_aiida_stores(value: Any) -> None:
    from harness.adapters.aiida.values import unstorable

    assert unstorable(value) is None


def test_hash_probe_finds_only_the_declared_float_normalisations(aiida_profile: Any) -> None:
    from harness.adapters.aiida.probes import probe_hashes

    report = probe_hashes((1, 1.0, True, "1", 0.1, 0.1 + 2**-56, [1], [1.0], {"a": 1},
                           {"a": 1.0}, -0.0, 0.0, math.nan))
    found = {c.values: (c.normalisation, c.confirmed) for c in report.collisions}
    assert found == {(0.1, 0.1 + 2**-56): ("float_round_14", True),
                     (-0.0, 0.0): ("float_signed_zero", True)}
    assert len(report.unstorable) == 1 and math.isnan(report.unstorable[0][0])


def test_capabilities_declare_aiidas_documented_choices() -> None:
    from harness.adapters.aiida import AiidaAdapter

    capabilities = AiidaAdapter().capabilities()
    assert capabilities.failed_source_policy == "allow_unless_invalidating"
    assert capabilities.hash_normalisations == frozenset({"float_round_14", "float_signed_zero"})
    assert capabilities.source_allowed(410, invalidates_cache=False)
    assert not capabilities.source_allowed(320, invalidates_cache=True)
