"""A real PostgreSQL server for the store tests, started once per session.

The binaries come from the `pgserver` wheel when it is installed, else from the
system's PostgreSQL (`initdb` on PATH or under /usr/lib/postgresql). The server
listens only on a unix socket in a temporary directory and is stopped at the end.
PostgreSQL refuses to run as root, so under root it runs as the `nobody` user.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from jobsearch.store.supabase import SupabaseStore

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "supabase_standins.sql"
TEMPLATE_DB = "supabase_standins"
PORT = 5432
START_TIMEOUT = 30


@dataclass(frozen=True)
class PgCluster:
    """A running server reached through its socket directory."""

    socket_dir: Path

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for one database as the superuser."""
        return f"host={self.socket_dir} port={PORT} user=postgres dbname={dbname}"


def _bin_dirs() -> list[Path]:
    """Candidate binary folders: the pgserver wheel first, then the system's."""
    found: list[Path] = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        found.append(Path(spec.origin).parent / "pginstall" / "bin")
    initdb = shutil.which("initdb")
    if initdb is not None:
        found.append(Path(initdb).resolve().parent)
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    unique = dict.fromkeys(path for path in found if (path / "initdb").exists())
    return list(unique)


def _run_as() -> dict[str, object]:
    """Subprocess arguments that drop root, which PostgreSQL insists on."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _start(bin_dir: Path, root: Path) -> None:
    run_as = _run_as()
    if run_as:
        os.chown(root, int(str(run_as["user"])), int(str(run_as["group"])))
    data = root / "data"
    initdb = [bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust"]
    subprocess.run(  # noqa: S603 - our own binaries and arguments
        [*initdb, "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT,
        **run_as,  # type: ignore[call-overload]
    )
    options = f"-c listen_addresses='' -k {root} -p {PORT} -F"
    pg_ctl = [bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options]
    subprocess.run(  # noqa: S603 - our own binaries and arguments
        [*pg_ctl, "-w", "-t", str(START_TIMEOUT), "start"],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT + 5,
        **run_as,  # type: ignore[call-overload]
    )


def _stop(bin_dir: Path, root: Path) -> None:
    subprocess.run(  # noqa: S603 - our own binaries and arguments
        [bin_dir / "pg_ctl", "-D", root / "data", "-m", "immediate", "-w", "stop"],
        check=False,
        capture_output=True,
        timeout=START_TIMEOUT,
        **_run_as(),  # type: ignore[call-overload]
    )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL server on a unix socket, with the Supabase stand-in template."""
    pytest.importorskip("psycopg", reason="psycopg (dev dependency) is not installed")
    candidates = _bin_dirs()
    if not candidates:
        pytest.skip("no PostgreSQL: install pgserver or the system's postgresql")
    failures = []
    for bin_dir in candidates:
        # Under root the server runs as `nobody`, which needs a traversable parent.
        root = Path(tempfile.mkdtemp(prefix="jobsearch-pg-", dir=_temp_parent()))
        try:
            _start(bin_dir, root)
        except (subprocess.SubprocessError, OSError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            failures.append(f"{bin_dir}: {exc}")
            continue
        try:
            cluster = PgCluster(root)
            _create_template(cluster)
            yield cluster
        finally:
            _stop(bin_dir, root)
            shutil.rmtree(root, ignore_errors=True)
        return
    pytest.fail("PostgreSQL did not start: " + "; ".join(failures))


def _temp_parent() -> str | None:
    return "/tmp" if os.geteuid() == 0 else None


def _create_template(cluster: PgCluster) -> None:
    import psycopg

    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    with psycopg.connect(cluster.conninfo(TEMPLATE_DB)) as conn:
        conn.execute(STANDINS.read_text(encoding="utf-8"))


@pytest.fixture
def make_database(pg_cluster: PgCluster) -> Iterator[Callable[[], str]]:
    """`make_database()` gives the conninfo of a new database holding the stand-ins."""
    import psycopg

    created: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_cluster.conninfo(), autocommit=True) as conn:
            conn.execute(
                f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY"
            )
        created.append(name)
        return pg_cluster.conninfo(name)

    yield make
    with psycopg.connect(pg_cluster.conninfo(), autocommit=True) as conn:
        for name in created:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


MIGRATIONS = sorted((HERE.parents[1] / "supabase" / "migrations").glob("*.sql"))
STANDIN_URL = "https://standin.supabase.test"
# Users the store tests write for; jobs and searches reference auth.users.
STANDIN_USERS = (
    "aaaaaaaa-0000-4000-8000-000000000001",
    "bbbbbbbb-0000-4000-8000-000000000002",
)


def migrate(conninfo: str) -> None:
    """Apply every migration, in order, as the superuser."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        for path in MIGRATIONS:
            conn.execute(path.read_text(encoding="utf-8"))


@pytest.fixture
def migrated_database(make_database: Callable[[], str]) -> str:
    """The conninfo of a new database with every migration applied."""
    conninfo = make_database()
    migrate(conninfo)
    return conninfo


@pytest.fixture
def standin_store(
    make_database: Callable[[], str], httpx_mock: HTTPXMock
) -> Iterator[Callable[[], SupabaseStore]]:
    """`standin_store()` gives a `SupabaseStore` whose PostgREST is the stand-in."""
    import psycopg
    from postgrest_standin import PostgrestStandin

    conninfo = make_database()
    migrate(conninfo)
    with psycopg.connect(conninfo) as conn:
        for user in STANDIN_USERS:
            conn.execute("insert into auth.users (id) values (%s)", (user,))
    standin = PostgrestStandin(conninfo)
    httpx_mock.add_callback(
        standin, url=re.compile(re.escape(STANDIN_URL) + "/rest/v1/"), is_reusable=True
    )

    def make() -> SupabaseStore:
        return SupabaseStore(STANDIN_URL, SecretStr("service-role-test-key"))

    yield make
    standin.close()
