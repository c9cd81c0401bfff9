"""Tiny random foundation models saved with ``save_pretrained``: the real loaders' input in CI."""

from pathlib import Path

H = 32


def save_dinov3(path: Path) -> Path:
    from transformers import DINOv3ViTConfig, DINOv3ViTModel

    config = DINOv3ViTConfig(
        hidden_size=H, num_hidden_layers=2, num_attention_heads=2, intermediate_size=2 * H, image_size=64, patch_size=16
    )
    DINOv3ViTModel(config).save_pretrained(path)
    return path


def save_vjepa2(path: Path) -> Path:
    from transformers import VJEPA2Config, VJEPA2Model

    config = VJEPA2Config(
        hidden_size=H,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        crop_size=32,
        frames_per_clip=4,
        tubelet_size=2,
        patch_size=16,
        pred_hidden_size=H,
        pred_num_hidden_layers=1,
        pred_num_attention_heads=2,
        pred_num_mask_tokens=2,
    )
    VJEPA2Model(config).save_pretrained(path)
    return path


def save_sam3(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Sam3Config, Sam3Model

    words = ["<pad>", "<unk>", "<s>", "</s>", "the", "red", "cup", "cube", "green", "blue", "banana"]
    vocab = {w: i for i, w in enumerate(words)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")
    config = Sam3Config(
        vision_config={
            "backbone_config": {
                "model_type": "sam3_vit_model",
                "hidden_size": H,
                "intermediate_size": 2 * H,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "image_size": 112,
                "patch_size": 14,
                "window_size": 4,
                "global_attn_indexes": [1],
                "pretrain_image_size": 112,
            },
            "fpn_hidden_size": H,
            "backbone_feature_sizes": [[32, 32], [16, 16], [8, 8]],
        },
        text_config={
            "model_type": "clip_text_model",
            "vocab_size": len(words),
            "hidden_size": H,
            "intermediate_size": 2 * H,
            "projection_dim": H,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 8,
            "bos_token_id": 2,
            "eos_token_id": 3,
            "pad_token_id": 0,
        },
        geometry_encoder_config={
            "hidden_size": H,
            "num_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 2 * H,
        },
        detr_encoder_config={"hidden_size": H, "num_layers": 1, "num_attention_heads": 2, "intermediate_size": 2 * H},
        detr_decoder_config={
            "hidden_size": H,
            "num_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 2 * H,
            "num_queries": 8,
        },
        mask_decoder_config={"hidden_size": H, "num_attention_heads": 2},
    )
    Sam3Model(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
