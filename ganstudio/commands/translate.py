"""`ganstudio translate IN... -o OUT --model ID [--size 256] [--eval] [--seed N] [--json]`

pix2pix image-to-image translation (official models: pix2pix.facades_label2photo, edges2shoes,
edges2handbags, sat2map, map2sat, day2night; download them with `ganstudio models download ID`).
Default test mode = the official test.py without --eval (BatchNorm on the image's statistics,
dropout on); ``--eval`` = running statistics, no dropout. Files or folders in (batch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .device_args import add_device_arguments
from .stylize import _common_output_args, run_batch

DEFAULT_MODEL = "pix2pix.facades_label2photo"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("translate", help="pix2pix image-to-image translation",
                              description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or a file name when there is a single input image")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"pix2pix model id or weights file "
                                                          f"(default {DEFAULT_MODEL})")
    p.add_argument("--size", type=int, default=0, help="network input side, a multiple of 256 "
                                                      "(default: the model's, 256)")
    p.add_argument("--eval", action="store_true",
                   help="running BatchNorm statistics, no dropout (official test.py --eval)")
    p.add_argument("--seed", type=int, default=0, help="dropout noise seed (official mode)")
    add_device_arguments(p, tile=False)
    _common_output_args(p)
    p.set_defaults(handler=run)


def run(args: Any) -> int:
    from ..tasks.translate import TranslateRequest
    from ..tasks.translate import run as translate

    def make(_src: Path) -> TranslateRequest:
        return TranslateRequest(model_id=args.model, size=args.size,
                                mode="eval" if args.eval else "official", seed=args.seed)

    return run_batch(args, translate, make, "translate")
