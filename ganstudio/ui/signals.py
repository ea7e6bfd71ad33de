"""One helper for the (signal, slot) bookkeeping that every panel, the canvas and the window do:
connect a group of slots, disconnect them all at once (a slot already gone is fine)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def safe_disconnect(signal: Any, slot: Callable) -> bool:
    """Disconnect ``slot`` (psygnal or Qt signal); False when it was not connected."""
    try:
        signal.disconnect(slot)
    except Exception:  # noqa: BLE001 - already disconnected / the sender is gone
        return False
    return True


class Connections:
    """Connected (signal, slot) pairs that are disconnected together."""

    def __init__(self) -> None:
        self._pairs: list[tuple[Any, Callable]] = []

    def connect(self, signal: Any, slot: Callable) -> Callable:
        signal.connect(slot)
        self._pairs.append((signal, slot))
        return slot

    def disconnect_all(self, keep: int = 0) -> None:
        """Disconnect every pair except the first ``keep`` ones."""
        for signal, slot in self._pairs[keep:]:
            safe_disconnect(signal, slot)
        del self._pairs[keep:]

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[tuple[Any, Callable]]:
        return iter(list(self._pairs))


__all__ = ["Connections", "safe_disconnect"]
