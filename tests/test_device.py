"""CPU settings: every core for intra-op work, and freed activation memory kept for the next step."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.device import configure_cpu

# Allocates and frees 80 MiB in 4 MiB tensors (the size of a training step's activations) in a fresh
# process; prints how many MiB of it the heap still holds for the next step.
FREED_AND_KEPT = """
import ctypes, sys, torch
from engine.device import configure_cpu
class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                      "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
if sys.argv[1] == "configured":
    configure_cpu()
heap = libc.mallinfo2().arena
buffers = [torch.ones(1 << 20) for _ in range(20)]
del buffers
print((libc.mallinfo2().arena - heap) >> 20)
"""


def _mib_kept(mode: str) -> int:
    # `python -c` puts the working directory first on sys.path, so the project root is importable.
    out = subprocess.run([sys.executable, "-c", FREED_AND_KEPT, mode], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def _glibc_version() -> tuple[int, ...]:
    return tuple(int(part) for part in platform.libc_ver()[1].split(".") if part.isdigit())


def test_configure_cpu_uses_every_core():
    configure_cpu()
    assert torch.get_num_threads() == os.cpu_count()


# mallinfo2 is glibc 2.33 and later. Page faults per step were counted here before, but their number
# with the default allocator ranged from 388 to 4,774 between machines (transparent huge pages, cores).
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or _glibc_version() < (2, 33),
                    reason="the allocator setting and mallinfo2 are glibc's")
def test_configured_allocator_keeps_a_steps_freed_buffers_for_the_next():
    assert _mib_kept("default") < 20  # glibc alone hands them back to the kernel
    assert _mib_kept("configured") >= 76
