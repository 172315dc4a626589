# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures for the federation interop tests: the REAL kring binary and an independent
ActivityPub peer built on Fedify 1.5.9 (fedify-peer/peer.mjs), both on 127.0.0.1.

The kring side reuses tests/clients/conftest.py (binary look-up, backends, data dir,
start/stop, log capture) and adds KRING_ALLOW_PRIVATE_FEDERATION=true so that kring
federates with loopback addresses, and KRING_DOMAIN for `kring admin create-user`.

Environment (besides tests/clients/conftest.py's KRING_BIN, KRING_TEST_BACKEND,
KRING_TEST_DATABASE_URL, KRING_TEST_KEEP_DATA):
  NODE               node binary (default: `node` on PATH; Node 20 or newer)
  PEER_LOG           the peer's Fedify log level (default "info"; "debug" tells why a
                     signature was refused)
  KRING_FED_TIMEOUT  seconds to wait for each federated effect (default 10)
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER_DIR = HERE / "fedify-peer"
PEER_STARTUP_TIMEOUT = 30.0
LOG_TAIL_CHARS = 20_000


def _load_client_conftest():
    """tests/clients/conftest.py as a plain module (it is not a package)."""
    name = "kring_tests_clients_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "clients" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


base = _load_client_conftest()


class FederatingKringServer(base.KringServer):
    """`kring serve` allowed to federate with private (loopback) addresses."""

    def _env(self) -> dict[str, str]:
        env = super()._env()
        # clap reads a bool flag's env as true|false ("1" is refused with exit 2)
        env["KRING_ALLOW_PRIVATE_FEDERATION"] = "true"
        # `kring admin create-user` stores the account's URIs with its --domain (default
        # localhost:8080): give it the server's domain, or alice's actor would not be ours.
        env["KRING_DOMAIN"] = self.domain
        env.setdefault("NO_COLOR", "1")  # plain server logs in failure reports
        return env


class FedifyPeer:
    """One `node peer.mjs` process (one actor) with its control API."""

    def __init__(self, node: str, log_dir: Path, identifier: str = "peer", mode: str = "fedify"):
        self.node = node
        self.identifier = identifier
        self.mode = mode
        self.port = base._free_port()
        self.domain = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.domain}"
        self.actor_url = f"{self.base_url}/users/{identifier}"
        self.acct = f"{identifier}@{self.domain}"
        self.log_path = log_dir / f"fedify-peer-{identifier}.log"
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def start(self) -> None:
        cmd = [self.node, str(PEER_DIR / "peer.mjs")]
        env = dict(os.environ)
        env.update(PORT=str(self.port), PEER_IDENTIFIER=self.identifier, PEER_MODE=self.mode)
        env.setdefault("PEER_LOG", "info")
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(f"$ PORT={self.port} {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=PEER_DIR,
            start_new_session=True,
        )
        deadline = time.monotonic() + PEER_STARTUP_TIMEOUT
        last_error = "no attempt"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(f"the Fedify peer exited with code {code} during startup\n{self.log_text()}",
                            pytrace=False)
            try:
                resp = requests.get(f"{self.base_url}/_control/health", timeout=2)
                if resp.status_code == 200:
                    return
                last_error = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last_error = repr(exc)
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the Fedify peer did not answer /_control/health within "
                    f"{PEER_STARTUP_TIMEOUT:.0f}s (last: {last_error})\n{self.log_text()}", pytrace=False)

    def stop(self) -> int | None:
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
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
            return f"(no peer log: {exc})"
        if len(text) > limit:
            text = f"... ({len(text) - limit} characters cut)\n" + text[-limit:]
        return f"--- Fedify peer log ({self.log_path}) ---\n{text}--- end of peer log ---"

    # -- control API ------------------------------------------------------------------
    def control(self, method: str, path: str, body: dict | None = None, expect: int | None = 200):
        """Call /_control/<path>; returns the decoded JSON. Fails the test on an
        unexpected status with everything the peer said."""
        url = f"{self.base_url}/_control/{path}"
        resp = requests.request(method, url, json=body, timeout=60)
        if expect is not None and resp.status_code != expect:
            pytest.fail(f"peer control {method} /_control/{path} {json.dumps(body)} answered "
                        f"{resp.status_code}: {resp.text[:4000]}", pytrace=False)
        return resp.json()

    def received(self, type_: str | None = None) -> list[dict]:
        path = "received" + (f"?type={type_}" if type_ else "")
        return self.control("GET", path)

    def state(self) -> dict:
        return self.control("GET", "state")


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def backend() -> str:
    value = os.environ.get("KRING_TEST_BACKEND", "sqlite").strip().lower()
    if value not in ("sqlite", "postgres"):
        pytest.fail(f"KRING_TEST_BACKEND must be sqlite or postgres, not {value!r}", pytrace=False)
    return value


@pytest.fixture(scope="session")
def kring_bin() -> Path:
    path = base._kring_bin()
    proc = subprocess.run([str(path), "serve", "--help"], capture_output=True, text=True, timeout=60)
    if "--allow-private-federation" not in proc.stdout:
        pytest.fail(f"{path} has no `serve --allow-private-federation` (needed to federate on "
                    "127.0.0.1): rebuild it with `cargo build -p kring`", pytrace=False)
    return path


@pytest.fixture(scope="session")
def node_bin() -> str:
    node = os.environ.get("NODE") or shutil.which("node")
    if not node:
        pytest.fail("node not found (Node 20 or newer is needed for the Fedify peer)", pytrace=False)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < 20:
        pytest.fail(f"the Fedify peer needs Node 20 or newer, found {version!r} at {node}", pytrace=False)
    if not (PEER_DIR / "node_modules" / "@fedify" / "fedify" / "package.json").is_file():
        pytest.fail(f"the Fedify peer's packages are not installed: run "
                    f"`npm ci --prefix {PEER_DIR.relative_to(REPO)}`", pytrace=False)
    return node


@pytest.fixture(scope="module")
def kring(request, backend, kring_bin):
    """A fresh federating kring server (own data dir, own database) per test module."""
    keep = os.environ.get("KRING_TEST_KEEP_DATA") == "1"
    data_dir = Path(tempfile.mkdtemp(prefix="kring-federation-test-"))
    database_url = admin_url = dbname = None
    if backend == "postgres":
        admin_url = os.environ.get("KRING_TEST_DATABASE_URL")
        if not admin_url:
            pytest.fail("KRING_TEST_BACKEND=postgres needs KRING_TEST_DATABASE_URL", pytrace=False)
        dbname = f"kring_fed_{secrets.token_hex(6)}"
        base._psql(admin_url, f'CREATE DATABASE "{dbname}"')
        database_url = base._with_database(admin_url, dbname)

    def cleanup() -> None:
        if keep:
            print(f"\n[kring] kept data dir {data_dir} database {dbname or '-'}")
            return
        shutil.rmtree(data_dir, ignore_errors=True)
        if dbname is not None:
            try:
                base._psql(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - cleanup must not mask results
                print(f"[kring] could not drop database {dbname}: {exc}")

    server = FederatingKringServer(kring_bin, backend, data_dir, database_url)
    try:
        server.start()
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


@pytest.fixture(scope="module")
def peer(request, node_bin):
    yield from _peer(request, node_bin, "peer", "fedify")


@pytest.fixture(scope="module")
def gts_peer(request, node_bin):
    """A second peer that behaves on the wire as GoToSocial does (PEER_MODE=gotosocial)."""
    yield from _peer(request, node_bin, "gts", "gotosocial")


def _peer(request, node_bin, identifier: str, mode: str):
    log_dir = Path(tempfile.mkdtemp(prefix="kring-fedify-peer-"))
    p = FedifyPeer(node_bin, log_dir, identifier, mode)
    try:
        p.start()
    except BaseException:
        p.stop()
        raise
    setattr(request.node, "_fedify_peer" if mode == "fedify" else f"_fedify_peer_{mode}", p)
    try:
        yield p
    finally:
        died = not p.alive()
        code = p.stop()
        log = p.log_text() if died else ""
        if os.environ.get("KRING_TEST_KEEP_DATA") != "1":
            shutil.rmtree(log_dir, ignore_errors=True)
    if died:
        pytest.fail(f"the Fedify peer died during the tests (exit code {code})\n{log}", pytrace=False)


# -- reporting: both servers' logs on every failure ------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for attr, title in (("_kring_server", "kring server log"), ("_fedify_peer", "Fedify peer log"),
                        ("_fedify_peer_gotosocial", "Fedify peer (gotosocial mode) log")):
        for node in item.listchain():
            target = getattr(node, attr, None)
            if target is not None:
                if target.log_path.exists():
                    report.sections.append((title, target.log_text()))
                break
