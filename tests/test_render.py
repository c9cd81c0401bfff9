import numpy as np
import pytest

pytestmark = pytest.mark.render


@pytest.mark.parametrize("camera", ["head", "front", "side"])
def test_cameras_render_a_non_empty_image_of_the_asked_size(sim, camera):
    frame = sim.read_camera(camera, width=160, height=120)
    assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
    assert frame.rgb.std() > 5, "the image should show a scene, not a flat colour"


def test_head_camera_gives_depth_in_metres_and_sees_the_table(sim):
    frame = sim.read_camera("head", width=160, height=120, depth=True)
    assert frame.depth is not None and frame.depth.shape == (120, 160)
    assert np.all(np.isfinite(frame.depth))
    # The head looks down at the table: the image centre is within a metre or so.
    centre = frame.depth[50:70, 70:90]
    assert 0.3 < float(np.median(centre)) < 1.5


def test_head_camera_sees_the_red_cube(sim):
    rgb = sim.read_camera("head", width=160, height=120).rgb.astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
    assert red.sum() > 20


def test_bad_render_requests(sim):
    with pytest.raises(KeyError, match="no camera 'wrist'"):
        sim.read_camera("wrist")
    with pytest.raises(ValueError, match="image size"):
        sim.read_camera("head", width=5000, height=10)
