"""The packaged app: build the PyInstaller bundle and run its self-test (slow: a few minutes)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(out / "dist"),
                             "--work", str(out / "build")], capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "dist" / "DigitStudio"


def test_bundle_passes_its_self_test(bundle, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIGIT_STUDIO_HOME": str(tmp_path)}
    env.pop("DIGIT_STUDIO_DATA", None)
    result = subprocess.run([str(bundle / "digit-studio"), "--self-test"], capture_output=True, text=True,
                            env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout and "all 10 sample images read correctly" in result.stdout


def test_bundle_commands_work(bundle, tmp_path):
    env = {**os.environ, "DIGIT_STUDIO_HOME": str(tmp_path)}
    sample = bundle / "_internal" / "assets" / "samples" / "digit-3.png"
    result = subprocess.run([str(bundle / "digit-studio"), "predict", str(sample), "--json"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0 and '"digit": 3' in result.stdout
    search = subprocess.run([str(bundle / "digit-studio"), "search", "--trials", "1", "--model", "seed003",
                             "--dataset", "mnist", "--epochs", "1", "--train-subset", "300", "--json"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert search.returncode == 0 and '"best"' in search.stdout, search.stderr  # Optuna and SQLite in the bundle


def test_bundle_carries_the_app_and_not_what_it_never_uses(bundle):
    internal = bundle / "_internal"
    for needed in ("assets/default_model.pt", "assets/mnist/train-images-idx3-ubyte.gz", "assets/icon.png"):
        assert (internal / needed).is_file(), needed
    assert (bundle / "DigitStudio").is_file() and (bundle / "digit-studio.desktop").is_file()
    assert not (internal / "torch" / "include").exists()
    assert [p.name for p in (internal / "torch" / "bin").iterdir()] == ["torch_shm_manager"]  # not its 50 MB of tests
    assert not list(internal.rglob("libcudnn*")) and not (internal / "nvidia").exists()
    assert not list(internal.rglob("*_test.so"))


def test_cpu_bundle_stays_within_its_size_budget(bundle):
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("build", ROOT / "packaging" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    if torch.version.cuda is not None:
        pytest.skip("a CUDA build carries the GPU libraries")
    # 750 MiB until the pen digits' drawings shipped (12 MB: three minutes less before a first training run)
    assert build.folder_size(bundle) <= 765 * 2**20
