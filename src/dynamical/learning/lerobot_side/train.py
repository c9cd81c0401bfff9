"""Train a LeRobot policy (ACT, or diffusion) on a recorded dataset: the learning tier's worker.

Run by ``dynamical.learning.train_launcher`` in ``.venv-learn``::

    python -m dynamical.learning.lerobot_side.train --dataset DIR --out RUN --policy act --steps 2000

It is LeRobot's own training, piece by piece (``lerobot.scripts.lerobot_train`` needs accelerate and
owns the process's logging and stdout): the policy factory with features from the dataset, the
pre/post processors built with the dataset's statistics (normalisation lives there), the policy's
optimizer and scheduler presets, LeRobot's episode-aware sampler, and its checkpoint layout and
save/load, so a resumed run restores weights, optimizer, scheduler, RNG and data order exactly as
``lerobot-train --resume`` would. Offline: no pretrained backbone download, no hub, no wandb.

Messages on stdout (``dynamical.learning.protocol``): one ``log`` with the run's facts when training
starts, ``progress`` every ``--log-every`` steps (step, total, loss = the mean over the window, lr,
seconds, step_s; ``checkpoint`` on a step that saved one), ``done`` at the end, ``error`` on a failure
a person can fix. The same progress lines go to ``RUN/metrics.jsonl`` as they happen (the file
survives the launcher; on resume the lines past the checkpoint are dropped, those steps run again).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from dynamical.learning import protocol

POLICIES = ("act", "diffusion")
INPUTS = ("state", "environment_state", "images")
_INPUT_GROUPS = {protocol.STATE: "state", protocol.ENVIRONMENT_STATE: "environment_state"}
CHECKPOINTS = "checkpoints"
LAST = "last"


class UserError(Exception):
    """Bad input the person can fix; becomes one ``error`` message, no traceback."""


ACT_CPU_DIM_MODEL = 256
ACT_CPU_LAYERS = 2
"""ACT's size unless told otherwise: a policy the robot's CPU runs at the control rate. LeRobot's
own (dim_model 512, feed-forward 3200, 4 encoder layers) exports to a 92 MB graph, above the
server's 64 MiB upload limit, and took 31 ms a chunk (p99) on one loaded core; this one is a
tenth of its size (see README, "Package, deploy, evaluate"). ``--dim-model``/``--layers`` choose."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dynamical.learning.lerobot_side.train", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="LeRobotDataset v3 directory")
    parser.add_argument("--out", type=Path, required=True, help="run directory (LeRobot's output_dir)")
    parser.add_argument("--policy", choices=POLICIES, default="act")
    parser.add_argument("--steps", type=int, default=2000, help="total optimizer steps of the run")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--chunk-size", type=int, default=None, help="ACT chunk / diffusion horizon, frames")
    parser.add_argument("--n-action-steps", type=int, default=None, help="actions executed per chunk")
    parser.add_argument(
        "--dim-model", type=int, default=None, help=f"ACT transformer width (default {ACT_CPU_DIM_MODEL})"
    )
    parser.add_argument(
        "--layers", type=int, default=None, help=f"ACT encoder layers and VAE encoder layers (default {ACT_CPU_LAYERS})"
    )
    parser.add_argument("--lr", type=float, default=None, help="overrides the policy preset's learning rate")
    parser.add_argument("--inputs", default=None, help="comma list of state,environment_state,images (default: all)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--save-every", type=int, default=1000, help="checkpoint every N steps (and at the end)")
    parser.add_argument("--log-every", type=int, default=10, help="progress message every N steps")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--num-workers", type=int, default=0, help="data loader processes (0: in this one)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "save_every", "log_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    channel = protocol.MessageChannel()
    try:
        result = train(args, channel)
    except UserError as exc:
        channel.send(protocol.error(str(exc)))
        return 2
    channel.send(protocol.done(**result))
    return 0


def train(args: argparse.Namespace, channel: protocol.MessageChannel) -> dict[str, Any]:
    # Heavy imports after argument parsing: `--help` and bad flags answer at once.
    import torch

    threads = os.environ.get(protocol.ENV_TORCH_THREADS)
    if threads:
        torch.set_num_threads(int(threads))
        torch.set_num_interop_threads(1)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available to the learning environment")

    from lerobot.common.train_utils import (
        get_step_checkpoint_dir,
        load_training_batch_size,
        load_training_state,
        save_checkpoint,
        update_last_checkpoint,
    )
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.datasets import EpisodeAwareSampler, compute_sampler_state
    from lerobot.datasets.factory import make_dataset
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.policies import make_policy, make_pre_post_processors
    from lerobot.utils.constants import PRETRAINED_MODEL_DIR
    from lerobot.utils.random_utils import set_seed
    from lerobot.utils.utils import cycle

    dataset_dir = args.dataset.resolve()
    out = args.out.resolve()
    _check_dataset(dataset_dir)
    last = out / CHECKPOINTS / LAST
    checkpoint: Path | None = None
    if args.resume:
        if not (last / PRETRAINED_MODEL_DIR).is_dir():
            raise UserError(f"nothing to resume: {last} holds no checkpoint (the run never saved one)")
        checkpoint = last.resolve()
        cfg = TrainPipelineConfig.from_pretrained(checkpoint / PRETRAINED_MODEL_DIR)
        assert cfg.policy is not None
        cfg.policy.pretrained_path = checkpoint / PRETRAINED_MODEL_DIR
        cfg.policy.device = args.device
        cfg.resume = True
        cfg.checkpoint_path = checkpoint
        cfg.steps = args.steps
        cfg.save_freq = args.save_every
        cfg.log_freq = args.log_every
        cfg.dataset.root = str(dataset_dir)
        cfg.output_dir = out
    else:
        if last.exists():
            raise UserError(f"{out} already holds checkpoints: resume it (--resume) or choose another --out")
        cfg = TrainPipelineConfig(
            dataset=DatasetConfig(repo_id=f"local/{dataset_dir.name}", root=str(dataset_dir), video_backend="pyav"),
            policy=_policy_config(args),
            output_dir=out,
            steps=args.steps,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            save_freq=args.save_every,
            log_freq=args.log_every,
            seed=args.seed,
        )
        cfg.optimizer = cfg.policy.get_optimizer_preset()  # what TrainPipelineConfig.validate() does
        cfg.scheduler = cfg.policy.get_scheduler_preset()
        if args.lr is not None:
            cfg.optimizer.lr = args.lr
    policy_cfg: PreTrainedConfig = cfg.policy
    if cfg.seed is not None:
        set_seed(cfg.seed)

    dataset = make_dataset(cfg)
    meta = dataset.meta
    if not args.resume:
        policy_cfg.input_features = _input_features(meta.features, args.inputs, policy_cfg.type)
    policy = make_policy(policy_cfg, ds_meta=meta)
    device = torch.device(args.device)
    if checkpoint is None:
        preprocessor, postprocessor = make_pre_post_processors(policy_cfg, dataset_stats=meta.stats)
    else:
        # The checkpoint's processors hold the statistics the weights were trained with.
        preprocessor, postprocessor = make_pre_post_processors(
            policy_cfg,
            pretrained_path=str(checkpoint / PRETRAINED_MODEL_DIR),
            preprocessor_overrides={"device_processor": {"device": device.type}},
            postprocessor_overrides={"device_processor": {"device": "cpu"}},
        )
    optimizer, scheduler = make_optimizer_and_scheduler(cfg, policy)
    step = 0
    if checkpoint is not None:
        step, optimizer, scheduler = load_training_state(checkpoint, optimizer, scheduler)
        if step >= cfg.steps:
            raise UserError(f"the checkpoint is at step {step}, the run's total is {cfg.steps}: pass a larger --steps")
    _truncate_metrics(out, step)

    sampler = EpisodeAwareSampler(
        meta.episodes["dataset_from_index"],
        meta.episodes["dataset_to_index"],
        episode_indices_to_use=dataset.episodes,
        drop_n_last_frames=getattr(policy_cfg, "drop_n_last_frames", 0),
        shuffle=True,
        seed=cfg.seed if cfg.seed is not None else 0,
        absolute_to_relative_idx=dataset.absolute_to_relative_idx,
    )
    if step > 0 and checkpoint is not None:
        saved_batch = load_training_batch_size(checkpoint) or cfg.batch_size
        sampler.load_state_dict(compute_sampler_state(step, len(sampler), saved_batch, 1))
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
    )
    batches = cycle(loader)
    parameters = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    channel.send(
        protocol.log(
            f"training {policy_cfg.type} ({parameters:,} parameters) on {meta.total_episodes} episodes, "
            f"{meta.total_frames} frames, from step {step} to {cfg.steps} on {device.type}",
        )
        | {
            "phase": "started",
            "start_step": step,
            "total": cfg.steps,
            "parameters": parameters,
            "episodes": meta.total_episodes,
            "frames": meta.total_frames,
            "inputs": sorted(policy_cfg.input_features),
            "device": device.type,
        }
    )

    policy.train()
    started = time.perf_counter()
    window: list[float] = []
    window_time = 0.0
    loss_value = math.nan
    grad_clip = cfg.optimizer.grad_clip_norm
    while step < cfg.steps:
        t0 = time.perf_counter()
        batch = next(batches)
        for key in meta.camera_keys:
            if key in batch and batch[key].dtype == torch.uint8:
                batch[key] = batch[key].to(dtype=torch.float32) / 255.0
        batch = preprocessor(batch)
        loss, _ = policy.forward(batch)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
        optimizer.step()
        optimizer.zero_grad()
        if scheduler is not None:
            scheduler.step()
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            raise UserError(f"the loss became {loss_value} at step {step + 1}: lower --lr or check the dataset")
        step += 1
        window.append(loss_value)
        window_time += time.perf_counter() - t0

        saved: Path | None = None
        if step % cfg.save_freq == 0 or step == cfg.steps:
            saved = get_step_checkpoint_dir(out, cfg.steps, step)
            save_checkpoint(
                checkpoint_dir=saved,
                step=step,
                cfg=cfg,
                policy=policy,
                optimizer=optimizer,
                scheduler=scheduler,
                preprocessor=preprocessor,
                postprocessor=postprocessor,
                num_processes=1,
                batch_size=cfg.batch_size,
            )
            update_last_checkpoint(saved)
        if step % cfg.log_freq == 0 or saved is not None:
            message = protocol.progress(
                step,
                cfg.steps,
                loss=sum(window) / len(window),
                lr=float(optimizer.param_groups[0]["lr"]),
                seconds=time.perf_counter() - started,
                step_s=window_time / len(window),
            )
            if saved is not None:
                message["checkpoint"] = str(saved)
            _append_metrics(out, message)
            channel.send(message)
            window, window_time = [], 0.0
    return {
        "step": step,
        "total": cfg.steps,
        "loss": loss_value,
        "checkpoint": str((out / CHECKPOINTS / LAST).resolve()),
        "seconds": time.perf_counter() - started,
    }


def _policy_config(args: argparse.Namespace) -> Any:
    """The policy's LeRobot config with the offline settings and the small-size overrides."""
    from lerobot.policies.factory import make_policy_config

    overrides: dict[str, Any] = {
        "device": args.device,
        "push_to_hub": False,
        "pretrained_backbone_weights": None,  # the ResNet weights download fails offline
    }
    if args.policy == "act":
        if args.chunk_size is not None:
            overrides["chunk_size"] = args.chunk_size
            overrides["n_action_steps"] = args.n_action_steps or args.chunk_size
        elif args.n_action_steps is not None:
            overrides["n_action_steps"] = args.n_action_steps
        dim_model = args.dim_model if args.dim_model is not None else ACT_CPU_DIM_MODEL
        layers = args.layers if args.layers is not None else ACT_CPU_LAYERS
        overrides["dim_model"] = dim_model
        overrides["dim_feedforward"] = 4 * dim_model
        overrides["n_heads"] = max(1, min(8, dim_model // 16))
        overrides["n_encoder_layers"] = layers
        overrides["n_vae_encoder_layers"] = layers
        if args.lr is not None:
            overrides["optimizer_lr"] = args.lr
            overrides["optimizer_lr_backbone"] = args.lr
    else:
        if args.chunk_size is not None:
            overrides["horizon"] = args.chunk_size
            overrides["n_action_steps"] = args.n_action_steps or max(1, args.chunk_size // 2)
            overrides["drop_n_last_frames"] = max(0, args.chunk_size - overrides["n_action_steps"] - 2 + 1)
        if args.dim_model is not None:
            overrides["down_dims"] = (args.dim_model, 2 * args.dim_model)
            overrides["diffusion_step_embed_dim"] = args.dim_model
            overrides["n_groups"] = min(8, args.dim_model)
        if args.lr is not None:
            overrides["optimizer_lr"] = args.lr
    try:
        return make_policy_config(args.policy, **overrides)
    except ValueError as exc:  # the config's own validation (e.g. n_action_steps > chunk_size)
        raise UserError(f"invalid {args.policy} settings: {exc}") from None


def _input_features(features: dict[str, Any], inputs: str | None, policy: str) -> dict[str, Any]:
    """The policy's inputs among the dataset's features (all by default); ACT refuses state alone."""
    from lerobot.configs.types import FeatureType
    from lerobot.utils.feature_utils import dataset_to_policy_features

    policy_features = dataset_to_policy_features(features)
    wanted = set(INPUTS) if inputs is None else {name.strip() for name in inputs.split(",") if name.strip()}
    unknown = wanted - set(INPUTS)
    if unknown:
        raise UserError(f"--inputs: unknown {', '.join(sorted(unknown))}; choose among {', '.join(INPUTS)}")
    chosen: dict[str, Any] = {}
    for key, feature in policy_features.items():
        if feature.type is FeatureType.ACTION:
            continue
        group = "images" if key.startswith(protocol.IMAGE_PREFIX) else _INPUT_GROUPS.get(key)
        if group in wanted:
            chosen[key] = feature
    has_image = any(key.startswith(protocol.IMAGE_PREFIX) for key in chosen)
    if policy == "act" and not has_image and protocol.ENVIRONMENT_STATE not in chosen:
        raise UserError(
            "ACT needs images or observation.environment_state besides the robot state; "
            f"the dataset and --inputs give {', '.join(sorted(chosen)) or 'nothing'}"
        )
    return chosen


def _check_dataset(root: Path) -> None:
    info = root / "meta" / "info.json"
    if not info.is_file():
        raise UserError(f"{root} is not a LeRobot dataset (no meta/info.json)")
    try:
        features = json.loads(info.read_text())["features"]
    except (ValueError, KeyError) as exc:
        raise UserError(f"{info} is unreadable: {exc}") from None
    if protocol.ACTION not in features:
        raise UserError(f"{root} has no {protocol.ACTION!r} feature to learn")


def _append_metrics(out: Path, message: dict[str, Any]) -> None:
    record = {k: message[k] for k in ("step", "loss", "lr", "seconds", "step_s") if k in message}
    record["time"] = time.time()
    with (out / protocol.METRICS_JSONL).open("a", encoding="utf-8") as file:
        file.write(protocol.encode(record))


def _truncate_metrics(out: Path, step: int) -> None:
    """Keep the metrics up to ``step``: the steps after the checkpoint run again."""
    path = out / protocol.METRICS_JSONL
    out.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line + "\n")
        except ValueError:
            continue  # a line torn by a kill mid-write
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
