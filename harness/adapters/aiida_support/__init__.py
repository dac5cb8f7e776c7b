"""AiiDA-specific machinery behind `harness.adapters.aiida` (needs the `aiida` extra).

Importing this package imports nothing from AiiDA; its modules do, and they are loaded
only by the AiiDA adapter and inside AiiDA's daemon workers and jobs:

| module | what it is |
| --- | --- |
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
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__: list[str] = []

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
