"""Camera streams against each machine's measured perception budget: /api/v1/compute and 409s."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from .conftest import auth

STREAM = {"url": "rtsp://192.0.2.10:8554/head", "width": 640, "height": 480, "fps": 120}


def test_streams_fill_the_budget_then_are_refused_with_the_numbers(client: TestClient, keys: dict[str, str]) -> None:
    op, read = auth(keys["operate"]), auth(keys["read"])
    assert client.get("/api/v1/compute", headers=read).json() == []
    plain = {"id": "plain_cam", "name": "No stream", "kind": "camera", "config": {"fps": 30}}
    assert client.post("/api/v1/peripherals", json=plain, headers=op).status_code == 201  # not perception's
    slow = {**STREAM, "width": 320, "height": 240, "fps": 1}  # a few hundredths of a core
    first = {"id": "cam_slow", "name": "Slow", "kind": "camera", "config": slow}
    assert client.post("/api/v1/peripherals", json=first, headers=op).status_code == 201
    refused = None
    for k in range(4 * (os.cpu_count() or 1) + 200):  # each 640x480 stream at 120 fps takes a good part of a core
        body = {"id": f"cam_{k}", "name": f"Camera {k}", "kind": "depth_camera", "config": STREAM}
        answer = client.post("/api/v1/peripherals", json=body, headers=op)
        if answer.status_code == 409:
            refused = (body["id"], answer.json()["detail"])
            break
        assert answer.status_code == 201, answer.text
    assert refused is not None, "the budget never ran out"
    assert f"camera {refused[0]!r} (640x480 at 120 fps) needs" in refused[1] and "perception cores" in refused[1]
    assert client.get(f"/api/v1/peripherals/{refused[0]}", headers=read).status_code == 404  # not stored
    [machine] = client.get("/api/v1/compute", headers=read).json()
    assert machine["machine"] == "unassigned" and len(machine["cameras"]) == int(refused[0].split("_")[1]) + 1
    assert 0 <= machine["headroom_cores"] == round(machine["perception_cores"] - machine["allocated_cores"], 4)
    assert all(c["ms_per_frame"] > 0 and c["cores"] > 0 for c in machine["cameras"])


def test_bad_stream_config_is_a_clear_422(client: TestClient, keys: dict[str, str]) -> None:
    op = auth(keys["operate"])
    for config, field in (
        ({**STREAM, "fps": 0}, "config.fps"),
        ({**STREAM, "width": "wide"}, "config.width"),
        ({**STREAM, "url": "http://example.com/stream"}, "config.url"),
        ({**STREAM, "fps": "nan"}, "config.fps"),
    ):
        body = {"id": "bad_cam", "name": "Bad", "kind": "camera", "config": config}
        answer = client.post("/api/v1/peripherals", json=body, headers=op)
        assert answer.status_code in (400, 422), answer.text
        if field is not None:
            assert field in answer.json()["detail"]
    assert client.get("/api/v1/peripherals/bad_cam", headers=auth(keys["read"])).status_code == 404
