"""``python -m reference_engine``: the engine's command line.

Commands: ``daemon start|stop|status``, ``submit``, ``list``, ``show``, ``kill``,
``restart``, ``caching``, ``invalidate``. ``--json`` prints machine-readable state.
User mistakes print one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reference_engine.core.values import JsonValue
from reference_engine.engine import Engine
from reference_engine.errors import EngineError
from reference_engine.runtime.daemon import status_path

DB_ENV = "WFCONFORM_ENGINE_DB"
_DAEMON_MAIN = "import sys; from reference_engine.runtime.daemon import main; sys.exit(main())"
_CREATES = ("daemon start", "submit", "caching")
"""Commands that may create the database; the others need it to exist (a typo in
``--db`` must not leave an empty database behind, nor answer "no processes")."""


def _parse_value(text: str) -> JsonValue:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_inputs(pairs: list[str]) -> dict[str, JsonValue]:
    inputs: dict[str, JsonValue] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EngineError(f"input {pair!r} is not key=value (values are JSON, e.g. x=1.0)")
        inputs[key] = _parse_value(value)
    return inputs


def _daemon_status(engine: Engine) -> dict[str, Any] | None:
    path = status_path(engine.url)
    if path is None or not path.exists():
        return None
    status: dict[str, Any] = json.loads(path.read_text())
    try:
        os.kill(int(status["pid"]), 0)
    except (ProcessLookupError, ValueError):
        path.unlink(missing_ok=True)
        return None
    return status


def _daemon(engine: Engine, args: argparse.Namespace) -> int:
    status = _daemon_status(engine)
    if args.action == "status":
        if status is None:
            print("daemon: not running")
        else:
            print(f"daemon: running, pid {status['pid']}, workers {status['workers']}, "
                  f"worker deaths {status['deaths']}")
        return 0
    if args.action == "stop":
        if status is None:
            print("daemon: not running")
            return 0
        os.kill(int(status["pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _daemon_status(engine) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        print("daemon: stopped")
        return 0
    if status is not None:
        print(f"daemon: already running, pid {status['pid']}")
        return 0
    log = Path(str(status_path(engine.url) or "daemon.json")).with_suffix(".log")
    with open(log, "ab") as out:
        subprocess.Popen(
            # -c, not -m: the package already imported the daemon module, and runpy
            # would warn about it (a RuntimeWarning in the daemon's log) under -m
            [sys.executable, "-c", _DAEMON_MAIN, "--url", engine.url,
             "--workers", str(args.workers)],
            stdout=out, stderr=out, start_new_session=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = _daemon_status(engine)
        if status is not None and len(status["workers"]) >= args.workers:
            print(f"daemon: started, pid {status['pid']}, workers {status['workers']}")
            return 0
        time.sleep(0.05)
    raise EngineError(f"daemon did not start within 30 s; see {log}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'id':>5}  {'label':<24} {'state':<9} {'exit':>4}  {'cached_from':>11}  parent")
    for r in rows:
        exit_status = "" if r["exit_status"] is None else r["exit_status"]
        cached = "" if r["cached_from"] is None else r["cached_from"]
        parent = "" if r["parent"] is None else r["parent"]
        print(f"{r['id']:>5}  {r['label'][:24]:<24} {r['state']:<9} {exit_status!s:>4}  "
              f"{cached!s:>11}  {parent}")


def _missing_database(args: argparse.Namespace) -> Path | None:
    """The SQLite file ``--db`` names when it does not exist (URLs are not checked)."""
    if "://" in str(args.db):
        return None
    path = Path(args.db)
    return None if path.exists() else path


def _run(args: argparse.Namespace) -> int:
    command = f"{args.command} {getattr(args, 'action', '')}".strip()
    missing = _missing_database(args)
    if missing is not None and command not in _CREATES:
        if command in ("daemon status", "daemon stop"):
            print(f"daemon: not running (no engine database at {missing})")
            return 0
        raise EngineError(f"no engine database at {missing} (--db); give the path of an "
                          f"existing one, or create it with `submit` or `daemon start`")
    with Engine(args.db) as engine:
        command = args.command
        if command == "daemon":
            return _daemon(engine, args)
        if command == "submit":
            print(engine.submit(args.type, label=args.label, **_parse_inputs(args.inputs)))
        elif command == "list":
            rows = [r.view() for r in engine.list()]
            print(json.dumps(rows, indent=2)) if args.json else _print_table(rows)
        elif command == "show":
            view = engine.show(args.id)
            if args.json:
                print(json.dumps(view, indent=2))
            else:
                for key, value in view.items():
                    print(f"{key:>12}: {value}")
                exception = engine.get(args.id).exception
                if exception:
                    print(exception.rstrip())
        elif command == "kill":
            print(" ".join(map(str, engine.kill(args.id))) or f"{args.id} is already terminated")
        elif command == "restart":
            print(engine.relaunch(args.id))
        elif command == "invalidate":
            engine.invalidate(args.id)
        elif command == "caching":
            current = engine.caching()
            config = engine.set_caching(
                default=current.default if args.default is None else args.default == "on",
                enabled=tuple(args.enable) or current.enabled,
                disabled=tuple(args.disable) or current.disabled,
                failed_source_policy=args.policy or current.failed_source_policy,
            )
            print(json.dumps(config.to_dict()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference_engine",
                                     description="wfconform's reference engine")
    parser.add_argument("--db", default=os.environ.get(DB_ENV, "wfconform-engine.db"),
                        help=f"database file or URL (default ${DB_ENV} or ./wfconform-engine.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    daemon = sub.add_parser("daemon", help="start, stop or inspect the worker daemon")
    daemon.add_argument("action", choices=["start", "stop", "status"])
    daemon.add_argument("--workers", type=int, default=2)
    submit = sub.add_parser("submit", help="submit TYPE (module:Name) with key=value inputs")
    submit.add_argument("type")
    submit.add_argument("inputs", nargs="*")
    submit.add_argument("--label")
    helps = {"list": "list every process: id, label, state, exit status, cache source, parent",
             "show": "show one process: state, outputs, checkpoint position, exception"}
    for name in ("list", "show"):
        cmd = sub.add_parser(name, help=helps[name], description=helps[name])
        if name == "show":
            cmd.add_argument("id", type=int, help="the process id (see `list`)")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
    helps = {"kill": "kill an active process and its active children (prints the ids killed)",
             "restart": "relaunch a terminated process's inputs as a new instance (prints "
                        "the new id); it starts from step one",
             "invalidate": "stop a finished calculation from serving as a cache source"}
    for name in ("kill", "restart", "invalidate"):
        sub.add_parser(name, help=helps[name], description=helps[name]).add_argument(
            "id", type=int, help="the process id (see `list`)")
    caching = sub.add_parser("caching", help="show or change the caching configuration")
    caching.add_argument("--default", choices=["on", "off"])
    caching.add_argument("--enable", action="append", default=[], metavar="PATTERN")
    caching.add_argument("--disable", action="append", default=[], metavar="PATTERN")
    caching.add_argument("--policy", choices=["allow_unless_invalidating", "never", "always"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (EngineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
