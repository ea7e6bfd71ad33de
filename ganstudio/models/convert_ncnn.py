"""Moved to :mod:`ganstudio.models.converters.ncnn` (kept so that old imports keep working)."""

from .converters.ncnn import (  # noqa: F401
    FP16_TAG, FP32_TAG, ConversionError, NcnnLayer, convert, convert_files, package_dir,
    parse_param, read_weights, rrdbnet_names,
)
