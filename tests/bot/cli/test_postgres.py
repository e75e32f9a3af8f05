"""`newsbot postgres start|stop`: a real server on loopback only, run by an unprivileged user, its URL last."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.postgres import newsbot


@pytest.fixture()
def server_dir():
    base = Path(tempfile.mkdtemp(prefix="newsbot-pg-cli-"))
    base.chmod(0o755)
    yield base / "srv"
    newsbot("postgres", "stop", "--dir", str(base / "srv"))
    shutil.rmtree(base, ignore_errors=True)


def test_start_prints_the_url_last_and_stop_stops_it(server_dir: Path) -> None:
    started = newsbot("postgres", "start", "--dir", str(server_dir))
    assert started.returncode == 0, started.stderr
    lines = started.stdout.strip().splitlines()
    url = lines[-1]
    assert url.startswith("postgresql://newsbot:") and "@127.0.0.1:" in url and url.endswith("/newsbot")
    assert "with pgvector" in started.stdout and "127.0.0.1" in lines[-3]
    data = server_dir / "data"
    with psycopg.connect(url) as connection:
        assert connection.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert connection.execute("SHOW unix_socket_directories").fetchone()[0] == ""
        assert connection.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert connection.execute("SHOW data_directory").fetchone()[0] == str(data.resolve())
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: the data directory belongs to the unprivileged server user.
        import pwd

        assert "unprivileged user newsbot-pg" in started.stdout
        assert pwd.getpwuid(data.stat().st_uid).pw_name == "newsbot-pg"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((server_dir / "password").stat().st_mode) == 0o600
    again = newsbot("postgres", "start", "--dir", str(server_dir))
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == url and "already running" in again.stdout
    stopped = newsbot("postgres", "stop", "--dir", str(server_dir))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
    assert "no server is running" in newsbot("postgres", "stop", "--dir", str(server_dir)).stdout
    restarted = newsbot("postgres", "start", "--dir", str(server_dir))
    assert restarted.returncode == 0 and restarted.stdout.strip().splitlines()[-1] == url  # same port and password


def test_a_directory_the_server_user_cannot_reach_is_refused_in_one_line(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands the server to another user")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    result = newsbot("postgres", "start", "--dir", str(closed / "srv"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "newsbot-pg" in result.stderr and "cannot enter" in result.stderr
