"""On `core.psql_dos`, a stored `Float(-0.0)` loads back as `0.0` (the sign is lost).

Needs only aiida-core (2.9.x) and a PostgreSQL server (default
`postgresql://postgres@127.0.0.1:5432`, trust auth; set `REPRO_POSTGRES_URL` to change
it). It creates a throwaway database and profile (no broker), and removes both at the
end; about 15 s. Exit status 1 when the deviation is seen, 0 otherwise.

Expected: a value read back from storage equals the value stored, as on `core.sqlite_dos`
(where `-0.0` keeps its sign): `math.copysign(1, Float(-0.0).store().value)` is -1 after
a reload. Scenario outputs that pass a `-0.0` through a workflow therefore differ
between the two storage backends (found by `wfconform fuzz --engine aiida --tier psql`:
the workflow returned `0.0` where the fault-free model returns `-0.0`).
Why it happens (our reading): attributes live in a PostgreSQL `jsonb` column, whose
numbers are `numeric`, which has no negative zero; AiiDA's own hash already treats -0.0
as 0.0 (`float_to_text`), but the *value* changes too, silently, on one backend only.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import sys
import tempfile
import urllib.parse

ROOT = tempfile.mkdtemp(prefix="aiida-repro-negzero-")
os.environ["AIIDA_PATH"] = ROOT
URL = os.environ.get("REPRO_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = f"aiida_repro_{secrets.token_hex(4)}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(URL, autocommit=True, connect_timeout=10) as connection:
        connection.execute(sql)


def main() -> int:
    from aiida import orm
    from aiida.manage import get_manager
    from aiida.manage.configuration import create_profile, get_config, load_profile

    _admin(f'CREATE DATABASE "{DATABASE}"')
    url = urllib.parse.urlsplit(URL)
    config = get_config(create=True)
    profile = create_profile(
        config, name="repro", email="repro@localhost", storage_backend="core.psql_dos",
        storage_config={"database_engine": "postgresql_psycopg",
                        "database_hostname": url.hostname or "127.0.0.1",
                        "database_port": url.port or 5432,
                        "database_username": url.username or "postgres",
                        "database_password": urllib.parse.unquote(url.password or ""),
                        "database_name": DATABASE,
                        "repository_uri": f"file://{ROOT}/repository"})
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)
    pks = {"Float": orm.Float(-0.0).store().pk,
           "List": orm.List([-0.0]).store().pk,
           "Dict": orm.Dict({"v": -0.0}).store().pk}
    get_manager().get_profile_storage().get_session().expunge_all()  # read from the database
    values = {"Float": orm.load_node(pks["Float"]).value,
              "List": orm.load_node(pks["List"]).get_list()[0],
              "Dict": orm.load_node(pks["Dict"]).get_dict()["v"]}
    print(f"aiida-core {__import__('aiida').__version__}, storage core.psql_dos")
    signs = {name: math.copysign(1.0, value) for name, value in values.items()}
    for name, value in values.items():
        print(f"{name}: stored -0.0, loaded {value!r} (sign {signs[name]:+.0f})")
    print("EXPECTED: every value loads as -0.0 (sign -1), as stored (and as on core.sqlite_dos)")
    lost = [name for name, sign in signs.items() if sign > 0]
    print("HAPPENED: " + (f"the sign of zero was lost for {', '.join(lost)}" if lost
                          else "every value kept its sign"))
    print("RESULT: " + ("DEVIATION (likely bug)" if lost else "OK"))
    get_manager().unload_profile()
    return 1 if lost else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        try:
            _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        finally:
            shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
