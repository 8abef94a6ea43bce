"""Choosing where to compute, and naming it for people."""

import ctypes
import os
import platform

import torch

# mallopt parameters from glibc's malloc.h.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


class DeviceError(RuntimeError):
    pass


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was requested but no CUDA GPU is available (this PyTorch build: "
                          f"{torch.__version__}). Choose the CPU or 'auto'.")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise DeviceError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def cuda_available() -> bool:
    return torch.cuda.is_available()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def available_devices() -> list[str]:
    """Human-readable list of what this machine offers."""
    found = [f"cpu: {os.cpu_count()} logical cores"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(f"cuda:{i}: {props.name}, {props.total_memory / 2**30:.1f} GiB")
    return found


def configure_cpu() -> None:
    """Let intra-op parallelism use every core and keep freed memory for reuse; called in the thread
    that does the work."""
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    _keep_freed_memory()


def _keep_freed_memory() -> None:
    """Stop glibc from returning each training step's activation buffers (megabytes each) to the
    kernel only to fault them back in on the next step: that cost a tenth of a CPU step
    (bench/README.md). Buffers up to 32 MiB come from the heap, which keeps up to 256 MiB free."""
    if platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed value
    libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()
