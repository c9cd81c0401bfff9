"""Foundation-model backends from tiny random configs saved to a directory, and the cascade."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dynamical.perception.backends.cascade import Cascade, plan_triggers, prompt_for
from dynamical.perception.backends.dinov3 import Dinov3Backend, best_match
from dynamical.perception.backends.sam3 import Sam3Backend, Sam3Segmenter
from dynamical.perception.backends.vjepa2 import CollisionRiskAssessor, Vjepa2Backend
from dynamical.perception.config import ModelConfig
from dynamical.perception.errors import ModelPathError

from .tiny_models import save_dinov3, save_sam3, save_vjepa2

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "dinov3": save_dinov3(root / "dinov3"),
        "sam3": save_sam3(root / "sam3"),
        "vjepa2": save_vjepa2(root / "vjepa2"),
    }


def _image(h: int = 96, w: int = 128) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.slow
def test_dinov3_embeds_a_masked_object_and_reidentifies_it(model_dirs: dict[str, Path]) -> None:
    backend = Dinov3Backend.load(ModelConfig(path=model_dirs["dinov3"]))
    assert backend.features(_image()).shape == (4, 4, 32)
    image = _image()
    left = np.zeros(image.shape[:2], dtype=bool)
    left[:, :64] = True
    a, b = backend.embed(image, left), backend.embed(image, ~left)
    assert a.shape == (32,) and np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    name, similarity = best_match(backend.embed(image, left), {"left_thing": a, "right_thing": b})
    assert name == "left_thing" and similarity == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_sam3_segments_from_a_text_prompt_as_a_segmenter(model_dirs: dict[str, Path]) -> None:
    backend = Sam3Backend.load(ModelConfig(path=model_dirs["sam3"]), score_threshold=0.0)
    segments = backend.segment(_image(), prompt_for("red_cup"))
    assert segments, "with a zero threshold every query with a non-empty mask is kept"
    assert all(s.mask.shape == (96, 128) and s.mask.dtype == bool and s.label == "the red cup" for s in segments)
    strict = Sam3Backend(backend.model, backend.tokenizer, backend.config, score_threshold=1.01)
    assert strict.segment(_image(), "the banana") == []

    class Frame:
        rgb = _image()

    assert Sam3Segmenter(backend, ["the red cup", "the banana"]).segment(Frame()) is not None


@pytest.mark.slow
def test_vjepa2_clip_embedding_and_risk_assessor_only_slows(model_dirs: dict[str, Path]) -> None:
    backend = Vjepa2Backend.load(ModelConfig(path=model_dirs["vjepa2"]))
    clip = [_image() for _ in range(4)]
    v = backend.embed_clip(clip)
    assert v.shape == (32,) and np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="4 frames"):
        backend.embed_clip(clip[:3])
    assessor = CollisionRiskAssessor(backend, slow_at=1e-6, stop_at=1.0)
    for frame in clip[:3]:
        assert not assessor.add_frame(frame)
    assert assessor.add_frame(clip[3])
    first = assessor.assess(t=0.0)
    assert first.speed_scale == 1.0 and first.novelty == 0.0
    assessor.add_frame(np.zeros((96, 128, 3), dtype=np.uint8))  # the scene changes
    second = assessor.assess(t=0.1)
    assert 0.0 <= second.speed_scale < 1.0  # stricter, never more permissive


def test_a_missing_weights_directory_is_a_clear_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ModelPathError, match=r"perception\.models\.dinov3\.path is not set"):
        Dinov3Backend.load(ModelConfig())
    with pytest.raises(ModelPathError, match=r"perception\.models\.sam3\.path: .* is not a directory"):
        Sam3Backend.load(ModelConfig(path=tmp_path / "nowhere"))
    with pytest.raises(ModelPathError, match=r"perception\.models\.vjepa2\.path: .* no config\.json"):
        Vjepa2Backend.load(ModelConfig(path=tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "dinov3_vit"}')  # a config with no weights
    with pytest.raises(ModelPathError, match=r"perception\.models\.dinov3\.path: cannot load"):
        Dinov3Backend.load(ModelConfig(path=tmp_path))


def test_cascade_triggers_from_the_cheap_tier() -> None:
    planned = plan_triggers(
        {"red_cube": 0.9, "blue_cube": 0.1},
        wanted={"red_cup", "red_cube"},
        min_confidence=0.3,
        scene_changed=True,
        camera="head",
    )
    assert planned == [
        ("sam3", "missing_object", "red_cup"),
        ("dinov3", "low_confidence", "blue_cube"),
        ("vjepa2", "new_scene", "head"),
    ]
    assert plan_triggers({"red_cube": 0.9}, {"red_cube"}, 0.3, False, "head") == []


def _wait_for(cascade: Cascade, n: int = 1, timeout: float = 60.0) -> list:
    results: list = []
    deadline = time.monotonic() + timeout
    while len(results) < n and time.monotonic() < deadline:
        results += cascade.poll()
        time.sleep(0.01)
    return results


def test_cascade_runs_coalesces_and_abandons_late_jobs() -> None:
    cascade = Cascade({"sam3": 5.0, "dinov3": 0.05})
    try:
        release = threading.Event()
        assert cascade.trigger("sam3", "missing_object", "red_cup", 1.0, lambda: release.wait(30) and "masks")
        assert not cascade.trigger("sam3", "missing_object", "red_cup", 1.1, lambda: "again")  # busy: coalesced
        assert cascade.coalesced == 1
        release.set()
        [done] = _wait_for(cascade)
        assert done.value == "masks" and done.error is None and done.subject == "red_cup"

        blocked = threading.Event()
        assert cascade.trigger("dinov3", "low_confidence", "blue_cube", 2.0, lambda: blocked.wait(30) and "late")
        [late] = _wait_for(cascade)
        assert late.error is not None and "timed out" in late.error and late.value is None
        assert cascade.busy("dinov3")  # the abandoned job still holds its worker …
        blocked.set()
        deadline = time.monotonic() + 30
        while cascade.busy("dinov3") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not cascade.busy("dinov3")  # … until it returns,
        assert cascade.poll() == []  # and its late value is never delivered
        assert cascade.timed_out == 1

        assert cascade.trigger("sam3", "missing_object", "x", 3.0, lambda: 1 / 0)
        [failed] = _wait_for(cascade)
        assert failed.error is not None and "ZeroDivisionError" in failed.error
        with pytest.raises(KeyError, match="vjepa2"):
            cascade.trigger("vjepa2", "new_scene", "head", 0.0, lambda: None)
    finally:
        cascade.close()
