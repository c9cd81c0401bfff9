"""Compute per frame, measured: FLOPs (``torch.utils.flop_counter``) and latency of a model on a
device, eager and compiled (CUDA graphs through ``torch.compile(mode="reduce-overhead")`` on a
GPU, the default inductor mode on a CPU)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.perception.backends.loading import torch_dtype
from dynamical.perception.model_sizes import build, example_inputs


class ModelBench(BaseModel):
    model_config = ConfigDict(frozen=True)
    model: str
    size: str
    device: str
    dtype: str
    parameters: int
    gflops_per_frame: float
    eager_ms_p50: float
    eager_ms_p99: float
    compiled_ms_p50: float | None
    """None when not asked for (--no-compile) or when compiling failed (see compile_error)."""
    compiled_ms_p99: float | None
    compile_error: str | None = None
    iterations: int


def count_flops(net: Any, inputs: dict[str, Any]) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(**inputs)
    return int(counter.get_total_flops())


def _time(fn: Any, iterations: int, device: str) -> list[float]:
    import torch

    out = []
    for _ in range(iterations):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench_model(
    model: str, size: str, device: str = "cpu", dtype: str = "float32", iterations: int = 10, compile: bool = True
) -> ModelBench:
    import torch

    torch_type = torch_dtype(dtype)
    net = build(model, size).to(device=device, dtype=torch_type)
    inputs = example_inputs(model, net, device, torch_type)
    flops = count_flops(net, inputs)

    def eager() -> None:
        with torch.inference_mode():
            net(**inputs)

    _time(eager, 2, device)  # warm-up: allocator, kernels' first launch
    eager_ms = _time(eager, iterations, device)
    compiled_ms: list[float] | None = None
    error = None
    if compile:
        try:
            mode = "reduce-overhead" if device.startswith("cuda") else None
            compiled = torch.compile(net, mode=mode)

            def run_compiled() -> None:
                with torch.inference_mode():
                    compiled(**inputs)

            _time(run_compiled, 3, device)  # compile and capture
            compiled_ms = _time(run_compiled, iterations, device)
        except Exception as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def pct(values: list[float] | None, q: float) -> float | None:
        return None if values is None else round(float(np.percentile(values, q)), 3)

    return ModelBench(
        model=model,
        size=size,
        device=device,
        dtype=dtype,
        parameters=sum(p.numel() for p in net.parameters()),
        gflops_per_frame=round(flops / 1e9, 4),
        eager_ms_p50=pct(eager_ms, 50) or 0.0,
        eager_ms_p99=pct(eager_ms, 99) or 0.0,
        compiled_ms_p50=pct(compiled_ms, 50),
        compiled_ms_p99=pct(compiled_ms, 99),
        compile_error=error,
        iterations=iterations,
    )
