"""Export a trained LeRobot policy to ONNX: the learning tier's export worker.

    python -m dynamical.learning.lerobot_side.export --run RUN --out DIR [--samples 32]

Loads ``RUN/checkpoints/last/pretrained_model`` (the weights and LeRobot's pre/post processors),
wraps the inference path that predicts one action chunk from one observation — the
preprocessor's normalisation, the model, the postprocessor's unnormalisation, all LeRobot's own
code — and exports it with ``torch.onnx.export``. Normalisation is inside the graph: the runtime
feeds raw features (state in rad and rad/s, poses in m, images as float RGB in [0, 1]) and gets
joint targets in rad. The export is checked against the PyTorch policy with onnxruntime on real
samples of the training dataset (max |ONNX − PyTorch| must be ≤ 1e-4), then ``policy.onnx`` and
``policy.json`` (features, joint names, object order, fps, chunk size, the check's result) are
written to DIR.

Runs in ``.venv-learn`` only (lerobot, torch, onnxruntime); speaks ``dynamical.learning.protocol``
on stdout. Errors a person can fix (no checkpoint, a policy that cannot be exported, no dataset to
check on) end with one ``error`` message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dynamical.learning import protocol

TOLERANCE = 1e-4
"""Largest |ONNX − PyTorch| accepted on any action value, rad."""
ONNX_NAME = "policy.onnx"
OPSET = 17
SPEC_FORMAT = 1
DEFAULT_TEMPORAL_ENSEMBLE_COEFF = 0.01
"""ACT's exponential weight (older predictions weigh more), used at run time when the training
config did not set one."""
EXPORTABLE = ("act",)
"""Policies whose inference is one feed-forward graph (diffusion's denoising loop is not)."""


class UserError(Exception):
    """Something the person running the export can fix; the message says what."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dynamical.learning.lerobot_side.export")
    parser.add_argument("--run", type=Path, required=True, help="training run directory (holds checkpoints/)")
    parser.add_argument("--out", type=Path, required=True, help="where policy.onnx and policy.json are written")
    parser.add_argument("--checkpoint", default="last", help="checkpoint under RUN/checkpoints (default: last)")
    parser.add_argument("--dataset", type=Path, default=None, help="dataset to check on (default: the training one)")
    parser.add_argument("--samples", type=int, default=32, help="dataset frames the ONNX graph is checked on")
    parser.add_argument(
        "--check-out", type=Path, default=None, help="also save the checked frames and PyTorch's chunks (npz)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    channel = protocol.MessageChannel()
    try:
        args = parse_args(argv)
        result = export(args, channel)
    except UserError as exc:
        channel.send(protocol.error(str(exc)))
        return 2
    except SystemExit as exc:  # argparse: its message went to stderr
        channel.send(protocol.error(f"bad arguments (exit {exc.code}); see --help"))
        return 2
    channel.send(protocol.done(**result))
    return 0


def checkpoint_dir(run: Path, checkpoint: str) -> Path:
    """``RUN/checkpoints/<checkpoint>/pretrained_model``, checked for what loading needs."""
    if not run.is_dir():
        raise UserError(f"{run} is not a directory: give a training run directory (dynamical train --out)")
    checkpoints = run / "checkpoints"
    if not checkpoints.is_dir():
        raise UserError(f"{run} holds no checkpoints/ directory: it is not a training run, or it never saved one")
    model = checkpoints / checkpoint / "pretrained_model"
    if not model.is_dir():
        have = sorted(p.name for p in checkpoints.iterdir())
        raise UserError(f"{run} has no checkpoint {checkpoint!r} (checkpoints: {', '.join(have) or 'none'})")
    for name in ("config.json", "model.safetensors", "policy_preprocessor.json", "policy_postprocessor.json"):
        if not (model / name).is_file():
            raise UserError(f"checkpoint {model} lacks {name}: it is incomplete (was the run killed while saving?)")
    return model


def _policy_type(model: Path) -> str:
    try:
        config = json.loads((model / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{model / 'config.json'} is unreadable: {exc}") from None
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in EXPORTABLE:
        raise UserError(
            f"policy type {kind!r} cannot be exported to one ONNX graph (exportable: {', '.join(EXPORTABLE)})"
        )
    return str(kind)


def _dataset_root(model: Path, override: Path | None) -> Path:
    if override is not None:
        root = override
    else:
        train_config = model / "train_config.json"
        try:
            root_text = json.loads(train_config.read_text())["dataset"]["root"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            raise UserError(
                f"{train_config} does not name the training dataset: pass --dataset DIR to check the export on"
            ) from None
        if not root_text:
            raise UserError(f"{train_config} names no dataset root: pass --dataset DIR")
        root = Path(root_text)
    if not (root / "meta" / "info.json").is_file():
        raise UserError(f"{root} is not a LeRobot dataset (no meta/info.json): the export is checked on its frames")
    return root


def export(args: argparse.Namespace, channel: protocol.MessageChannel) -> dict[str, Any]:
    if args.samples < 1:
        raise UserError(f"--samples must be >= 1, got {args.samples}")
    run = args.run.resolve()
    model_dir = checkpoint_dir(run, args.checkpoint)
    kind = _policy_type(model_dir)
    dataset_root = _dataset_root(model_dir, args.dataset)
    channel.send(protocol.log(f"loading {kind} from {model_dir}"))

    import torch

    threads = int(__import__("os").environ.get(protocol.ENV_TORCH_THREADS, "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    from lerobot.datasets import LeRobotDataset
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.processor.normalize_processor import NormalizerProcessorStep, UnnormalizerProcessorStep

    policy = ACTPolicy.from_pretrained(str(model_dir))
    policy.eval()
    pre, post = make_pre_post_processors(policy.config, pretrained_path=str(model_dir))
    normalizer = next((s for s in pre.steps if isinstance(s, NormalizerProcessorStep)), None)
    unnormalizer = next((s for s in post.steps if isinstance(s, UnnormalizerProcessorStep)), None)
    if normalizer is None or unnormalizer is None:
        raise UserError(f"{model_dir}'s processors hold no normaliser/unnormaliser: not a LeRobot training output")

    config = policy.config
    inputs = list(config.input_features)  # observation features, in the config's order
    images = list(config.image_features)
    dataset = LeRobotDataset(f"local/{dataset_root.name}", root=dataset_root, video_backend="pyav")
    missing = [name for name in inputs if name not in dataset.meta.features]
    if missing:
        raise UserError(f"the policy reads {missing}, which dataset {dataset_root} does not hold")

    class ChunkGraph(torch.nn.Module):
        """Raw observation → normalised → ACT → unnormalised action chunk (1, chunk, n)."""

        def __init__(self) -> None:
            super().__init__()
            self.policy = policy

        def forward(self, *features: Any) -> Any:
            observation = dict(zip(inputs, features, strict=True))
            normalised = normalizer._normalize_observation(observation, inverse=False)
            actions = self.policy.predict_action_chunk(normalised)
            return unnormalizer._normalize_action(actions, inverse=True)

    graph = ChunkGraph().eval()
    samples = _samples(dataset, inputs, args.samples)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / ONNX_NAME
    channel.send(protocol.log(f"exporting to {onnx_path} (opset {OPSET})"))
    started = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            graph,
            tuple(torch.from_numpy(samples[0][name]) for name in inputs),
            str(onnx_path),
            input_names=inputs,
            output_names=[protocol.ACTION],
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter handles ACT's list-of-images batch as is
        )
    export_s = time.perf_counter() - started
    max_error, chunk_ms, expected = _check(graph, onnx_path, inputs, samples, channel)
    if args.check_out is not None:
        # What PyTorch predicted for each frame: another onnxruntime (the runtime's) can be held to it.
        arrays = {name: np.concatenate([s[name] for s in samples]) for name in inputs}
        np.savez(args.check_out, **arrays, **{protocol.ACTION: np.concatenate(expected)})
    if not max_error <= TOLERANCE:
        onnx_path.unlink(missing_ok=True)
        raise UserError(
            f"the ONNX graph differs from the PyTorch policy by {max_error:.3g} (> {TOLERANCE:g}) on the dataset's "
            "frames: not exported"
        )
    spec = _spec(run, model_dir, config, dataset, dataset_root, inputs, images, max_error, len(samples))
    spec_path = out / protocol.POLICY_JSON
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    return {
        "onnx": str(onnx_path),
        "policy_json": str(spec_path),
        "max_abs_error": max_error,
        "samples": len(samples),
        "export_s": round(export_s, 3),
        "onnx_chunk_ms_p50": chunk_ms,
    }


def _samples(dataset: Any, inputs: list[str], count: int) -> list[dict[str, np.ndarray]]:
    """``count`` frames spread over the dataset, each feature batched to (1, ...) float32."""
    total = len(dataset)
    if total == 0:
        raise UserError("the dataset holds no frames to check the export on")
    indices = np.unique(np.linspace(0, total - 1, num=min(count, total)).round().astype(int))
    out = []
    for index in indices:
        frame = dataset[int(index)]
        sample = {}
        for name in inputs:
            value = frame[name]
            array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
            if array.dtype == np.uint8:  # images as LeRobot trains on them: float in [0, 1]
                array = array.astype(np.float32) / 255.0
            sample[name] = np.ascontiguousarray(array, dtype=np.float32)[None, ...]
        out.append(sample)
    return out


def _check(
    graph: Any, onnx_path: Path, inputs: list[str], samples: list[dict[str, np.ndarray]], channel: Any
) -> tuple[float, float, list[np.ndarray]]:
    """max |ONNX − PyTorch| over ``samples``, onnxruntime's median chunk time (ms, one thread),
    and PyTorch's chunk (1, chunk, n) for each sample."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    worst, times, chunks = 0.0, [], []
    for i, sample in enumerate(samples):
        with torch.no_grad():
            expected = graph(*(torch.from_numpy(sample[name]) for name in inputs)).numpy()
        chunks.append(expected)
        started = time.perf_counter()
        (got,) = session.run([protocol.ACTION], {name: sample[name] for name in inputs})
        times.append(time.perf_counter() - started)
        if got.shape != expected.shape:
            raise UserError(f"the ONNX graph gives shape {got.shape}, PyTorch {expected.shape}")
        error = float(np.abs(got - expected).max())
        worst = max(worst, error if math.isfinite(error) else math.inf)
        channel.send(protocol.progress(i + 1, len(samples), max_abs_error=worst))
    return worst, round(float(np.median(times)) * 1e3, 3), chunks


def _spec(
    run: Path,
    model_dir: Path,
    config: Any,
    dataset: Any,
    dataset_root: Path,
    inputs: list[str],
    images: list[str],
    max_error: float,
    samples: int,
) -> dict[str, Any]:
    """``policy.json``: everything the runtime needs to feed the graph and play its output."""
    meta = dataset.meta
    features = meta.features
    sidecar = _sidecar(dataset_root)
    joint_names = list(features[protocol.ACTION].get("names") or sidecar.get("joint_names") or [])
    if len(joint_names) != int(config.output_features[protocol.ACTION].shape[0]):
        raise UserError(f"dataset {dataset_root} does not name every action joint (names: {joint_names})")
    object_names = list(sidecar.get("object_names") or _objects(features))
    cameras = [name[len(protocol.IMAGE_PREFIX) :] for name in images]
    height, width = protocol.IMAGE_HEIGHT, protocol.IMAGE_WIDTH
    if images:
        height, width = (int(v) for v in features[images[0]]["shape"][:2])
    run_json = _read_json(run / protocol.RUN_JSON)
    step = _read_json(model_dir.parent / "training_state" / "training_step.json").get("step")
    coeff = config.temporal_ensemble_coeff
    return {
        "format": SPEC_FORMAT,
        "policy_type": config.type,
        "fps": int(dataset.meta.fps),
        "chunk_size": int(config.chunk_size),
        "n_action_steps": int(config.n_action_steps),
        "temporal_ensemble_coeff": DEFAULT_TEMPORAL_ENSEMBLE_COEFF if coeff is None else float(coeff),
        "normalization": "in_graph",
        "inputs": [
            {"name": name, "shape": [1, *(int(d) for d in config.input_features[name].shape)], "dtype": "float32"}
            for name in inputs
        ],
        "output": {
            "name": protocol.ACTION,
            "shape": [1, int(config.chunk_size), len(joint_names)],
            "dtype": "float32",
        },
        "layout": {
            "robot": str(sidecar.get("robot", "")),
            "joint_names": joint_names,
            "object_names": object_names,
            "cameras": cameras,
            "image_height": height,
            "image_width": width,
        },
        "task": _task(dataset),
        "source": {
            "run_id": run_json.get("id") or run_json.get("run_id") or run.name,
            "run_dir": str(run),
            "checkpoint": model_dir.parent.name,
            "step": step,
            "dataset": str(dataset_root),
            "skill": sidecar.get("skill"),
            "params": sidecar.get("params", {}),
            "episodes": int(dataset.meta.total_episodes),
            "mean_episode_s": round(meta.total_frames / max(meta.total_episodes, 1) / meta.fps, 3),
        },
        "validation": {"samples": samples, "max_abs_error": max_error, "tolerance": TOLERANCE},
    }


def _sidecar(dataset_root: Path) -> dict[str, Any]:
    data = _read_json(dataset_root / protocol.DATASET_SIDECAR)
    return data if isinstance(data, dict) else {}


def _objects(features: dict[str, Any]) -> list[str]:
    """Object names from ``observation.environment_state``'s names (``<object>.x`` …), in order."""
    names = (features.get(protocol.ENVIRONMENT_STATE) or {}).get("names") or []
    objects: list[str] = []
    for name in names:
        obj = str(name).rsplit(".", 1)[0]
        if obj not in objects:
            objects.append(obj)
    return objects


def _task(dataset: Any) -> str:
    tasks = getattr(dataset.meta, "tasks", None)
    try:
        return str(tasks.index[0]) if tasks is not None and len(tasks) else ""
    except (AttributeError, IndexError, TypeError):
        return ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


if __name__ == "__main__":
    sys.exit(main())
