"""Saliency-aware cropping of a picture to a placement's aspect ratio (the busiest region is kept)."""

from __future__ import annotations

from typing import Any


def saliency_map(image: Any, side: int = 64) -> Any:
    """Spectral-residual saliency (Hou & Zhang, 2007) plus edge density, at ``side`` pixels on the long edge;
    a numpy array in [0, 1] of the image's aspect."""
    import numpy as np
    from PIL import ImageFilter

    w, h = image.size
    scale = side / max(w, h)
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    gray = image.convert("L").resize((sw, sh))
    a = np.asarray(gray, dtype=np.float64) / 255.0
    f = np.fft.fft2(a)
    log_amp = np.log(np.abs(f) + 1e-9)
    phase = np.angle(f)
    pad = np.pad(log_amp, 1, mode="wrap")
    avg = sum(pad[i : i + sh, j : j + sw] for i in range(3) for j in range(3)) / 9.0
    sal = np.abs(np.fft.ifft2(np.exp(log_amp - avg + 1j * phase))) ** 2
    edges = np.asarray(gray.filter(ImageFilter.FIND_EDGES), dtype=np.float64)
    edges[0, :] = edges[-1, :] = edges[:, 0] = edges[:, -1] = 0  # FIND_EDGES marks the frame
    from PIL import Image

    def norm(x: Any) -> Any:
        x = x - x.min()
        return x / x.max() if x.max() > 0 else x

    combined = norm(sal) * 0.6 + norm(edges) * 0.4
    blurred = Image.fromarray((norm(combined) * 255).astype("uint8")).filter(ImageFilter.GaussianBlur(side / 32))
    return np.asarray(blurred, dtype=np.float64) / 255.0


def smart_crop_box(image: Any, width: int, height: int) -> tuple[int, int, int, int]:
    """The largest crop of ``image`` with the aspect ``width:height`` that holds the most saliency (the subject,
    not the centre); (left, top, right, bottom) in image pixels."""
    import numpy as np

    iw, ih = image.size
    target = width / height
    if iw / ih > target:
        cw, ch = round(ih * target), ih
    else:
        cw, ch = iw, round(iw / target)
    cw, ch = max(1, min(cw, iw)), max(1, min(ch, ih))
    sal = saliency_map(image)
    sh, sw = sal.shape
    fx, fy = sw / iw, sh / ih
    if cw < iw:  # slide horizontally
        prof = sal.sum(axis=0)
        win = max(1, round(cw * fx))
        sums = np.convolve(prof, np.ones(win), mode="valid")
        best = int(np.argmax(sums))
        left = min(iw - cw, max(0, round(best / fx)))
        return left, 0, left + cw, ch
    prof = sal.sum(axis=1)
    win = max(1, round(ch * fy))
    sums = np.convolve(prof, np.ones(win), mode="valid")
    best = int(np.argmax(sums))
    top = min(ih - ch, max(0, round(best / fy)))
    return 0, top, cw, top + ch


def crop_to(image: Any, width: int, height: int, box: tuple[int, int, int, int] | None = None) -> Any:
    """``image`` cropped to ``box`` (default: the smart crop) and resized to ``width``×``height``."""
    from PIL import Image

    box = box or smart_crop_box(image, width, height)
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS, box=box)
