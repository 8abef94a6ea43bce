"""Pieces the benchmarks share: the seed tutorials' data pipeline, and machine facts."""

import os
import platform

import torch

from engine.config import TrainConfig


class PerSampleMNIST(torch.utils.data.Dataset):
    """The seed tutorials' pipeline: one image at a time, converted to a float tensor on access
    (what torchvision's ``ToTensor`` does), batched by a ``DataLoader``."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor):
        self.images = images_uint8.numpy()
        self.labels = labels.numpy()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return torch.from_numpy(self.images[i]).float().div(255).unsqueeze(0), int(self.labels[i])


def seed_loader(images, labels, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(PerSampleMNIST(images, labels), batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} logical cores{gpu}; PyTorch {torch.__version__}, {torch.get_num_threads()} threads"


def config_overrides(pairs: list[str]) -> dict:
    """KEY=VALUE strings → TrainConfig fields of the right types."""
    return {key: TrainConfig.parse_value(key, value) for key, value in (pair.split("=", 1) for pair in pairs)}
