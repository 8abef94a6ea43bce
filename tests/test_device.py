"""CPU settings: every core for intra-op work, and freed activation memory kept for the next step."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.device import configure_cpu

# A few digitnet training steps in a fresh process; prints page faults per step after warm-up.
FAULTS_PER_STEP = """
import resource, sys, torch, torch.nn.functional as F
from engine.device import configure_cpu
from engine.models import build_model
if sys.argv[1] == "configured":
    configure_cpu()
net = build_model("digitnet").to(memory_format=torch.channels_last)
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
def step():
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(8):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 8)
"""


def _faults_per_step(mode: str) -> float:
    # `python -c` puts the working directory first on sys.path, so the project root is importable.
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP, mode], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def test_configure_cpu_uses_every_core():
    configure_cpu()
    assert torch.get_num_threads() == os.cpu_count()


@pytest.mark.machine
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator setting is for glibc")
def test_configured_training_steps_stop_faulting_in_fresh_memory():
    default, configured = _faults_per_step("default"), _faults_per_step("configured")
    assert configured < default / 3, (default, configured)
