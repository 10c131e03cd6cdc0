"""Images: text-to-image and image-to-image drafts with presets, seeds and a gallery."""

from __future__ import annotations

import streamlit as st

from pages._ui import empty_state, page_header

page_header(
    "Images",
    "Draft product visuals from a prompt or a sketch; reproduce any image exactly from its saved settings.",
)
empty_state(
    "Image generation is not available yet. It will offer style and aspect-ratio presets, seeds, image-to-image "
    "from an upload, a per-step progress bar and a gallery that keeps every image's settings.",
)
st.subheader("Pointing the studio at a diffusion model")
st.markdown(
    """
No diffusion weights can be installed from PyPI, so this page needs a model you provide. Set
`AIGC_TEXT_TO_IMAGE_MODEL` before starting the app to one of:

| What you have | Example value | Disk |
| --- | --- | --- |
| Internet access (downloaded once, then cached) | `stabilityai/sd-turbo` (the default) | ≈ 5 GB |
| A diffusers folder (`model_index.json` inside) | `/models/sd-turbo` | 2–7 GB |
| A single checkpoint file | `/models/dreamshaper_8.safetensors` | 2–7 GB |

For example: `AIGC_TEXT_TO_IMAGE_MODEL=/models/sd-turbo ./run app`. A GPU with 6 GB or more is recommended;
on a CPU, SD-Turbo makes a 512×512 image in about 10–30 s.
"""
)
