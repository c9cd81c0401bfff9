"""SAM 3: text-prompted segmentation ("the banana" → masks) for objects the colour tier cannot name.

``Sam3Segmenter`` is a ``Segmenter``: it plugs into ``ObjectDetector`` in place of the colour
tier, each segment labelled with its prompt. The tokenizer is the one saved beside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dynamical.perception.backends.images import image_tensor, side_of
from dynamical.perception.backends.loading import load_pretrained, torch_dtype
from dynamical.perception.camera import RgbdFrame
from dynamical.perception.config import ModelConfig
from dynamical.perception.errors import ModelPathError
from dynamical.perception.segmenter import Segment

SAM3_MEAN = (0.5, 0.5, 0.5)
SAM3_STD = (0.5, 0.5, 0.5)


class Sam3Backend:
    key = "sam3"

    def __init__(self, model: Any, tokenizer: Any, config: ModelConfig, score_threshold: float = 0.5) -> None:
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.image_size = side_of(model.config.vision_config.backbone_config.image_size)
        self.score_threshold = score_threshold

    @classmethod
    def load(cls, config: ModelConfig, score_threshold: float = 0.5) -> Sam3Backend:
        from transformers import AutoTokenizer, Sam3Model

        model = load_pretrained(Sam3Model, cls.key, config)
        try:
            tokenizer = AutoTokenizer.from_pretrained(config.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelPathError(f"perception.models.sam3.path: {config.path} has no usable tokenizer: {exc}") from None
        return cls(model, tokenizer, config, score_threshold)

    def segment(self, rgb: np.ndarray, prompt: str) -> list[Segment]:
        """Every instance of ``prompt`` in ``rgb`` (h, w, 3) uint8 scoring ≥ the threshold."""
        import torch
        from torch.nn import functional

        x = image_tensor(rgb, self.image_size, SAM3_MEAN, SAM3_STD, self.config.device, torch_dtype(self.config.dtype))
        text = self.tokenizer(
            [prompt],
            return_tensors="pt",
            padding="max_length",
            truncation=True,
            max_length=int(self.model.config.text_config.max_position_embeddings),
        )
        with torch.inference_mode():
            out = self.model(
                pixel_values=x,
                input_ids=text["input_ids"].to(self.config.device),
                attention_mask=text["attention_mask"].to(self.config.device),
            )
            scores = torch.sigmoid(out.pred_logits[0].float())
            if getattr(out, "presence_logits", None) is not None:
                scores = scores * torch.sigmoid(out.presence_logits[0].float())
            masks = functional.interpolate(
                out.pred_masks.float(), size=rgb.shape[:2], mode="bilinear", align_corners=False
            )[0]
        keep = torch.nonzero(scores >= self.score_threshold).flatten().tolist()
        return [
            Segment(label=prompt, mask=(masks[k] > 0).cpu().numpy(), score=float(scores[k]))
            for k in keep
            if bool((masks[k] > 0).any())
        ]


class Sam3Segmenter:
    """A ``Segmenter`` that asks SAM 3 for each of ``prompts``."""

    def __init__(self, backend: Sam3Backend, prompts: Sequence[str]) -> None:
        self.backend, self.prompts = backend, list(prompts)

    def segment(self, frame: RgbdFrame) -> list[Segment]:
        return [s for p in self.prompts for s in self.backend.segment(frame.rgb, p)]
