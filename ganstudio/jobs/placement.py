"""Where a job's result goes: the document, the rect and the document revision / coordinate frame
it was taken from; :func:`resolve` decides, when the result arrives, whether it still fits.

* same frame (no crop / resize since, or one that was undone): the result lands at ``rect``; when
  other edits happened meanwhile (``revision`` differs) the resolution says so (``changed``);
* a crop or canvas resize since (a pure translation): ``retarget="translate"`` moves the rect with
  the document (refused when the area was cropped away entirely); ``retarget="refuse"`` (results
  that replace the whole canvas, e.g. an upscale) refuses any change of the canvas geometry;
* a resample since, an unknown geometry change, or the document closed: refused, with a reason the
  window shows to the user. A result is never placed in the wrong coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganstudio.core.geometry import Rect

RETARGET = ("translate", "refuse")


@dataclass
class Placement:
    doc_id: int
    rect: Rect
    revision: int = 0
    frame: int = 0
    ui: str = ""                       # id of the TaskUI that applies the result ("" = the task's)
    retarget: str = "translate"        # "translate" | "refuse"
    mask: np.ndarray | None = None     # optional HxW uint8 over ``rect`` (clip / composite weight)
    extra: dict[str, Any] = field(default_factory=dict)   # plain values for the UI's apply
    # the job's Request, set by the Job (not serialised: the job carries it)
    request: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.rect, Rect):
            self.rect = Rect(*(int(v) for v in self.rect))
        if self.retarget not in RETARGET:
            raise ValueError(f"retarget must be one of {RETARGET}, not {self.retarget!r}")

    @classmethod
    def of(cls, doc: Any, rect: Rect | None = None, **kw: Any) -> Placement:
        """A placement over ``rect`` (default: the whole canvas) of ``doc`` as it is now."""
        return cls(doc_id=int(doc.uid), rect=doc.bounds if rect is None else rect,
                   revision=int(doc.revision), frame=int(doc.frame), **kw)

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "rect": [self.rect.x, self.rect.y, self.rect.w, self.rect.h],
                "revision": self.revision, "frame": self.frame, "ui": self.ui,
                "retarget": self.retarget, "mask": self.mask, "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Placement:
        return cls(doc_id=int(d["doc_id"]), rect=Rect(*(int(v) for v in d["rect"])),
                   revision=int(d.get("revision", 0)), frame=int(d.get("frame", 0)),
                   ui=str(d.get("ui", "")), retarget=str(d.get("retarget", "translate")),
                   mask=d.get("mask"), extra=dict(d.get("extra") or {}))

    @property
    def nbytes(self) -> int:
        return 0 if self.mask is None else int(self.mask.nbytes)


@dataclass(frozen=True)
class Resolution:
    ok: bool
    rect: Rect | None = None          # where to place the result now (document coordinates)
    reason: str = ""                  # why it was refused, or what was re-targeted
    retargeted: bool = False          # the rect moved with a crop / canvas resize
    changed: bool = False             # the document was edited while the job ran

    @property
    def offset(self) -> tuple[int, int]:
        """(dx, dy) from the placement's rect to ``rect``."""
        return (0, 0) if self.rect is None else (self.rect.x, self.rect.y)


def resolve(placement: Placement, doc: Any) -> Resolution:
    """Does a result taken with ``placement`` still fit ``doc`` (None = closed)? See module doc."""
    if doc is None or int(getattr(doc, "uid", -1)) != placement.doc_id:
        return Resolution(False, reason="its image was closed")
    changed = int(doc.revision) != placement.revision
    t = doc.frame_transform(placement.frame)
    if t is None:
        return Resolution(False, reason="the image's size changed while it ran in a way the result "
                                        "cannot follow; run it again", changed=changed)
    dx, dy, sx, sy = t
    if placement.retarget == "refuse" and int(doc.frame) != placement.frame:
        return Resolution(False, reason="the image was cropped or resized while it ran; run it again",
                          changed=changed)
    if (sx, sy) != (1.0, 1.0):
        return Resolution(False, reason="the image was resized while it ran; run it again",
                          changed=changed)
    if (dx, dy) == (0.0, 0.0):
        return Resolution(True, placement.rect, changed=changed)
    rect = placement.rect.translated(int(round(dx)), int(round(dy)))
    if rect.intersect(doc.bounds).is_empty():
        return Resolution(False, reason="the area it worked on was cropped away", changed=changed)
    return Resolution(True, rect, reason="placed where its area moved (the image was cropped or its "
                                         "canvas resized while it ran)", retargeted=True,
                      changed=changed)


__all__ = ["Placement", "Resolution", "resolve"]
