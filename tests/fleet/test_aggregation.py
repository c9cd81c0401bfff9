"""BFV aggregation against plaintext FedAvg; refusals that keep a round intact."""

from __future__ import annotations

import numpy as np
import pytest

from dynamical.fleet import bfv, quantize
from dynamical.fleet.aggregator import RoundCollector
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.errors import FleetError, QuantizationError, UpdateRejectedError
from dynamical.fleet.robot import decode_aggregate, encode_update

D = 9000  # two ciphertexts: the split across ciphertexts is exercised
ROBOTS = ("a", "b", "c")


@pytest.fixture(scope="module")
def secret() -> bfv.BfvSecret:
    return bfv.BfvSecret()


@pytest.fixture(scope="module")
def public() -> bfv.BfvPublic:
    return bfv.BfvPublic()


def _updates(seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.01, D) for _ in ROBOTS], [120, 400, 64]


def _fedavg(updates: list[np.ndarray], examples: list[int], bound: float) -> np.ndarray:
    return sum(n * np.clip(u, -bound, bound) for u, n in zip(updates, examples, strict=True)) / sum(examples)


def _tolerance(config: FleetConfig, examples: list[int]) -> float:
    """Each stochastic rounding is off by < 1 level: the mean by < robots / (Q · Σw) · bound."""
    weight = sum(examples) / config.quant.weight_cap
    return len(examples) * config.quant.bound / (config.quant.levels * weight)


def _collector(config: FleetConfig, key_id: str, public: bfv.BfvPublic | None) -> RoundCollector:
    return RoundCollector(3, key_id, D + 1, config, set(ROBOTS), public=public)


def test_bfv_sum_is_plaintext_fedavg_up_to_quantization(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    config = FleetConfig()
    updates, examples = _updates()
    rng = np.random.default_rng(1)
    encoded = [quantize.encode(u, n, config.quant, rng) for u, n in zip(updates, examples, strict=True)]
    collector = _collector(config, secret.key_id, public)
    for robot, enc in zip(ROBOTS, encoded, strict=True):
        collector.submit(robot, 3, secret.key_id, D + 1, secret.encrypt(enc))
    aggregate = collector.close()
    # The integers are summed exactly: BFV adds without error.
    assert np.array_equal(secret.decrypt(aggregate.payload, D + 1), np.sum(encoded, axis=0))
    mean, total = decode_aggregate(aggregate.payload, D + 1, 3, config, secret)
    assert total == sum(examples)
    assert np.abs(mean - _fedavg(updates, examples, config.quant.bound)).max() < _tolerance(config, examples)
    # Uplink is seeded symmetric (≈ 2×float32), the sum is a full ciphertext (≈ 4×).
    assert aggregate.bytes_up / 3 < 2.1 * 4 * bfv.POLY_DEGREE * bfv.ciphertexts_for(D + 1)
    assert aggregate.bytes_down < 4.1 * 4 * bfv.POLY_DEGREE * bfv.ciphertexts_for(D + 1)


def test_plaintext_backend_gives_the_same_mean(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    updates, examples = _updates(2)
    means = []
    for aggregation in ("bfv", "none"):
        config = FleetConfig(aggregation=aggregation, allow_plaintext=True)
        key = secret.key_id if aggregation == "bfv" else "plaintext"
        collector = _collector(config, key, public if aggregation == "bfv" else None)
        rng = np.random.default_rng(5)  # same rounding draws: the same integers
        for robot, u, n in zip(ROBOTS, updates, examples, strict=True):
            payload = encode_update(u, n, config, secret if aggregation == "bfv" else None, rng)
            collector.submit(robot, 3, key, D + 1, payload)
        aggregate = collector.close()
        means.append(decode_aggregate(aggregate.payload, D + 1, 3, config, secret)[0])
    assert np.array_equal(means[0], means[1])


def test_plaintext_needs_explicit_consent() -> None:
    with pytest.raises(ValueError, match="allow_plaintext"):
        FleetConfig(aggregation="none")


def test_overflow_is_refused_not_wrapped(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    with pytest.raises(ValueError, match="levels"):
        quantize.QuantSpec(max_clients=5000)
    config = FleetConfig(quant=quantize.QuantSpec(max_clients=2))
    collector = _collector(config, secret.key_id, public)
    rng = np.random.default_rng(0)
    full = np.full(D, 10.0)  # clipped to +bound: the largest value each robot can send
    for robot in ROBOTS[:2]:
        collector.submit(
            robot, 3, secret.key_id, D + 1, secret.encrypt(quantize.encode(full, 10**6, config.quant, rng))
        )
    with pytest.raises(UpdateRejectedError, match="headroom"):
        collector.submit("c", 3, secret.key_id, D + 1, secret.encrypt(quantize.encode(full, 5, config.quant, rng)))
    mean, _ = decode_aggregate(collector.close().payload, D + 1, 2, config, secret)
    assert np.allclose(mean, config.quant.bound)  # at the edge of the range, not wrapped to negative
    with pytest.raises(QuantizationError, match="wrapped"):
        quantize.check_sum(np.zeros(D + 1, np.int64), 3, config.quant)
    with pytest.raises(QuantizationError, match="NaN"):
        quantize.encode(np.array([0.0, np.nan]), 10, config.quant, rng)


def test_bad_updates_are_rejected_and_the_round_survives(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    config = FleetConfig()
    updates, examples = _updates(3)
    rng = np.random.default_rng(4)
    good = [encode_update(u, n, config, secret, rng) for u, n in zip(updates, examples, strict=True)]
    collector = _collector(config, secret.key_id, public)
    collector.submit("a", 3, secret.key_id, D + 1, good[0])
    bad = {
        "garbage": (b"\x00" * 1000, "magic"),
        "truncated": (good[1][: len(good[1]) // 2], "truncated"),
        "one ciphertext short": (bfv.pack(bfv.unpack(good[1])[:1]), "expected 2 ciphertexts"),
        "flipped bytes": (bfv.pack([b[:40] + bytes(64) + b[104:] for b in bfv.unpack(good[1])]), "does not load"),
    }
    for payload, message in bad.values():
        with pytest.raises(UpdateRejectedError, match=message):
            collector.submit("b", 3, secret.key_id, D + 1, payload)
    with pytest.raises(UpdateRejectedError, match="key"):
        collector.submit("b", 3, "another-key", D + 1, good[1])
    with pytest.raises(UpdateRejectedError, match="round"):
        collector.submit("b", 2, secret.key_id, D + 1, good[1])
    with pytest.raises(UpdateRejectedError, match="not registered"):
        collector.submit("mallory", 3, secret.key_id, D + 1, good[1])
    with pytest.raises(UpdateRejectedError, match="already sent"):
        collector.submit("a", 3, secret.key_id, D + 1, good[0])
    collector.submit("b", 3, secret.key_id, D + 1, good[1])
    collector.submit("c", 3, secret.key_id, D + 1, good[2])
    mean, total = decode_aggregate(collector.close().payload, D + 1, 3, config, secret)
    assert total == sum(examples)
    assert np.abs(mean - _fedavg(updates, examples, config.quant.bound)).max() < _tolerance(config, examples)


def test_an_update_under_another_secret_key_is_detected(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    # The server cannot tell (it holds no key); the key holders see a sum no honest robots can make.
    config = FleetConfig()
    updates, examples = _updates(6)
    rng = np.random.default_rng(0)
    collector = _collector(config, secret.key_id, public)
    collector.submit("a", 3, secret.key_id, D + 1, encode_update(updates[0], examples[0], config, secret, rng))
    rogue = bfv.BfvSecret()
    collector.submit("b", 3, secret.key_id, D + 1, encode_update(updates[1], examples[1], config, rogue, rng))
    with pytest.raises(QuantizationError, match="wrong key"):
        decode_aggregate(collector.close().payload, D + 1, 2, config, secret)


def test_dropout_closes_with_the_robots_that_sent(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    config = FleetConfig()
    updates, examples = _updates(7)
    rng = np.random.default_rng(0)
    collector = _collector(config, secret.key_id, public)
    collector.submit("a", 3, secret.key_id, D + 1, encode_update(updates[0], examples[0], config, secret, rng))
    with pytest.raises(FleetError, match="fewer than the 2"):
        collector.close()
    collector.submit("c", 3, secret.key_id, D + 1, encode_update(updates[2], examples[2], config, secret, rng))
    aggregate = collector.close()
    assert aggregate.contributors == ["a", "c"]
    mean, _ = decode_aggregate(aggregate.payload, D + 1, 2, config, secret)
    kept = [examples[0], examples[2]]
    fedavg = _fedavg([updates[0], updates[2]], kept, config.quant.bound)
    assert np.abs(mean - fedavg).max() < _tolerance(config, kept)


def test_the_server_side_cannot_decrypt(secret: bfv.BfvSecret, public: bfv.BfvPublic) -> None:
    assert not any(hasattr(public, name) for name in ("decrypt", "secret_key_bytes", "_sk", "_decryptor"))
    values = np.arange(-50, 50, dtype=np.int64)
    payload = secret.encrypt(values)
    total = public.sum([payload, payload], values.size)
    # A key the server could make for itself under the same public parameters reads noise.
    assert not np.array_equal(bfv.BfvSecret().decrypt(total, values.size), 2 * values)
    assert np.array_equal(secret.decrypt(total, values.size), 2 * values)
    # No secret-key bytes inside what is sent or summed.
    key = secret.secret_key_bytes()
    assert key[64:128] not in payload and key[64:128] not in total
