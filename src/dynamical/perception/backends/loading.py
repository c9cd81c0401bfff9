"""Load a ``transformers`` model from the directory its config key names, or say why not."""

from __future__ import annotations

from typing import Any

from dynamical.perception.config import ModelConfig
from dynamical.perception.errors import ModelPathError


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_pretrained(model_class: Any, key: str, config: ModelConfig) -> Any:
    """``model_class.from_pretrained(config.path, local_files_only=True)`` in eval mode on the
    configured device and dtype; ``key`` (``dinov3``) names the setting in every error."""
    setting = f"perception.models.{key}.path"
    if config.path is None:
        raise ModelPathError(f"{setting} is not set: give the directory of a saved {key} model")
    path = config.path.expanduser()
    if not path.is_dir():
        raise ModelPathError(f"{setting}: {path} is not a directory")
    if not (path / "config.json").is_file():
        raise ModelPathError(f"{setting}: {path} has no config.json (write it with save_pretrained)")
    try:
        model = model_class.from_pretrained(path, local_files_only=True, dtype=torch_dtype(config.dtype))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelPathError(f"{setting}: cannot load {model_class.__name__} from {path}: {first}") from None
    try:
        return model.to(config.device).eval()
    except (RuntimeError, AssertionError) as exc:
        raise ModelPathError(f"perception.models.{key}.device: {config.device!r}: {exc}") from None
