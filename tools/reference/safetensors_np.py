"""Minimal safetensors reader/writer on numpy (no `safetensors` package needed).

Format: u64 little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, optional "__metadata__"}, then raw little-endian data.
Supported dtypes: F32, F16, BF16 (widened to float32 on load), F64, I64, I32, U8, BOOL.
"""

from __future__ import annotations

import json
import struct
from typing import Dict, Mapping, Optional

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype("<u4") << 16).view("<f4")


def _f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even float32 -> bfloat16 bit pattern (uint16). NaN stays NaN."""
    bits = np.ascontiguousarray(x, dtype="<f4").view("<u4")
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype("<u2")
    nan = np.isnan(x)
    if nan.any():
        out[nan] = 0x7FC0
    return out


def load_header(path: str) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def load(path: str, keep_bf16_bits: bool = False) -> Dict[str, np.ndarray]:
    """Load every tensor. BF16 is widened to float32 unless keep_bf16_bits (then uint16 bit patterns)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    out: Dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        dt = info["dtype"]
        raw = buf[base + begin : base + end]
        if dt == "BF16":
            arr = np.frombuffer(raw, dtype="<u2").reshape(shape)
            arr = arr.copy() if keep_bf16_bits else _bf16_to_f32(arr)
        elif dt in _DTYPES:
            arr = np.frombuffer(raw, dtype=_DTYPES[dt]).reshape(shape).copy()
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        out[name] = arr
    return out


def save(
    path: str,
    tensors: Mapping[str, np.ndarray],
    metadata: Optional[Mapping[str, str]] = None,
    bf16: Optional[set] = None,
) -> None:
    """Save tensors (sorted by name, 8-byte aligned header). Names in `bf16` are stored as BF16."""
    bf16 = bf16 or set()
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if name in bf16:
            data = _f32_to_bf16(arr.astype(np.float32)).tobytes()
            dt = "BF16"
        else:
            dt = _NAMES.get(np.dtype(arr.dtype).newbyteorder("<")) or _NAMES.get(arr.dtype)
            if dt is None:
                raise ValueError(f"tensor {name}: unsupported dtype {arr.dtype}")
            arr = np.ascontiguousarray(arr, dtype=_DTYPES[dt])
            data = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
