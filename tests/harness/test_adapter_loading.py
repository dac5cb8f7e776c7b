"""Loading adapters by name, and the errors a user sees for bad specs."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

import pytest

from harness.adapters import load_adapter
from harness.adapters.reference import ReferenceAdapter
from harness.errors import AdapterSpecError, HarnessError, Unsupported


def test_the_reference_engine_loads_by_name_without_starting_anything() -> None:
    factory = load_adapter("reference", "embedded")
    adapter = factory()
    assert isinstance(adapter, ReferenceAdapter)
    assert adapter.daemon is None and adapter.engine is None
    assert factory() is not adapter, "one fresh adapter per scenario"


def test_a_third_party_adapter_loads_by_dotted_path() -> None:
    factory = load_adapter("harness.adapters.reference:ReferenceAdapter", "embedded")
    assert factory().name == "reference"


@pytest.mark.parametrize(("spec", "tier", "says"), [
    ("nope", "embedded", "not a known engine"),
    ("no_such_package.adapters:Thing", "embedded", "cannot be imported"),
    ("harness.adapters.reference:NoSuchName", "embedded", "has no callable 'NoSuchName'"),
    ("json:dumps", "embedded", "cannot be called with tier"),
    ("builtins:dict", "embedded", "did not return an EngineAdapter"),
    ("reference", "quantum", "tier 'quantum' is not available"),
])
def test_a_bad_spec_names_itself_and_the_fix(spec: str, tier: str, says: str) -> None:
    with pytest.raises(AdapterSpecError) as caught:
        load_adapter(spec, tier)
    message = str(caught.value)
    assert says in message and repr(spec.split(":")[0])[1:-1] in message
    assert caught.value.fix and message.endswith(caught.value.fix)
    assert isinstance(caught.value, (HarnessError, ValueError))


def test_harness_errors_keep_their_data_and_pickle() -> None:
    error = Unsupported("reference", "embedded", "restart broker", "no broker")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.engine, copy.tier, copy.operation) == ("reference", "embedded",
                                                         "restart broker")
    assert str(copy) == "engine 'reference' on tier 'embedded' cannot restart broker: no broker"
    assert isinstance(copy, NotImplementedError)


def test_the_aiida_subpackage_imports_no_aiida_until_its_adapter_is_used() -> None:
    # a subprocess: this test process may have imported aiida already
    code = ("import sys, harness.adapters.aiida as a, harness.adapters.aiida.calcs\n"
            "assert 'aiida' not in sys.modules, 'the package imported aiida'\n"
            "assert callable(a.__getattr__) and 'make_adapter' in a.__all__\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_the_aiida_modules_old_dotted_paths_name_the_same_modules() -> None:
    from harness.adapters import BUILTIN

    assert BUILTIN["aiida"] == "harness.adapters.aiida:make_adapter"
    old = importlib.import_module("harness.adapters.aiida_support.calcs")
    new = importlib.import_module("harness.adapters.aiida.calcs")
    assert old is new and new.__spec__ is not None
    assert new.__name__ == new.__spec__.name == "harness.adapters.aiida.calcs"
