"""Default class palette for new label layers (a subset of the ADE20K colours used by scene models)."""

from __future__ import annotations

from ganstudio.core.layers import LabelClass

DEFAULT_PALETTE = [
    LabelClass(0, "unlabelled", (0, 0, 0)),
    LabelClass(1, "sky", (6, 230, 230)),
    LabelClass(2, "tree", (4, 200, 3)),
    LabelClass(3, "grass", (4, 250, 7)),
    LabelClass(4, "water", (61, 230, 250)),
    LabelClass(5, "mountain", (143, 255, 140)),
    LabelClass(6, "building", (180, 120, 120)),
    LabelClass(7, "road", (140, 140, 140)),
    LabelClass(8, "sand", (160, 150, 20)),
    LabelClass(9, "rock", (255, 41, 10)),
    LabelClass(10, "person", (150, 5, 61)),
    LabelClass(11, "cloud", (224, 224, 224)),
]
