# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures that run the REAL kring server binary for client-compatibility tests.

Environment:
  KRING_BIN                 server binary (default: $CARGO_TARGET_DIR/debug/kring,
                            else <repo>/target/debug/kring)
  KRING_TEST_BACKEND        "sqlite" (default) or "postgres"
  KRING_TEST_DATABASE_URL   postgres only: a URL whose role may CREATE DATABASE;
                            each server gets a fresh database made from it
  KRING_TEST_KEEP_DATA=1    keep the server's data dir and database afterwards

Server contract used here:
  kring serve --listen 127.0.0.1:PORT --domain 127.0.0.1:PORT --data-dir DIR [--database-url URL]
  kring admin create-user --username N --email E --password P [--role admin]
        --data-dir DIR [--database-url URL]
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
STOP_GRACE = 5.0
LOG_TAIL_CHARS = 20_000


def _kring_bin() -> Path:
    explicit = os.environ.get("KRING_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = REPO / path
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
        if not target.is_absolute():
            target = REPO / target
        path = target / "debug" / "kring"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"kring server binary not found at {path}: run `cargo build --workspace --bins` "
            "first, or set KRING_BIN",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(url: str, sql: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql not found (Debian: apt-get install postgresql-client)", pytrace=False)
    proc = subprocess.run(
        [psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed ({sql!r}): {proc.stderr.strip() or proc.stdout.strip()}")


def _with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


class KringServer:
    """One running `kring serve` process with its own data dir and database."""

    def __init__(self, binary: Path, backend: str, data_dir: Path, database_url: str | None):
        self.binary = binary
        self.backend = backend
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = _free_port()
        self.domain = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.domain}"
        self.ws_url = f"ws://{self.domain}"
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    # -- command line helpers ---------------------------------------------------
    def _store_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("RUST_LOG", "info")
        # New accounts approve followers by default; these flows follow freely (the default
        # is tested in crates/kring/tests/api_flow.rs). For `serve` and `admin` alike.
        env["KRING_APPROVE_FOLLOWERS"] = "false"
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `kring <args> --data-dir DIR [--database-url URL]`."""
        cmd = [str(self.binary), *args, *self._store_args()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=self._env())
        if check and proc.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` exited {proc.returncode}\n--- stdout\n{proc.stdout}\n"
                f"--- stderr\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    def create_user(self, username: str, email: str, password: str, role: str | None = None):
        args = ["admin", "create-user", "--username", username, "--email", email, "--password", password]
        if role:
            args += ["--role", role]
        return self.cli(*args)

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        cmd = [
            str(self.binary),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--domain",
            self.domain,
            # The suites make many requests quickly from one address: lift the abuse limits
            # (crates/kring/tests cover the limits themselves).
            "--rate-limit",
            "all=1000000/1m",
            *self._store_args(),
        ]
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self._env(),
            cwd=self.data_dir,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error = "no attempt"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(
                    f"kring serve exited with code {code} during startup\n{self.log_text()}",
                    pytrace=False,
                )
            try:
                resp = requests.get(f"{self.base_url}/api/v1/instance", timeout=2)
                if resp.status_code == 200:
                    return
                last_error = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last_error = repr(exc)
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"kring serve did not answer GET /api/v1/instance with 200 within "
            f"{STARTUP_TIMEOUT:.0f}s (last: {last_error})\n{self.log_text()}",
            pytrace=False,
        )

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_GRACE seconds. Returns the exit code."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            code = self.proc.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, limit: int = LOG_TAIL_CHARS) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        if len(text) > limit:
            text = f"... ({len(text) - limit} characters cut)\n" + text[-limit:]
        return f"--- kring server log ({self.log_path}) ---\n{text}--- end of server log ---"


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def backend() -> str:
    value = os.environ.get("KRING_TEST_BACKEND", "sqlite").strip().lower()
    if value not in ("sqlite", "postgres"):
        pytest.fail(f"KRING_TEST_BACKEND must be sqlite or postgres, not {value!r}", pytrace=False)
    return value


@pytest.fixture(scope="session")
def kring_bin() -> Path:
    return _kring_bin()


@pytest.fixture(scope="module")
def kring_server(request, backend, kring_bin):
    """A fresh server (own data dir, own database) per test module."""
    keep = os.environ.get("KRING_TEST_KEEP_DATA") == "1"
    data_dir = Path(tempfile.mkdtemp(prefix="kring-client-test-"))
    database_url = None
    admin_url = None
    dbname = None
    if backend == "postgres":
        admin_url = os.environ.get("KRING_TEST_DATABASE_URL")
        if not admin_url:
            pytest.fail("KRING_TEST_BACKEND=postgres needs KRING_TEST_DATABASE_URL", pytrace=False)
        dbname = f"kring_py_{secrets.token_hex(6)}"
        _psql(admin_url, f'CREATE DATABASE "{dbname}"')
        database_url = _with_database(admin_url, dbname)

    def cleanup() -> None:
        if keep:
            print(f"\n[kring_server] kept data dir {data_dir} database {dbname or '-'}")
            return
        shutil.rmtree(data_dir, ignore_errors=True)
        if dbname is not None:
            try:
                _psql(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - cleanup must not mask results
                print(f"[kring_server] could not drop database {dbname}: {exc}")

    server = KringServer(kring_bin, backend, data_dir, database_url)
    try:
        server.start()  # fails the setup with the server's log when it does not come up
    except BaseException:
        server.stop()
        cleanup()
        raise
    request.node._kring_server = server
    try:
        yield server
    finally:
        died = not server.alive()
        code = server.stop()
        log = server.log_text() if died else ""
        cleanup()
    if died:
        pytest.fail(f"kring serve died during the tests (exit code {code})\n{log}", pytrace=False)


# -- reporting: attach the server log to failures; stop a flow after its first failure ----


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        server = None
        for node in item.listchain():
            server = getattr(node, "_kring_server", None)
            if server is not None:
                break
        if server is None and "kring_server" in getattr(item, "funcargs", {}):
            server = item.funcargs["kring_server"]
        if server is not None and server.log_path.exists():
            report.sections.append(("kring server log", server.log_text()))
        # Flow steps in a class marked `incremental` depend on the earlier steps.
        if call.excinfo is not None and item.get_closest_marker("incremental") is not None:
            parent = item.parent
            if parent is not None and getattr(parent, "_first_failure", None) is None:
                parent._first_failure = item.name


def pytest_runtest_setup(item):
    if item.get_closest_marker("incremental") is not None:
        first = getattr(item.parent, "_first_failure", None)
        if first is not None:
            pytest.skip(f"an earlier step failed: {first}")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "incremental: steps of one flow; skip the rest after the first failure"
    )
