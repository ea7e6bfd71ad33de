"""The progress bar of batch commands (upscale, stylize, colorize ...): whole files on stderr.

``1/3 files`` counts finished files only; the file at work shows its own progress after the
count ("photo.jpg  40% tile 3/8"), so the bar never reads "0.2/1 file"::

    bar = FileProgress(len(pairs), quiet=args.quiet)
    for src, dst in pairs:
        bar.start(src.name)
        for p in task_generator:          # Progress(step, total, stage)
            bar.step(p.fraction, p.stage)
        bar.done()
    bar.close()
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


BAR_FORMAT = "{desc} {n_fmt}/{total_fmt} files |{bar}| {postfix} [{elapsed}<{remaining}]"


class FileProgress:
    def __init__(self, total: int, *, quiet: bool = False, leave: bool = True,
                 file: TextIO | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.total = int(total)
        self.finished = 0
        self.bar = tqdm(total=self.total, unit="file", file=file or sys.stderr, disable=quiet,
                        dynamic_ncols=True, leave=leave,
                        bar_format=BAR_FORMAT)
        self.name = ""

    def start(self, name: str) -> None:
        """A new file begins (its name shown, its own progress at 0 %)."""
        self.name = name
        self.bar.set_description_str(name[:30], refresh=False)
        self.bar.set_postfix_str("0%", refresh=False)
        self.bar.refresh()

    def step(self, fraction: float, stage: str = "") -> None:
        """Progress inside the current file (0..1) and what it is doing; the count stays whole."""
        pct = f"{max(0.0, min(1.0, float(fraction))) * 100:.0f}%"
        self.bar.set_postfix_str(f"{pct} {stage}".strip(), refresh=False)
        self.bar.refresh()

    def done(self) -> None:
        """The current file is finished (ok or not): the count moves by one whole file."""
        self.finished += 1
        self.bar.set_postfix_str("", refresh=False)
        self.bar.update(1)

    def write(self, text: str) -> None:
        self._tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()

    @property
    def n(self) -> Any:
        return self.bar.n


__all__ = ["FileProgress"]
