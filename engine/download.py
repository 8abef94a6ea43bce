"""Downloading dataset files from a mirror with checksum verification and progress reports."""

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from engine.idx import DatasetError

# progress(label, done, total or None[, unit]): bytes of a download, or other units ("digits") of
# other long preparation of a dataset, which passes its unit as a fourth argument.
Progress = Callable[..., None]

_CHUNK = 1 << 16


class DownloadError(DatasetError):
    """A file could not be fetched from any mirror, or it failed its checksum."""


def md5_of_content(data: bytes) -> tuple[str, str]:
    """MD5 of the bytes as stored and of their decompressed content (the same when not gzipped)."""
    stored = hashlib.md5(data).hexdigest()
    if data[:2] != b"\x1f\x8b":
        return stored, stored
    try:
        return stored, hashlib.md5(gzip.decompress(data)).hexdigest()
    except (EOFError, OSError):
        return stored, ""


def _fetch(url: str, dest: Path, label: str, progress: Progress | None, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        done = 0
        with open(dest, "wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(label, done, total)
    if total is not None and done != total:
        raise DownloadError(f"{url}: connection closed after {done} of {total} bytes")


def download_verified(
    filename: str,
    mirrors: tuple[str, ...],
    checksums: tuple[str, ...],
    dest_dir: Path,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch ``filename`` from the first mirror that serves it with a matching MD5.

    A file is accepted when the MD5 of the downloaded bytes or of their decompressed content is
    in ``checksums`` (mirrors sometimes recompress). It is written to a temporary file and renamed
    into place only once verified, so a failed or corrupt download never leaves a file behind.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / filename
    problems = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _fetch(url, tmp, filename, progress, timeout)
            digests = md5_of_content(tmp.read_bytes())
            if not set(digests) & set(checksums):
                raise DownloadError(f"{url}: checksum mismatch (got MD5 {digests[0]}, expected one of {', '.join(checksums)})")
            os.replace(tmp, target)
            return target
        except DownloadError as exc:  # names its URL already
            problems.append(str(exc))
        except OSError as exc:  # urllib's errors too
            # A bare URLError (no network, the host not found) says "<urlopen error …>" around its reason.
            problems.append(f"{url}: {exc.reason if type(exc) is urllib.error.URLError else exc}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {filename}:\n  " + "\n  ".join(problems))
