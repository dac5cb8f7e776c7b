"""Two different CalcJob plugins with equal attributes and inputs hit each other's cache.

Needs only aiida-core (2.9.x); makes a throwaway SQLite profile without a broker, a
`localhost` computer (core.local, core.direct) and a bash code in a temporary folder,
removed at the end; about 20 s. Exit status 1 when the deviation is seen, 0 otherwise.

Expected: caching is keyed on the process *type*: a calculation of class `AddAgain`
(a subclass of `ArithmeticAddCalculation`, another plugin) must not be served from a node
of `core.arithmetic.add`, even with equal inputs (the docs: "the hash is computed from
the node type, attributes and inputs"; two plugins are two calculations).
Why it happens (aiida-core 2.9.4 source): `NodeCaching.get_objects_to_hash` covers the
*node* class (`CalcJobNode` for every CalcJob), the non-ignored attributes, the computer
and the inputs; the process type is a column, not an attribute, and `process_label` is
an updatable (ignored) attribute, and the lookup queries by node class only. A subclass
that keeps the option defaults (e.g. overrides only parsing) therefore shares entries.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

ROOT = tempfile.mkdtemp(prefix="aiida-repro-k8-")
os.environ["AIIDA_PATH"] = ROOT

MODULE = """
from aiida.calculations.arithmetic.add import ArithmeticAddCalculation


class AddAgain(ArithmeticAddCalculation):
    '''Another plugin: same spec and options, its own process type.'''
"""


def _setup():
    from aiida import orm
    from aiida.manage.configuration import create_profile, get_config, load_profile

    config = get_config(create=True)
    profile = create_profile(config, name="repro", email="repro@localhost",
                             storage_backend="core.sqlite_dos", storage_config={})
    config.set_option("runner.poll.interval", 0, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)
    computer = orm.Computer(label="localhost", hostname="localhost",
                            transport_type="core.local", scheduler_type="core.direct",
                            workdir=os.path.join(ROOT, "scratch")).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(0)
    computer.set_default_mpiprocs_per_machine(1)
    code = orm.InstalledCode(label="bash", computer=computer,
                             filepath_executable="/bin/bash").store()
    with open(os.path.join(ROOT, "repro_k8_plugins.py"), "w") as handle:
        handle.write(MODULE)
    sys.path.insert(0, ROOT)
    import repro_k8_plugins

    return code, repro_k8_plugins.AddAgain


def main() -> int:
    from aiida import orm
    from aiida.calculations.arithmetic.add import ArithmeticAddCalculation
    from aiida.engine import run_get_node
    from aiida.manage.caching import enable_caching

    code, add_again = _setup()
    inputs = {"code": code, "x": orm.Int(1), "y": orm.Int(2)}
    with enable_caching():
        _, first = run_get_node(ArithmeticAddCalculation, **inputs)
        _, second = run_get_node(add_again, **inputs)
    source = second.base.caching.get_cache_source()
    print(f"aiida-core {__import__('aiida').__version__}")
    print(f"first:  pk={first.pk} process_type={first.process_type} "
          f"hash={first.base.caching.get_hash()[:12]}")
    print(f"second: pk={second.pk} process_type={second.process_type} "
          f"hash={second.base.caching.get_hash()[:12]} cached_from={source}")
    print("EXPECTED: the AddAgain calculation runs (a different plugin: not a cache hit)")
    deviates = source == first.uuid
    print("HAPPENED: " + ("AddAgain was cloned from the core.arithmetic.add node (equal "
                          "hashes), its job never ran" if deviates else "it ran, not cached"))
    print("RESULT: " + ("DEVIATION (likely bug)" if deviates else "OK"))
    return 1 if deviates else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
