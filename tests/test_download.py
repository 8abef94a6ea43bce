"""The download path, against a local HTTP server on 127.0.0.1 (never the internet)."""

import hashlib
import http.server
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import subset, write_dataset_folder
from engine.datasets import REGISTRY, load_dataset
from engine.download import DownloadError, download_verified


@pytest.fixture
def served(tmp_path, mnist):
    """Serve a small valid MNIST-format dataset from /good/ and a corrupted copy from /bad/."""
    good = write_dataset_folder(tmp_path / "www" / "good", subset(mnist, 200, 100))
    bad = tmp_path / "www" / "bad"
    bad.mkdir()
    for f in good.iterdir():
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte
        (bad / f.name).write_bytes(bytes(data))
    checksums = {f.name.removesuffix(".gz"): (hashlib.md5(f.read_bytes()).hexdigest(),) for f in good.iterdir()}

    root = str(tmp_path / "www")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", checksums
    server.shutdown()
    server.server_close()


def _spec(url_list, checksums):
    # A dataset that exists nowhere on disk, so it must be downloaded.
    return replace(REGISTRY["fashion-mnist"], name="test-digits", mirrors=tuple(url_list), checksums=checksums, system_dirs=())


def test_download_verifies_and_installs_into_user_data_folder(served, isolated_home):
    base, checksums = served
    calls = []
    data = load_dataset(_spec([f"{base}/good/"], checksums), progress=lambda *a: calls.append(a))
    assert data.train_images.shape == (200, 28, 28) and data.test_images.shape == (100, 28, 28)
    installed = sorted(p.name for p in (isolated_home / "cache" / "datasets" / "test-digits").iterdir())
    assert installed == sorted(f"{stem}.gz" for stem in checksums)
    # Progress reports each file with growing byte counts and the server's total size.
    labels = {c[0] for c in calls}
    assert labels == set(installed) and all(c[2] is not None and 0 < c[1] <= c[2] for c in calls)


def test_a_test_set_alone_downloads_only_its_own_files(served, isolated_home):
    """Evaluating on a dataset not yet on disk fetches its test files (a seventh of it), not the training set."""
    base, checksums = served
    spec = _spec([f"{base}/good/"], checksums)
    data = load_dataset(spec, test_only=True)
    assert data.test_images.shape == (100, 28, 28) and len(data.train_labels) == 0
    folder = isolated_home / "cache" / "datasets" / "test-digits"
    assert sorted(p.name for p in folder.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert load_dataset(spec).train_images.shape == (200, 28, 28)  # training fetches the rest
    assert len(list(folder.iterdir())) == 4


def test_corrupted_download_is_rejected_and_leaves_nothing(served, tmp_path):
    base, checksums = served
    stem = "train-images-idx3-ubyte"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_verified(f"{stem}.gz", (f"{base}/bad/",), checksums[stem], tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_falls_back_to_the_next_mirror(served, tmp_path):
    base, checksums = served
    stem = "t10k-labels-idx1-ubyte"
    path = download_verified(f"{stem}.gz", (f"{base}/bad/", f"{base}/missing/", f"{base}/good/"), checksums[stem], tmp_path)
    assert hashlib.md5(path.read_bytes()).hexdigest() == checksums[stem][0]


def test_all_mirrors_failing_reports_each(served, tmp_path):
    base, checksums = served
    with pytest.raises(DownloadError) as info:
        download_verified("t10k-labels-idx1-ubyte.gz", (f"{base}/bad/", f"{base}/missing/"),
                          checksums["t10k-labels-idx1-ubyte"], tmp_path)
    message = str(info.value)
    assert "checksum mismatch" in message and "404" in message


def test_no_network_names_the_address_and_how_to_do_without(served, isolated_home):
    _, checksums = served
    spec = replace(_spec(["http://127.0.0.1:9/"], checksums), system_package="dataset-test-digits",
                   system_dirs=(Path("/usr/share/datasets/test-digits"),))  # port 9: nobody listens
    with pytest.raises(DownloadError) as info:
        load_dataset(spec)
    message = str(info.value)
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz: [Errno 111] Connection refused" in message
    assert "copy its 4 files (train-images-idx3-ubyte.gz, " in message
    assert str(isolated_home / "cache" / "datasets" / "test-digits") in message
    assert "install the package dataset-test-digits" in message and "--data-dir" in message


def test_accepts_a_recompressed_file_by_content_checksum(served, tmp_path):
    """Mirrors (and Debian) recompress: the MD5 of the decompressed content is accepted too."""
    import gzip

    base, _ = served
    raw = gzip.decompress((tmp_path / "www" / "good" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    path = download_verified("t10k-labels-idx1-ubyte.gz", (f"{base}/good/",), ("0" * 32, hashlib.md5(raw).hexdigest()), tmp_path / "d")
    assert np.frombuffer(gzip.decompress(path.read_bytes())[8:], np.uint8).shape == (100,)
