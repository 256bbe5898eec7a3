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
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def _bin_dir() -> Path | None:
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "initdb").exists():
            return bundled
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


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
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        + ["--no-sync"],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT,
        **run_as,  # type: ignore[call-overload]
    )
    options = f"-c listen_addresses='' -k {root} -p {PORT} -F"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options]
        + ["-w", "-t", str(START_TIMEOUT), "start"],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT + 5,
        **run_as,  # type: ignore[call-overload]
    )


def _stop(bin_dir: Path, root: Path) -> None:
    subprocess.run(
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
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL: install pgserver or the system's postgresql")
    root = Path(tempfile.mkdtemp(prefix="jobsearch-pg-"))
    try:
        _start(bin_dir, root)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start from {bin_dir}: {exc}")
    try:
        cluster = PgCluster(root)
        _create_template(cluster)
        yield cluster
    finally:
        _stop(bin_dir, root)
        shutil.rmtree(root, ignore_errors=True)


def _create_template(cluster: PgCluster) -> None:
    import psycopg

    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    with psycopg.connect(cluster.conninfo(TEMPLATE_DB)) as conn:
        conn.execute(STANDINS.read_text(encoding="utf-8"))  # type: ignore[arg-type]


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
