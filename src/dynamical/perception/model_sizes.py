"""Configurations of the foundation models at the sizes the bench and the compute budget measure.

``tiny`` is the CI size (random weights, milliseconds on a CPU); the others are the published
architectures' shapes (random weights unless a directory of real ones is given).
"""

from __future__ import annotations

from typing import Any

SIZES: dict[str, tuple[str, ...]] = {
    "dinov3": ("tiny", "small", "base", "large", "7b"),
    "sam3": ("tiny", "full"),
    "vjepa2": ("tiny", "large", "giant"),
}

_DINOV3 = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    "small": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6, "intermediate_size": 1536},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
    "7b": {
        "hidden_size": 4096,
        "num_hidden_layers": 40,
        "num_attention_heads": 32,
        "intermediate_size": 8192,
        "use_gated_mlp": True,
    },
}
_VJEPA2 = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_ratio": 2.0},
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "mlp_ratio": 4.0},
    "giant": {"hidden_size": 1408, "num_hidden_layers": 40, "num_attention_heads": 22, "mlp_ratio": 48 / 11},
}


def check_size(model: str, size: str) -> None:
    if model not in SIZES:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(SIZES)}")
    if size not in SIZES[model]:
        raise ValueError(f"{model} has no size {size!r}; choose from {list(SIZES[model])}")


def build(model: str, size: str, image_size: int = 224, frames: int = 16) -> Any:
    """A randomly initialised ``transformers`` model of ``model`` at ``size`` (eval mode)."""
    check_size(model, size)
    if model == "dinov3":
        from transformers import DINOv3ViTConfig, DINOv3ViTModel

        return DINOv3ViTModel(DINOv3ViTConfig(image_size=image_size, patch_size=16, **_DINOV3[size])).eval()
    if model == "vjepa2":
        from transformers import VJEPA2Config, VJEPA2Model

        config = VJEPA2Config(crop_size=image_size, frames_per_clip=frames, **_VJEPA2[size])
        return VJEPA2Model(config).eval()
    from transformers import Sam3Config, Sam3Model

    if size == "full":
        return Sam3Model(Sam3Config()).eval()
    h = 32
    return Sam3Model(
        Sam3Config(
            vision_config={
                "backbone_config": {
                    "model_type": "sam3_vit_model",
                    "hidden_size": h,
                    "intermediate_size": 2 * h,
                    "num_hidden_layers": 2,
                    "num_attention_heads": 2,
                    "image_size": 112,
                    "patch_size": 14,
                    "window_size": 4,
                    "global_attn_indexes": [1],
                    "pretrain_image_size": 112,
                },
                "fpn_hidden_size": h,
                "backbone_feature_sizes": [[32, 32], [16, 16], [8, 8]],
            },
            text_config={
                "model_type": "clip_text_model",
                "vocab_size": 1000,
                "hidden_size": h,
                "intermediate_size": 2 * h,
                "projection_dim": h,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "max_position_embeddings": 8,
                "bos_token_id": 998,
                "eos_token_id": 999,
                "pad_token_id": 0,
            },
            geometry_encoder_config={
                "hidden_size": h,
                "num_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 2 * h,
            },
            detr_encoder_config={
                "hidden_size": h,
                "num_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 2 * h,
            },
            detr_decoder_config={
                "hidden_size": h,
                "num_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 2 * h,
                "num_queries": 8,
            },
            mask_decoder_config={"hidden_size": h, "num_attention_heads": 2},
        )
    ).eval()


def example_inputs(model: str, net: Any, device: str, dtype: Any) -> dict[str, Any]:
    """One batch-1 input of the model's own configured size."""
    import torch

    c = net.config
    if model == "dinov3":
        s = int(c.image_size)
        return {"pixel_values": torch.rand(1, 3, s, s, device=device, dtype=dtype)}
    if model == "vjepa2":
        s, t = int(c.crop_size), int(c.frames_per_clip)
        return {"pixel_values_videos": torch.rand(1, t, 3, s, s, device=device, dtype=dtype), "skip_predictor": True}
    s = int(c.vision_config.backbone_config.image_size)
    n = int(c.text_config.max_position_embeddings)
    return {
        "pixel_values": torch.rand(1, 3, s, s, device=device, dtype=dtype),
        "input_ids": torch.randint(0, int(c.text_config.vocab_size) - 2, (1, n), device=device),
        "attention_mask": torch.ones(1, n, dtype=torch.long, device=device),
    }
