"""A real ``dynamical up --no-agent`` for the security tests: its own process (so that its memory
can be watched), a new data directory, a free port, and TLS with a self-signed certificate made
here with ``cryptography``.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.exc import OperationalError

from dynamical.api.auth import Scope, create_api_key, revoke_api_key
from dynamical.api.db import Database
from dynamical.api.settings import SQLITE_FILE

HOST = "127.0.0.1"
# Starting the server loads the planner's model: minutes on a loaded two-core machine.
START_TIMEOUT_S = 420.0


def self_signed(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """A certificate for ``host`` (IP SAN) and its key, PEM files in ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dynamical test server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    keyfile.chmod(0o600)
    return certfile, keyfile


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    port: int
    pid: int
    admin_key: str
    data_dir: Path
    log: Path
    certfile: Path

    @property
    def database(self) -> Database:
        return Database(f"sqlite:///{self.data_dir / SQLITE_FILE}", create=False)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certfile))

    def client(self, key: str | None = None, source: str | None = None) -> httpx.Client:
        """An HTTPS client that trusts this server; ``source``: the loopback address to connect from
        (127.0.0.2 …: another client address, as far as the server can tell)."""
        headers = {"X-API-Key": key} if key else {}
        transport = httpx.HTTPTransport(verify=self.tls(), local_address=source)
        return httpx.Client(base_url=self.url, headers=headers, transport=transport, timeout=60)

    def new_key(self, scope: Scope, name: str = "security test") -> tuple[str, str]:
        """A new key made in the server's database as ``dynamical keys create`` would: (key, prefix)."""
        db = self.database
        try:
            with db.session() as session:
                made = create_api_key(session, scope, name)
        finally:
            db.dispose()
        return made.key, made.prefix

    def revoke(self, prefix: str) -> None:
        """Revoke a key from outside the server, as ``dynamical keys revoke`` does (which, like
        this, waits for the write lock: SQLite's busy timeout, here up to a minute on a loaded
        machine)."""
        db = self.database
        deadline = time.monotonic() + 60
        try:
            while True:
                try:
                    with db.session() as session:
                        assert revoke_api_key(session, prefix)
                    return
                except OperationalError:
                    if time.monotonic() > deadline:
                        raise
        finally:
            db.dispose()


@contextmanager
def live_server(directory: Path, *extra: str) -> Iterator[LiveServer]:
    """``dynamical up --no-agent`` over TLS until the block ends (SIGINT, then kill)."""
    certfile, keyfile = self_signed(directory)
    port = free_port()
    data_dir = directory / "data"
    log = directory / "up.log"
    command = [sys.executable, "-m", "dynamical.cli", "up", "--no-agent", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--certfile", str(certfile), "--keyfile", str(keyfile), *extra]
    url = f"https://{HOST}:{port}"
    context = ssl.create_default_context(cafile=str(certfile))
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", verify=context, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not come up:\n" + log.read_text()
            time.sleep(0.5)
        found = re.search(r"^(dyn_[0-9a-f]{10}_\S+)$", log.read_text(), re.M)
        assert found is not None, log.read_text()
        yield LiveServer(url, port, process.pid, found.group(1), data_dir, log, certfile)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
