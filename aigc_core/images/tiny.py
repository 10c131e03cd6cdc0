"""A tiny random Stable-Diffusion pipeline (tests, the CPU check of the benchmark, the browser test)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline
    from transformers import CLIPTokenizer

TINY_SIZE = 64  # native resolution of the tiny pipeline (latent 32 x VAE factor 2)


def _tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer over single byte-level characters (no hub files needed)."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _tiny_text_encoder(tokenizer: Any) -> Any:
    """A random 2-layer, 32-wide CLIP text encoder over ``tokenizer``'s vocabulary."""
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=len(tokenizer) - 2,
            eos_token_id=len(tokenizer) - 1,
            pad_token_id=len(tokenizer) - 1,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    )


def build_tiny_pipeline(seed: int = 0) -> DiffusionPipeline:
    """A random-weight StableDiffusionPipeline small enough to run a 64x64 image in well under a second on a CPU."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=(4, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=2,
        sample_size=TINY_SIZE,
    )
    tokenizer = _tiny_tokenizer()
    text_encoder = _tiny_text_encoder(tokenizer)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    # diffusers' top-level names are dummy placeholder classes to a type checker (its lazy __init__)
    return cast("DiffusionPipeline", pipe)


def save_tiny_pipeline(folder: Path | str) -> Path:
    """Save the tiny pipeline as a diffusers folder (``model_index.json`` inside)."""
    folder = Path(folder)
    build_tiny_pipeline().save_pretrained(folder, safe_serialization=True)
    return folder


def build_tiny_upscale_pipeline(seed: int = 0) -> DiffusionPipeline:
    """A random-weight ``StableDiffusionUpscalePipeline`` (x4: a 3-block VAE, a 7-channel UNet conditioned on the
    noise level) small enough to upscale 16x16 to 64x64 in well under a second on a CPU."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 8, 16),
        layers_per_block=1,
        sample_size=32,
        in_channels=7,  # 4 latent channels + the 3-channel low-resolution image
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=4,
        attention_head_dim=4,
        use_linear_projection=True,
        num_class_embeds=351,  # noise levels 0..350 (the pipeline's max_noise_level)
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16),  # 3 blocks: 4x between latents and pixels
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        latent_channels=4,
        norm_num_groups=4,
        scaling_factor=0.08333,  # the x4 upscaler's
    )
    tokenizer = _tiny_tokenizer()
    text_encoder = _tiny_text_encoder(tokenizer)
    pipe = StableDiffusionUpscalePipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        low_res_scheduler=DDPMScheduler(beta_schedule="scaled_linear"),
        scheduler=DDIMScheduler(prediction_type="v_prediction"),
        max_noise_level=350,
    )
    return cast("DiffusionPipeline", pipe)


def save_tiny_upscale_pipeline(folder: Path | str) -> Path:
    """Save the tiny x4 upscaler as a diffusers folder (``model_index.json`` inside)."""
    folder = Path(folder)
    build_tiny_upscale_pipeline().save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":  # pragma: no cover - `python -m aigc_core.images.tiny <folder>` for the browser test
    import sys

    print(save_tiny_pipeline(sys.argv[1] if len(sys.argv) > 1 else "data/models/tiny-sd"))
