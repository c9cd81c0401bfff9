"""BFV (Microsoft SEAL through TenSEAL's ``sealapi``) for summing quantized updates.

Two roles, two objects, so the server's side cannot decrypt by construction:

- ``BfvPublic``: the encryption parameters only (N = 8192, q = [60, 40] bits, t = 1032193; 128-bit
  security). Loads, validates and adds ciphertexts. This is all the server ever holds.
- ``BfvSecret``: parameters + the fleet's secret key, held by the robots (and the admin that
  generated it). Encrypts with seeded symmetric ciphertexts (2.0× a float32 uplink: SEAL stores
  the seed of the uniform half) and decrypts the returned sum (4.0×).

An update of d values is split over ceil((d + 1) / 8192) ciphertexts; the wire format is
``MAGIC, u32 count, then u32 length + SEAL bytes`` per ciphertext (SEAL's own header is checked
on load: version, parameter id, sizes).
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from pathlib import Path

import numpy as np
import tenseal.sealapi as seal

from dynamical.fleet.errors import FleetKeyError, UpdateRejectedError
from dynamical.fleet.quantize import BFV_PLAIN_MODULUS

POLY_DEGREE = 8192
COEFF_BITS = (60, 40)
MAGIC = b"DEFLBFV1"
MAX_CIPHERTEXTS = 4096
"""Updates of up to ~33 M values; more is a malformed message, not a model."""


def _params() -> seal.EncryptionParameters:
    params = seal.EncryptionParameters(seal.SCHEME_TYPE.BFV)
    params.set_poly_modulus_degree(POLY_DEGREE)
    params.set_coeff_modulus(seal.CoeffModulus.Create(POLY_DEGREE, list(COEFF_BITS)))
    params.set_plain_modulus(BFV_PLAIN_MODULUS)
    return params


def _context(params: seal.EncryptionParameters) -> seal.SEALContext:
    return seal.SEALContext(params, True, seal.SEC_LEVEL_TYPE.TC128)


def _to_bytes(save, tmp: Path) -> bytes:  # a SEAL object's bound save(path)
    # sealapi serializes to paths only (std::ofstream); a private temp dir keeps it off shared paths.
    path = tmp / "obj"
    save(str(path))
    return path.read_bytes()


def pack(blobs: list[bytes]) -> bytes:
    return MAGIC + struct.pack("<I", len(blobs)) + b"".join(struct.pack("<I", len(b)) + b for b in blobs)


def unpack(data: bytes) -> list[bytes]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise UpdateRejectedError("not a BFV update (bad magic)")
    (count,) = struct.unpack_from("<I", data, len(MAGIC))
    if not 0 < count <= MAX_CIPHERTEXTS:
        raise UpdateRejectedError(f"a BFV update holds 1..{MAX_CIPHERTEXTS} ciphertexts, this one says {count}")
    at = len(MAGIC) + 4
    blobs = []
    for _ in range(count):
        if at + 4 > len(data):
            raise UpdateRejectedError("truncated BFV update")
        (size,) = struct.unpack_from("<I", data, at)
        at += 4
        if size == 0 or at + size > len(data):
            raise UpdateRejectedError("truncated BFV update")
        blobs.append(data[at : at + size])
        at += size
    if at != len(data):
        raise UpdateRejectedError("trailing bytes after the BFV update")
    return blobs


def ciphertexts_for(values: int) -> int:
    """Ciphertexts an encoded update of ``values`` integers (count slot included) takes."""
    return -(-values // POLY_DEGREE)


class BfvPublic:
    """The server's side: parameters only. It can add ciphertexts; it has nothing to decrypt with."""

    def __init__(self) -> None:
        self._context = _context(_params())
        self._evaluator = seal.Evaluator(self._context)

    @property
    def params_id(self) -> str:
        """Hash of the parameters: what every update and key bundle must name."""
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            return hashlib.sha256(_to_bytes(_params().save, Path(tmp))).hexdigest()[:16]

    def _load(self, blob: bytes, tmp: Path) -> seal.Ciphertext:
        path = tmp / "ct"
        path.write_bytes(blob)
        ct = seal.Ciphertext()
        try:
            ct.load(self._context, str(path))
        except Exception as exc:  # untrusted bytes: SEAL's C++ errors map to several Python types
            raise UpdateRejectedError(f"a ciphertext does not load under the fleet's parameters: {exc}") from exc
        if ct.size() != 2:
            raise UpdateRejectedError(f"a fresh ciphertext has 2 polynomials, this one has {ct.size()}")
        return ct

    def validate(self, update: bytes, values: int) -> list[bytes]:
        """Check framing, count and SEAL validity of one robot's update; returns its ciphertexts."""
        blobs = unpack(update)
        if len(blobs) != ciphertexts_for(values):
            raise UpdateRejectedError(
                f"expected {ciphertexts_for(values)} ciphertexts for {values} values, got {len(blobs)}"
            )
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            for blob in blobs:
                self._load(blob, Path(tmp))
        return blobs

    def sum(self, updates: list[bytes], values: int) -> bytes:
        """The encrypted sum of validated updates (same layout). Raises UpdateRejectedError on a bad one."""
        if not updates:
            raise UpdateRejectedError("nothing to aggregate")
        count = ciphertexts_for(values)
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            tmp_path = Path(tmp)
            totals: list[seal.Ciphertext] | None = None
            for update in updates:
                blobs = unpack(update)
                if len(blobs) != count:
                    raise UpdateRejectedError(f"expected {count} ciphertexts, got {len(blobs)}")
                cts = [self._load(b, tmp_path) for b in blobs]
                if totals is None:
                    totals = cts
                else:
                    for total, ct in zip(totals, cts, strict=True):
                        self._evaluator.add_inplace(total, ct)
            assert totals is not None
            return pack([_to_bytes(ct.save, tmp_path) for ct in totals])


class BfvSecret:
    """A key holder's side: encrypts updates and decrypts sums with the fleet's secret key."""

    def __init__(self, secret_key: bytes | None = None) -> None:
        self._context = _context(_params())
        self._encoder = seal.BatchEncoder(self._context)
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            tmp_path = Path(tmp)
            if secret_key is None:
                self._sk = seal.KeyGenerator(self._context).secret_key()
            else:
                path = tmp_path / "sk"
                path.write_bytes(secret_key)
                self._sk = seal.SecretKey()
                try:
                    self._sk.load(self._context, str(path))
                except (RuntimeError, ValueError) as exc:
                    raise FleetKeyError(f"not a BFV secret key for the fleet's parameters: {exc}") from exc
            self._secret_bytes = _to_bytes(self._sk.save, tmp_path)
        self._encryptor = seal.Encryptor(self._context, self._sk)
        self._decryptor = seal.Decryptor(self._context, self._sk)

    def secret_key_bytes(self) -> bytes:
        return self._secret_bytes

    @property
    def key_id(self) -> str:
        """Fingerprint of the secret key (safe to publish: a hash, not the key)."""
        return hashlib.sha256(self._secret_bytes).hexdigest()[:16]

    def encrypt(self, encoded: np.ndarray) -> bytes:
        """encoded: (m,) int64 from ``quantize.encode``. Returns the packed seeded ciphertexts."""
        values = np.asarray(encoded, dtype=np.int64)
        blobs = []
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            tmp_path = Path(tmp)
            for start in range(0, values.size, POLY_DEGREE):
                chunk = np.zeros(POLY_DEGREE, dtype=np.int64)
                part = values[start : start + POLY_DEGREE]
                chunk[: part.size] = part
                plain = seal.Plaintext()
                self._encoder.encode(chunk.tolist(), plain)
                blobs.append(_to_bytes(self._encryptor.encrypt_symmetric(plain).save, tmp_path))
        return pack(blobs)

    def decrypt(self, packed: bytes, values: int) -> np.ndarray:
        """The (values,) int64 sum inside an aggregate; centred in (-(t-1)/2, (t-1)/2]."""
        blobs = unpack(packed)
        if len(blobs) != ciphertexts_for(values):
            raise UpdateRejectedError(f"the aggregate has {len(blobs)} ciphertexts, expected {ciphertexts_for(values)}")
        out = []
        with tempfile.TemporaryDirectory(prefix="fleet-bfv-") as tmp:
            path = Path(tmp) / "ct"
            for blob in blobs:
                path.write_bytes(blob)
                ct = seal.Ciphertext()
                try:
                    ct.load(self._context, str(path))
                except (RuntimeError, ValueError) as exc:
                    raise UpdateRejectedError(f"the aggregate does not load: {exc}") from exc
                plain = seal.Plaintext()
                self._decryptor.decrypt(ct, plain)
                out.append(np.asarray(self._encoder.decode_int64(plain), dtype=np.int64))
        return np.concatenate(out)[:values]
