"""The test server: `newsbot postgres start` into a temporary directory, one fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count(1)


def newsbot(*args: str, env: dict | None = None, timeout: float = 300, input: str | None = None):
    """Run the project's CLI (`python -m bot`) in a child process with the given environment additions."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=timeout,
                          env=environ, cwd=ROOT, input=input)


@dataclass
class PgServer:
    """A running local server: its directory, its URL (to the newsbot database) and what `start` printed."""

    directory: Path
    url: str
    output: str

    @classmethod
    def start(cls) -> PgServer:
        directory = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        directory.chmod(0o755)  # the server's unprivileged user must reach its data directory
        started = newsbot("postgres", "start", "--dir", str(directory / "server"), timeout=120)
        if started.returncode != 0:
            shutil.rmtree(directory, ignore_errors=True)
            raise RuntimeError(f"newsbot postgres start failed: {started.stderr.strip()}")
        return cls(directory / "server", started.stdout.strip().splitlines()[-1], started.stdout)

    def stop(self) -> None:
        newsbot("postgres", "stop", "--dir", str(self.directory), timeout=120)
        shutil.rmtree(self.directory.parent, ignore_errors=True)

    def admin(self) -> psycopg.Connection:
        """A session on the server's maintenance database."""
        return psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"newsbot_test_{os.getpid()}_{next(_names)}"
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate(self, url: str) -> int:
        """Kill every session on a database (as a crash or a failover would); return how many."""
        name = url.rsplit("/", 1)[1]
        with self.admin() as connection:
            rows = connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                                      "AND pid <> pg_backend_pid()", (name,)).fetchall()
        return len(rows)
