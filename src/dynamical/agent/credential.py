"""A robot's credential on the agent link: an Ed25519 key pair bound to the robot's id.

The private key never leaves the robot: it lives in a PEM file (PKCS#8) readable only by its
owner (0600) in a directory only its owner can enter (0700); the server stores the public key.
On every connection the server sends a fresh random challenge and the agent signs
``challenge_message(nonce, robot_id)``: a key proves possession for one connection of one robot,
a signature seen once cannot be replayed on another connection, and it cannot speak for another id.
Why Ed25519 rather than mutual TLS: no certificate authority to run, 32-byte public keys that fit a
database row, deterministic signatures, and the link works the same behind a TLS-terminating proxy.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CREDENTIALS_DIR = "credentials"
"""Under the data directory: one ``<robot_id>.key`` per robot credential made on this machine."""
NONCE_BYTES = 32
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
_DOMAIN = b"dynamical-edge agent-link v2 robot credential\x00"


class CredentialError(ValueError):
    """A credential file that is missing, unreadable, too open, or not an Ed25519 private key."""


def default_path(data_dir: Path, robot_id: str) -> Path:
    """Where ``dynamical up`` and ``dynamical robots add`` put the credential of ``robot_id``."""
    return Path(data_dir) / CREDENTIALS_DIR / f"{robot_id}.key"


def challenge_message(nonce: bytes, robot_id: str) -> bytes:
    """What the agent signs: a fixed domain (this signature means nothing anywhere else), the
    server's nonce and the id the agent speaks for."""
    return _DOMAIN + nonce + robot_id.encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: bytes) -> str:
    """A short name of a public key (sha256, 16 hex digits) for logs, tables and error messages."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify(public_key: bytes, signature: bytes, nonce: bytes, robot_id: str) -> bool:
    """Whether ``signature`` is ``robot_id``'s answer to ``nonce`` under ``public_key`` (raw, 32 bytes)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, challenge_message(nonce, robot_id))
    except (InvalidSignature, ValueError):
        return False
    return True


class RobotCredential:
    """The private key of one robot, loaded from its file."""

    def __init__(self, key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._key = key
        self.path = path

    @classmethod
    def generate(cls) -> RobotCredential:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        """Raw 32 bytes: what the server stores."""
        return public_bytes(self._key.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign_challenge(self, nonce: bytes, robot_id: str) -> bytes:
        return self._key.sign(challenge_message(nonce, robot_id))

    def save(self, path: Path) -> Path:
        """Write the key to ``path`` (0600; its directory made 0700), replacing it atomically."""
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)  # mkdir's mode is masked by the umask and ignored for an existing one
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.replace(partial, path)  # a reader never sees half a key
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path) -> RobotCredential:
        """The credential in ``path``; refuses a file others can read, as ssh does."""
        path = Path(path)
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except FileNotFoundError:
            raise CredentialError(
                f"no robot credential at {path}: `dynamical robots add ROBOT_ID` makes one "
                "(`dynamical up` makes the local robot's)"
            ) from None
        except OSError as exc:
            raise CredentialError(f"cannot read the robot credential {path}: {exc.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialError(
                f"the robot credential {path} is readable by others (mode {stat.S_IMODE(mode):04o}): chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise CredentialError(f"{path} is not a robot credential: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CredentialError(f"{path} holds a {type(key).__name__}, not an Ed25519 robot credential")
        return cls(key, path)
