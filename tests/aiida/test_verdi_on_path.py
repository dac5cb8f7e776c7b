"""AiiDA's daemon client needs ``verdi`` on PATH; a venv's ``wfconform`` run without
activating the venv has the venv's ``bin`` off PATH, and every scenario errored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_adapter_finds_verdi_beside_the_interpreter_when_path_lacks_it() -> None:
    if not (Path(sys.executable).parent / "verdi").exists():
        pytest.fail(f"aiida-core is installed but no verdi beside {sys.executable}")
    code = ("import harness.adapters.aiida, shutil\n"
            "from aiida.engine.daemon.client import VERDI_BIN\n"
            "print(VERDI_BIN)\n")
    env = {**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(Path(sys.executable).parent / "verdi")
