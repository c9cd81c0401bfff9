"""Structural check of a safetensors file, without loading its tensors.

Layout: 8-byte little-endian header length N, N bytes of JSON header, then the data buffer. The
header maps tensor names to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative
to the data buffer), plus an optional ``__metadata__`` map of strings. The format requires the
tensors to tile the buffer exactly, with no gaps or overlaps. Written here rather than depending
on the ``safetensors`` package (not installed here) for a check of a few dozen lines.
"""

from __future__ import annotations

import json
import math
import struct

# Bytes per element of each dtype the format defines (sub-byte float types are left out).
DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
_MAX_HEADER = 100_000_000  # the reference implementation's limit


class SafetensorsError(ValueError):
    """Bytes that are not a well-formed safetensors file."""


def check_safetensors(data: bytes) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors of a safetensors file as ``{name: (dtype, shape)}``; ``SafetensorsError`` if malformed."""
    if len(data) < 8:
        raise SafetensorsError(f"{len(data)} bytes is too short for a safetensors file")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len < 2 or header_len > _MAX_HEADER or 8 + header_len > len(data):
        raise SafetensorsError(f"header length {header_len} does not fit a file of {len(data)} bytes")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise SafetensorsError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError("__metadata__ must map names to strings")
    buffer_len = len(data) - 8 - header_len
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        dtype, shape, begin, end = _tensor_info(name, info)
        expected = math.prod(shape) * DTYPE_SIZES[dtype]
        if end - begin != expected:
            raise SafetensorsError(
                f"tensor {name!r}: {dtype} {list(shape)} needs {expected} bytes, offsets give {end - begin}"
            )
        tensors[name] = (dtype, shape)
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise SafetensorsError(f"tensor {name!r} starts at byte {begin}, expected {position} (gap or overlap)")
        position = end
    if position != buffer_len:
        raise SafetensorsError(f"tensors cover {position} bytes of a {buffer_len}-byte data buffer")
    return tensors


def _tensor_info(name: str, info: object) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsError(f"tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in DTYPE_SIZES:
        raise SafetensorsError(f"tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise SafetensorsError(f"tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise SafetensorsError(f"tensor {name!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if end < begin:
        raise SafetensorsError(f"tensor {name!r} ends before it begins: {offsets}")
    return dtype, tuple(shape), begin, end


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
