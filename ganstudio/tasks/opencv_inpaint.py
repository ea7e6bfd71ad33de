"""Remove object (OpenCV): classical inpainting with cv2.inpaint (Telea or Navier-Stokes).

Follows the task protocol (tasks/base.py) exactly as a GAN task does: each connected region of the
mask is cropped with a margin, inpainted on its own, progress is yielded and the cancel token is
checked between regions. Only masked pixels change; alpha is kept.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import cv2
import numpy as np

from .base import Progress, Request, Result, TaskContext, TaskError, TaskInputs

METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


@dataclass(frozen=True)
class OpenCVInpaintRequest(Request):
    method: str = "telea"      # "telea" | "ns"
    radius: int = 5            # neighbourhood radius (pixels)
    margin: int = 0            # context around each region; 0 = automatic (4 x radius, >= 16)
    dilate: int = 0            # grow the mask by this many pixels first

    task = "opencv_inpaint"


def regions(mask: np.ndarray, margin: int) -> list[tuple[int, int, int, int]]:
    """Crop boxes (x0, y0, x1, y1) around each connected mask component, merged when they overlap."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    h, w = mask.shape
    boxes = []
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        boxes.append([max(0, x - margin), max(0, y - margin),
                      min(w, x + bw + margin), min(h, y + bh + margin)])
    merged = True
    while merged:  # overlapping crops would inpaint the same pixels twice with different context
        merged = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    o[:] = [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])]
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return [tuple(b) for b in sorted(boxes, key=lambda b: (b[1], b[0]))]  # type: ignore[misc]


_regions = regions


def context_margin(request: OpenCVInpaintRequest) -> int:
    """Pixels of context around each mask region that the task reads (callers may crop to it)."""
    return (request.margin or max(16, 4 * max(1, int(request.radius)))) + max(0, int(request.dilate))


def run(inputs: TaskInputs, request: OpenCVInpaintRequest,
        ctx: TaskContext) -> Generator[Progress, None, Result]:
    image, mask = inputs.image, inputs.mask
    if image is None:
        raise TaskError("No image to work on.")
    if mask is None or not np.any(mask):
        raise TaskError("Paint a mask (M) or make a selection over what to remove first.")
    if mask.shape != image.shape[:2]:
        raise TaskError(f"mask size {mask.shape[::-1]} does not match the image {image.shape[1::-1]}")
    if request.method not in METHODS:
        raise TaskError(f"unknown method {request.method!r} (telea or ns)")
    radius = max(1, int(request.radius))
    mask8 = (np.asarray(mask) > 127).astype(np.uint8) * 255
    if request.dilate > 0:
        k = 2 * int(request.dilate) + 1
        mask8 = cv2.dilate(mask8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    margin = request.margin or max(16, 4 * radius)
    boxes = regions(mask8, margin)
    out = image.copy()
    rgb_channels = 3 if image.ndim == 3 else 1
    yield Progress(0, len(boxes), "inpainting")
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        ctx.check_cancelled()
        crop = image[y0:y1, x0:x1]
        m = mask8[y0:y1, x0:x1]
        rgb = crop[..., :rgb_channels] if image.ndim == 3 else crop
        if rgb.dtype == np.uint16:  # cv2.inpaint wants 8-bit (or 32F single channel)
            filled = cv2.inpaint((rgb >> 8).astype(np.uint8), m, radius, METHODS[request.method])
            filled = filled.astype(np.uint16) * 257
        else:
            filled = cv2.inpaint(np.ascontiguousarray(rgb), m, radius, METHODS[request.method])
        if filled.ndim == 2 and image.ndim == 3:
            filled = filled[..., None]
        sel = m > 0
        region = out[y0:y1, x0:x1]
        if image.ndim == 3:
            region[..., :rgb_channels][sel] = filled.reshape(rgb.shape)[sel]
        else:
            region[sel] = filled[sel]
        yield Progress(i + 1, len(boxes), f"region {i + 1}/{len(boxes)}")
    return Result(image=out, name=f"Removed ({'Telea' if request.method == 'telea' else 'Navier-Stokes'})",
                  info={"model": f"opencv.{request.method}", "regions": len(boxes)})


from .registry import TaskSpec, register_task  # noqa: E402

# No UI or command of its own: the Remove panel (ui/tasks/inpaint.py) and `ganstudio inpaint
# --model opencv.telea|opencv.ns` reach it through the inpaint task.
SPEC = register_task(TaskSpec(
    name="opencv_inpaint", title="Remove object (OpenCV)", request_type=OpenCVInpaintRequest, run=run,
    default_models=("opencv.telea",), description="Classical inpainting (Telea / Navier-Stokes)"))
