"""Integer rectangles and tile iteration (document pixel coordinates)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

TILE = 256


@dataclass(frozen=True, slots=True)
class Rect:
    """Half-open integer rectangle: columns x..x+w-1, rows y..y+h-1."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def from_size(cls, width: int, height: int) -> Rect:
        return cls(0, 0, width, height)

    @classmethod
    def from_corners(cls, x0: int, y0: int, x1: int, y1: int) -> Rect:
        return cls(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def is_empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def intersect(self, other: Rect) -> Rect:
        return Rect.from_corners(
            max(self.x, other.x), max(self.y, other.y),
            min(self.right, other.right), min(self.bottom, other.bottom),
        )

    def union(self, other: Rect) -> Rect:
        if self.is_empty():
            return other
        if other.is_empty():
            return self
        return Rect.from_corners(
            min(self.x, other.x), min(self.y, other.y),
            max(self.right, other.right), max(self.bottom, other.bottom),
        )

    def translated(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def expanded(self, margin: int) -> Rect:
        return Rect(self.x - margin, self.y - margin, self.w + 2 * margin, self.h + 2 * margin)

    def slices(self) -> tuple[slice, slice]:
        """numpy (rows, cols) slices of this rect."""
        return slice(self.y, self.bottom), slice(self.x, self.right)

    def tiles(self, tile: int = TILE) -> Iterator[tuple[int, int]]:
        """(tx, ty) indices of the tile grid cells this rect touches."""
        if self.is_empty():
            return
        for ty in range(self.y // tile, (self.bottom - 1) // tile + 1):
            for tx in range(self.x // tile, (self.right - 1) // tile + 1):
                yield tx, ty


def tile_rect(tx: int, ty: int, tile: int = TILE) -> Rect:
    return Rect(tx * tile, ty * tile, tile, tile)
