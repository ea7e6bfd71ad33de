"""Layers: raster (RGBA, 8 or 16 bit, straight alpha) and label (class-id map + palette).

Pixels are stored with *straight* (non-premultiplied) alpha, like PNG/ORA files; compositing
premultiplies per tile. Each layer lives in document coordinates at ``offset`` and may be smaller
or larger than the canvas. A layer emits events (psygnal) named after the attribute they report;
``events.pixels`` carries the changed Rect in *layer* coordinates.
"""

from __future__ import annotations

import copy
import enum
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import Signal, SignalGroup

from .geometry import Rect

_ids = itertools.count(1)


class BlendMode(str, enum.Enum):
    NORMAL = "normal"
    MULTIPLY = "multiply"
    SCREEN = "screen"
    OVERLAY = "overlay"
    DARKEN = "darken"
    LIGHTEN = "lighten"
    SOFT_LIGHT = "soft-light"
    HARD_LIGHT = "hard-light"
    ADD = "add"
    DIFFERENCE = "difference"
    COLOR_DODGE = "color-dodge"
    COLOR_BURN = "color-burn"
    EXCLUSION = "exclusion"
    HUE = "hue"
    SATURATION = "saturation"
    COLOR = "color"
    LUMINOSITY = "luminosity"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").title()


class LayerEvents(SignalGroup):
    name = Signal(str)
    visible = Signal(bool)
    opacity = Signal(float)
    blend_mode = Signal(object)
    locked = Signal(bool)
    offset = Signal(tuple)
    mask = Signal()          # mask added / removed / enabled / replaced
    mask_pixels = Signal(object)  # Rect (layer coordinates) of the mask painted (brush, fill)
    pixels = Signal(object)  # Rect in layer coordinates
    provenance = Signal(dict)
    pass_through = Signal(bool)  # groups only


#: the order in which blend modes are offered (as Krita / Photoshop group them)
BLEND_MODE_MENU: tuple[BlendMode, ...] = (
    BlendMode.NORMAL,
    BlendMode.DARKEN, BlendMode.MULTIPLY, BlendMode.COLOR_BURN,
    BlendMode.LIGHTEN, BlendMode.SCREEN, BlendMode.COLOR_DODGE, BlendMode.ADD,
    BlendMode.OVERLAY, BlendMode.SOFT_LIGHT, BlendMode.HARD_LIGHT,
    BlendMode.DIFFERENCE, BlendMode.EXCLUSION,
    BlendMode.HUE, BlendMode.SATURATION, BlendMode.COLOR, BlendMode.LUMINOSITY,
)


class Layer:
    """Common attributes of every layer kind."""

    kind = "layer"
    #: True for GroupLayer (a node with children and no pixels of its own)
    is_group = False

    def __init__(
        self,
        name: str,
        *,
        visible: bool = True,
        opacity: float = 1.0,
        blend_mode: BlendMode = BlendMode.NORMAL,
        locked: bool = False,
        offset: tuple[int, int] = (0, 0),
        mask: np.ndarray | None = None,
        mask_enabled: bool = True,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.uid = next(_ids)
        self.events = LayerEvents()
        self._parent: GroupLayer | None = None   # set by the Document / GroupLayer
        self._name = name
        self._visible = bool(visible)
        self._opacity = float(np.clip(opacity, 0.0, 1.0))
        self._blend_mode = BlendMode(blend_mode)
        self._locked = bool(locked)
        self._offset = (int(offset[0]), int(offset[1]))
        self._mask: np.ndarray | None = None
        self.mask_enabled = bool(mask_enabled)
        self.provenance: dict[str, Any] = dict(provenance or {})
        if mask is not None:
            self.set_mask(mask)

    @property
    def parent(self) -> GroupLayer | None:
        """The group this node is in (None: top level of its document, or not in a document)."""
        p = self._parent
        return None if p is None or getattr(p, "_is_root", False) else p

    # -- geometry (overridden) ------------------------------------------------------------------
    @property
    def width(self) -> int:
        raise NotImplementedError

    @property
    def height(self) -> int:
        raise NotImplementedError

    @property
    def bounds(self) -> Rect:
        """Layer extent in document coordinates."""
        return Rect(self._offset[0], self._offset[1], self.width, self.height)

    def to_layer_rect(self, doc_rect: Rect) -> Rect:
        return doc_rect.translated(-self._offset[0], -self._offset[1])

    # -- evented attributes ---------------------------------------------------------------------
    def _set(self, attr: str, value: Any) -> None:
        if getattr(self, "_" + attr) != value:
            setattr(self, "_" + attr, value)
            getattr(self.events, attr).emit(value)

    name = property(lambda self: self._name, lambda self, v: self._set("name", str(v)))
    visible = property(lambda self: self._visible, lambda self, v: self._set("visible", bool(v)))
    opacity = property(
        lambda self: self._opacity,
        lambda self, v: self._set("opacity", float(np.clip(v, 0.0, 1.0))),
    )
    blend_mode = property(
        lambda self: self._blend_mode, lambda self, v: self._set("blend_mode", BlendMode(v))
    )
    locked = property(lambda self: self._locked, lambda self, v: self._set("locked", bool(v)))
    offset = property(
        lambda self: self._offset,
        lambda self, v: self._set("offset", (int(v[0]), int(v[1]))),
    )

    # -- layer mask (uint8, 255 = shown, same size as the layer) --------------------------------
    @property
    def mask(self) -> np.ndarray | None:
        return self._mask

    def set_mask(self, mask: np.ndarray | None) -> None:
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.height, self.width):
                raise ValueError(
                    f"mask shape {mask.shape} does not match layer size {(self.height, self.width)}"
                )
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
        self._mask = mask
        self.events.mask.emit()

    def replace_data(self, data: np.ndarray, mask: np.ndarray | None) -> None:
        """Swap the layer's array (pixels or labels) and mask at once (size may change).

        Used by whole-layer operations (crop, resample, merge); emits ``pixels`` and ``mask``.
        """
        self._replace_array(np.ascontiguousarray(data))
        if mask is not None and mask.shape != (self.height, self.width):
            raise ValueError(f"mask shape {mask.shape} does not match layer size "
                             f"{(self.height, self.width)}")
        self._mask = None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
        self.notify_pixels()
        self.events.mask.emit()

    def _replace_array(self, data: np.ndarray) -> None:
        raise NotImplementedError

    @property
    def data(self) -> np.ndarray:
        """The layer's own array: RGBA pixels (raster) or class ids (label)."""
        raise NotImplementedError

    def set_mask_enabled(self, enabled: bool) -> None:
        if self.mask_enabled != bool(enabled):
            self.mask_enabled = bool(enabled)
            self.events.mask.emit()

    @property
    def effective_mask(self) -> np.ndarray | None:
        return self._mask if (self._mask is not None and self.mask_enabled) else None

    def attributes(self) -> dict[str, Any]:
        """The non-pixel attributes (used by duplicate, history and file formats)."""
        return dict(
            name=self._name, visible=self._visible, opacity=self._opacity,
            blend_mode=self._blend_mode, locked=self._locked, offset=self._offset,
            mask_enabled=self.mask_enabled, provenance=copy.deepcopy(self.provenance),
        )

    def rgba(self, rect: Rect | None = None) -> np.ndarray:
        """Straight-alpha RGBA pixels of ``rect`` (layer coordinates, clipped by the caller)."""
        raise NotImplementedError

    def duplicate(self) -> Layer:
        raise NotImplementedError

    def notify_pixels(self, rect: Rect | None = None) -> None:
        self.events.pixels.emit(rect if rect is not None else Rect(0, 0, self.width, self.height))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} {self.width}x{self.height} at {self._offset}>"


class RasterLayer(Layer):
    """RGBA pixels, uint8 or uint16 (16 bits kept where the source has them), straight alpha."""

    kind = "raster"

    def __init__(self, name: str, pixels: np.ndarray, **attrs: Any) -> None:
        pixels = np.asarray(pixels)
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError(f"RasterLayer needs an HxWx4 array, got shape {pixels.shape}")
        if pixels.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"RasterLayer pixels must be uint8 or uint16, got {pixels.dtype}")
        self.pixels: np.ndarray = np.ascontiguousarray(pixels)
        super().__init__(name, **attrs)

    @classmethod
    def blank(cls, name: str, width: int, height: int, *, dtype=np.uint8,
              fill: tuple[int, int, int, int] = (0, 0, 0, 0), **attrs: Any) -> RasterLayer:
        px = np.empty((height, width, 4), dtype=dtype)
        px[...] = fill
        return cls(name, px, **attrs)

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def data(self) -> np.ndarray:
        return self.pixels

    def _replace_array(self, data: np.ndarray) -> None:
        if data.ndim != 3 or data.shape[2] != 4 or data.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"RasterLayer needs HxWx4 uint8/uint16, got {data.shape} {data.dtype}")
        self.pixels = data

    def rgba(self, rect: Rect | None = None) -> np.ndarray:
        if rect is None:
            return self.pixels
        return self.pixels[rect.slices()]

    def duplicate(self) -> RasterLayer:
        attrs = self.attributes()
        attrs["name"] = f"{self.name} copy"
        mask = None if self.mask is None else self.mask.copy()
        return RasterLayer(attrs.pop("name"), self.pixels.copy(), mask=mask, **attrs)


@dataclass(frozen=True)
class LabelClass:
    id: int
    name: str
    color: tuple[int, int, int]


class LabelLayer(Layer):
    """A class-id map (uint8/uint16) with a palette; rendered through the palette for display.

    ``transparent_id`` (default 0 = unlabelled) renders transparent.
    """

    kind = "label"

    def __init__(self, name: str, labels: np.ndarray, palette: list[LabelClass],
                 *, palette_name: str = "", transparent_id: int | None = 0, **attrs: Any) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.dtype not in (np.uint8, np.uint16):
            raise ValueError("LabelLayer needs an HxW uint8/uint16 class-id map")
        self.labels: np.ndarray = np.ascontiguousarray(labels)
        self.palette: list[LabelClass] = list(palette)
        self.palette_name = palette_name
        self.transparent_id = transparent_id
        self._lut: np.ndarray | None = None
        super().__init__(name, **attrs)

    @property
    def width(self) -> int:
        return self.labels.shape[1]

    @property
    def height(self) -> int:
        return self.labels.shape[0]

    @property
    def data(self) -> np.ndarray:
        return self.labels

    def _replace_array(self, data: np.ndarray) -> None:
        if data.ndim != 2 or data.dtype not in (np.uint8, np.uint16):
            raise ValueError("LabelLayer needs an HxW uint8/uint16 class-id map")
        if data.dtype != self.labels.dtype:
            self._lut = None
        self.labels = data

    def lut(self) -> np.ndarray:
        """RGBA lookup table indexed by class id."""
        if self._lut is None:
            size = max([c.id for c in self.palette] + [int(np.iinfo(self.labels.dtype).max)]) + 1
            lut = np.zeros((size, 4), np.uint8)
            for c in self.palette:
                lut[c.id, :3] = c.color
                lut[c.id, 3] = 255
            if self.transparent_id is not None:
                lut[self.transparent_id] = 0
            self._lut = lut
        return self._lut

    def set_palette(self, palette: list[LabelClass]) -> None:
        self.palette = list(palette)
        self._lut = None
        self.notify_pixels()

    def rgba(self, rect: Rect | None = None) -> np.ndarray:
        labels = self.labels if rect is None else self.labels[rect.slices()]
        return self.lut()[labels]

    def duplicate(self) -> LabelLayer:
        attrs = self.attributes()
        name = f"{attrs.pop('name')} copy"
        mask = None if self.mask is None else self.mask.copy()
        return LabelLayer(name, self.labels.copy(), list(self.palette),
                          palette_name=self.palette_name, transparent_id=self.transparent_id,
                          mask=mask, **attrs)


class GroupLayer(Layer):
    """A layer group: an ordered list of child nodes (layers or groups, bottom first), no pixels.

    ``pass_through`` (the default, as in Krita, GIMP and Photoshop): the children composite straight
    onto what lies below the group, as if they were not grouped; the group's opacity then fades
    the result against that backdrop, and its blend mode is not used. ``pass_through=False``
    (isolated): the children are composited on their own (over transparency) and the result is
    blended onto the backdrop like one layer, with the group's opacity and blend mode.

    Change the tree through the Document (``new_group``, ``group_layers``, ``move_node`` ...), which
    records undo and keeps ``doc.layers`` in step; ``children`` is for reading. The group's
    ``bounds`` is the union of its layers' bounds; setting ``offset`` moves every layer inside.
    Groups have no mask.
    """

    kind = "group"
    is_group = True

    def __init__(self, name: str, children: Any = (), *, pass_through: bool = True,
                 **attrs: Any) -> None:
        attrs.pop("offset", None)          # a group is where its layers are
        attrs.pop("mask_enabled", None)
        if attrs.pop("mask", None) is not None:
            raise ValueError("layer groups have no mask")
        self.children: list[Layer] = []
        self._pass_through = bool(pass_through)
        super().__init__(name, **attrs)
        for child in children:
            self._adopt(child, len(self.children))

    # -- tree -------------------------------------------------------------------------------------
    def _adopt(self, node: Layer, index: int) -> None:
        if node is self or (node.is_group and self in node.walk()):  # type: ignore[attr-defined]
            raise ValueError("a group cannot contain itself")
        self.children.insert(index, node)
        node._parent = self

    def _drop(self, node: Layer) -> int:
        for i, child in enumerate(self.children):
            if child is node:
                del self.children[i]
                node._parent = None
                return i
        raise ValueError(f"{node!r} is not a child of {self!r}")

    def walk(self) -> Iterator[Layer]:
        """Every node below this group, depth first, bottom first (a group before its children)."""
        for child in self.children:
            yield child
            if child.is_group:
                yield from child.walk()  # type: ignore[attr-defined]

    def leaves(self) -> Iterator[Layer]:
        """The paint layers (no groups) below this group, in paint order (bottom first)."""
        for child in self.children:
            if child.is_group:
                yield from child.leaves()  # type: ignore[attr-defined]
            else:
                yield child

    def depth_of(self, node: Layer) -> int:
        d, p = 0, node._parent
        while p is not None and p is not self:
            d, p = d + 1, p._parent
        return d

    # -- attributes -------------------------------------------------------------------------------
    pass_through = property(lambda self: self._pass_through,
                            lambda self, v: self._set("pass_through", bool(v)))

    @property
    def isolated(self) -> bool:
        return not self._pass_through

    @property
    def bounds(self) -> Rect:
        out: Rect | None = None
        for leaf in self.leaves():
            out = leaf.bounds if out is None else out.union(leaf.bounds)
        return out if out is not None else Rect(0, 0, 0, 0)

    @property
    def width(self) -> int:
        return self.bounds.w

    @property
    def height(self) -> int:
        return self.bounds.h

    @property
    def offset(self) -> tuple[int, int]:  # type: ignore[override]
        b = self.bounds
        return (b.x, b.y)

    @offset.setter
    def offset(self, value: tuple[int, int]) -> None:
        x, y = self.offset
        dx, dy = int(value[0]) - x, int(value[1]) - y
        if dx or dy:
            for leaf in list(self.leaves()):
                ox, oy = leaf.offset
                leaf.offset = (ox + dx, oy + dy)
            self.events.offset.emit(self.offset)

    def set_mask(self, mask: np.ndarray | None) -> None:
        if mask is not None:
            raise ValueError("layer groups have no mask")

    @property
    def data(self) -> np.ndarray:
        raise TypeError(f"layer group “{self.name}” has no pixels of its own")

    def _replace_array(self, data: np.ndarray) -> None:
        raise TypeError("layer groups have no pixels of their own")

    @property
    def bit_depth(self) -> int:
        return max([getattr(la, "bit_depth", 8) for la in self.leaves()] or [8])

    def attributes(self) -> dict[str, Any]:
        return dict(name=self._name, visible=self._visible, opacity=self._opacity,
                    blend_mode=self._blend_mode, locked=self._locked,
                    pass_through=self._pass_through, provenance=copy.deepcopy(self.provenance))

    def rgba(self, rect: Rect | None = None) -> np.ndarray:
        """The group's children composited on their own (isolated, straight alpha, 8/16 bit) over
        ``rect`` in group coordinates (default: the whole bounds). For thumbnails and merging."""
        from .compositing import composite_nodes

        b = self.bounds
        rect = Rect(0, 0, b.w, b.h) if rect is None else rect
        dtype = np.uint16 if self.bit_depth == 16 else np.uint8
        return composite_nodes(self.children, rect.translated(b.x, b.y), dtype=dtype)

    def duplicate(self) -> GroupLayer:
        kids = []
        for child in self.children:
            copy_ = child.duplicate()
            copy_.name = child.name          # only the group is called "... copy"
            kids.append(copy_)
        attrs = self.attributes()
        name = f"{attrs.pop('name')} copy"
        return GroupLayer(name, kids, **attrs)

    def notify_pixels(self, rect: Rect | None = None) -> None:
        b = self.bounds
        self.events.pixels.emit(rect if rect is not None else Rect(0, 0, b.w, b.h))

    def __repr__(self) -> str:
        return f"<GroupLayer {self._name!r} {len(self.children)} children>"
