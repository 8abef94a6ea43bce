"""Reading and writing IDX files (the MNIST file format), gzipped or raw, with strict checks."""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

# IDX type codes -> numpy dtypes (IDX data is big-endian).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class DatasetError(ValueError):
    """A dataset file or folder is missing, corrupt or inconsistent. The message names the file."""


class IdxError(DatasetError):
    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IdxError(path, "file not found") from None
    except OSError as exc:
        raise IdxError(path, f"cannot be read ({exc.strerror or exc})") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise IdxError(path, f"corrupt or truncated gzip data ({exc})") from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of its native shape."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IdxError(path, f"too short to be an IDX file ({len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise IdxError(path, f"not an IDX file (bad magic number 0x{data[:4].hex()})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(path, "truncated header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing data"
        raise IdxError(path, f"{problem}: header says shape {shape} ({expected} bytes), file holds {len(data)} bytes")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write an array as IDX; gzip it when the name ends in .gz (or when compress is True)."""
    path = Path(path)
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = _CODES.get(np.dtype(big_endian))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    payload = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload += array.astype(big_endian).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=6)
    path.write_bytes(payload)


def read_image_label_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image (N,H,W) and label (N,) files and check they agree."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IdxError(images_path, f"expected uint8 images of shape (N, H, W), found {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise IdxError(labels_path, f"expected labels of shape (N,), found {labels.shape}")
    if len(images) != len(labels):
        raise IdxError(labels_path, f"holds {len(labels)} labels but {Path(images_path).name} holds {len(images)} images")
    return images, labels
