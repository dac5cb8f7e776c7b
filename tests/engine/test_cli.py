"""The engine's command line, run as users run it: ``python -m reference_engine``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.embedded
ROOT = Path(__file__).resolve().parents[2]


def cli(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "reference_engine", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "engine.db"
    yield path
    cli(path, "daemon", "stop", check=False)


def wait_terminal(db: Path, pid: str) -> dict[str, object]:
    for _ in range(400):
        view = json.loads(cli(db, "show", pid, "--json").stdout)
        if view["state"] in ("finished", "excepted", "killed"):
            return view
    raise AssertionError(f"process {pid} did not terminate: {view}")


def test_submit_show_restart_and_list_through_the_daemon(db: Path) -> None:
    assert "started" in cli(db, "daemon", "start", "--workers", "2").stdout
    assert "running" in cli(db, "daemon", "status").stdout
    pid = cli(db, "submit", "tests.engine.workflows:ThreeSteps", "x=1", "y=2").stdout.strip()
    view = wait_terminal(db, pid)
    assert view["state"] == "finished" and view["outputs"] == {"total": 4, "seen": [1, 2, 3]}
    assert len(view["children"]) == 2
    new = cli(db, "restart", pid).stdout.strip()
    assert new != pid and wait_terminal(db, new)["state"] == "finished"
    rows = json.loads(cli(db, "list", "--json").stdout)
    assert {str(r["id"]) for r in rows if r["parent"] is None} == {pid, new}
    assert "stopped" in cli(db, "daemon", "stop").stdout
    assert "not running" in cli(db, "daemon", "status").stdout
    log = db.with_name(db.name + ".daemon.log")
    assert log.is_file() and "Warning" not in log.read_text()  # no runpy RuntimeWarning


def test_caching_command_turns_hits_on(db: Path) -> None:
    cli(db, "caching", "--enable", "*:echo")
    cli(db, "daemon", "start", "--workers", "1")
    first = cli(db, "submit", "tests.engine.workflows:echo", 'value={"a": [1, 2.0]}').stdout
    wait_terminal(db, first.strip())
    second = cli(db, "submit", "tests.engine.workflows:echo", 'value={"a": [1, 2.0]}').stdout
    assert wait_terminal(db, second.strip())["cached_from"] == int(first)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "99"), "no process with id 99"),
        (("submit", "nope:Thing"), "unknown process type 'nope:Thing'"),
        (("submit", "tests.engine.workflows:ThreeSteps", "x=1"), "missing input 'y'"),
        (("submit", "tests.engine.workflows:echo", "novalue"), "not key=value"),
        (("restart", "1"), "no process with id 1"),
    ],
)
def test_user_mistakes_give_one_clear_line_and_exit_2(
    db: Path, args: tuple[str, ...], message: str
) -> None:
    cli(db, "caching")  # the database exists: the mistake is the argument
    done = cli(db, *args, check=False)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_database_in_a_missing_directory_is_reported(tmp_path: Path) -> None:
    done = cli(tmp_path / "nope" / "engine.db", "list", check=False)
    assert done.returncode == 2 and "no engine database at" in done.stderr


def test_status_and_list_on_a_missing_database_create_nothing(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    assert "not running (no engine database" in cli(db, "daemon", "status").stdout
    done = cli(db, "list", check=False)
    assert done.returncode == 2 and "no engine database at" in done.stderr
    assert "Traceback" not in done.stderr
    assert not db.exists()


@pytest.mark.parametrize("command", ["list", "show", "kill", "restart", "invalidate"])
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    from reference_engine.cli import build_parser

    listing = build_parser().format_help()
    line = next(x for x in listing.splitlines() if x.strip().startswith(command + " "))
    assert len(line.split()) > 2, f"{command} has no help in: {listing}"
