"""Image tensors for the vision transformers: resize, normalise, batch."""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def image_tensor(
    rgb: np.ndarray, size: int, mean: tuple[float, ...], std: tuple[float, ...], device: str, dtype: Any
) -> Any:
    """(h, w, 3) uint8 → (1, 3, size, size) tensor, bilinear resize, (x − mean) / std."""
    import torch
    from torch.nn import functional

    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
    x = functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.to(device=device, dtype=dtype)


def side_of(value: Any) -> int:
    """A config's image size as one int (configs give an int or an (h, w) pair)."""
    return int(value[0]) if isinstance(value, list | tuple) else int(value)
