"""A calcfunction's `ExitCode(..., invalidates_cache=True)` does not stop it being a cache source.

Needs only aiida-core (2.9.x); makes a throwaway SQLite profile without a broker in a
temporary folder and removes it at the end; about 10 s. Exit status 1 when the deviation
is seen (the cached node was cloned from the failed one), 0 when AiiDA behaves as its
documentation says.

Expected (docs "Caching: Controlling caching"/`ExitCode.invalidates_cache`): a process
that finished with an exit code declared `invalidates_cache=True` is not a valid cache
source, so the second call executes its body again.
Why it happens (aiida-core 2.9.4 source): `Process.is_valid_cache` looks the node's exit
status up in the *class spec* (`cls.spec().exit_codes(exit_status).invalidates_cache`);
a process function's spec has only the base exit codes, so the flag on the returned
`ExitCode` is lost (only `exit_status` is stored on the node).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

ROOT = tempfile.mkdtemp(prefix="aiida-repro-k3-")
os.environ["AIIDA_PATH"] = ROOT


MODULE = """
from aiida.engine import ExitCode, calcfunction

EXECUTIONS = []


@calcfunction
def broken(x):
    EXECUTIONS.append(x.value)
    return ExitCode(320, "the output is unusable", invalidates_cache=True)
"""


def _define():
    """The calcfunction in an importable module, so AiiDA can load its class."""
    with open(os.path.join(ROOT, "repro_k3_funcs.py"), "w") as handle:
        handle.write(MODULE)
    sys.path.insert(0, ROOT)
    import repro_k3_funcs

    return repro_k3_funcs


def main() -> int:
    from aiida import orm
    from aiida.manage.caching import enable_caching
    from aiida.manage.configuration import create_profile, get_config, load_profile

    config = get_config(create=True)
    profile = create_profile(config, name="repro", email="repro@localhost",
                             storage_backend="core.sqlite_dos", storage_config={})
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)
    funcs = _define()
    broken, EXECUTIONS = funcs.broken, funcs.EXECUTIONS

    with enable_caching(identifier="*broken*"):
        _, first = broken.run_get_node(orm.Int(-5))
        _, second = broken.run_get_node(orm.Int(-5))

    cached_from = second.base.caching.get_cache_source()
    print(f"aiida-core {__import__('aiida').__version__}")
    print(f"first:  pk={first.pk} exit_status={first.exit_status} "
          f"is_valid_cache={first.base.caching.is_valid_cache}")
    print(f"second: pk={second.pk} exit_status={second.exit_status} "
          f"cached_from={cached_from} body executions={len(EXECUTIONS)}")
    print("EXPECTED: the second call executes again (2 executions), not cached, because "
          "exit code 320 was returned with invalidates_cache=True")
    deviates = cached_from == first.uuid or len(EXECUTIONS) < 2
    happened = ("cached from the first node, body executed once" if deviates
                else "executed again, as documented")
    print(f"HAPPENED: {happened}")
    print("RESULT: " + ("DEVIATION (likely bug)" if deviates else "OK"))
    return 1 if deviates else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
