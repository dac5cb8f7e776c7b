"""The AiiDA adapter (`wfconform run --engine aiida`; needs the `aiida` extra).

Everything AiiDA-specific lives in this subpackage, and only here is `aiida` imported
(tests/test_layering.py checks it). Importing the package imports nothing from AiiDA; the
adapter's names (`AiidaAdapter`, `make_adapter`, ...) are loaded from `adapter` on first
use, so `harness.adapters.aiida:make_adapter` stays the engine's dotted path. Its modules:

| module | what it is |
| --- | --- |
| `adapter` | `AiidaAdapter`: the `EngineAdapter` for real aiida-core, tiers `sqlite`/`psql` |
| `profile` | `ThrowawayProfile`: temp AIIDA_PATH, SQLite storage, RabbitMQ vhost, daemon |
| `calcs` | which AiiDA process type runs each scenario calculation type |
| `calcbody` | the body of every generated calcfunction |
| `jobbody` | the body protocol for a `core.arithmetic.add` job, run by the job's shell |
| `workchain` | `ScenarioWorkChain`, the WorkChain that interprets any scenario workflow |
| `crashpoints` | `while_waiting` and `after_checkpoint_before_ack`, landed from AiiDA's state |
| `isolation` | what keeps one scenario apart from the others in the shared profile |
| `values` | scenario values as AiiDA data nodes and back |
| `observe` | the provenance graph read back as the harness's `ProcessView`s |
| `probes` | hash probes: which distinct inputs AiiDA's hash cannot tell apart (K4, K8) |
| `services` | the psql tier's throwaway PostgreSQL and RabbitMQ |
| `typed_values` | the typed near pairs stored as AiiDA nodes |

`harness.adapters.aiida_support` (the old home of these modules) is an alias kept for
dotted paths written before the move.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "BODY_CRASHPOINTS",
    "TIERS",
    "AiidaAdapter",
    "close_shared_profile",
    "make_adapter",
    "shared_profile",
]

_BIN = str(Path(sys.executable).parent)
if shutil.which("verdi") is None and shutil.which("verdi", path=_BIN) is not None:
    # AiiDA's daemon client finds `verdi` on PATH once, at import, and refuses to start
    # a daemon without it: `.venv/bin/wfconform run --engine aiida` without an activated
    # venv errored on every scenario. The interpreter's own bin folder holds it.
    os.environ["PATH"] = os.pathsep.join(p for p in (_BIN, os.environ.get("PATH")) if p)

if not os.environ.get("AIIDA_PATH"):
    # Importing aiida creates its config folder at once (`AiiDAConfigDir.set()` runs at
    # import), in ~/.aiida unless AIIDA_PATH says otherwise. Every AiiDA import of the
    # adapter goes through this package, so point AIIDA_PATH at a throwaway folder first;
    # profiles then switch to their own folder explicitly. The folder names its owner,
    # so `profile.sweep_stale` removes it if this process dies by SIGKILL.
    _FOLDER = tempfile.mkdtemp(prefix="wfconform-aiida-path-")
    _STAT = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()
    (Path(_FOLDER) / "owner.json").write_text(json.dumps({"pid": os.getpid(),
                                                          "start": _STAT[19]}))
    os.environ["AIIDA_PATH"] = _FOLDER
    atexit.register(shutil.rmtree, _FOLDER, True)


def __getattr__(name: str) -> Any:
    """The adapter's names, imported on first use: a daemon worker importing
    `harness.adapters.aiida.values` must not pay for (or depend on) the adapter."""
    if name in __all__:
        from harness.adapters.aiida import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
