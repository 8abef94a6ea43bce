import gzip
import hashlib

import numpy as np
import pytest
import torch

from conftest import subset, write_dataset_folder
from engine.datasets import REGISTRY, DatasetError, get_spec, kfold_indices, load_dataset, locate, search_dirs, split_indices
from engine.idx import IdxError
from engine.paths import assets_dir


def test_bundled_mnist_is_complete_and_matches_published_checksums(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels.dtype == torch.int64 and set(mnist.train_labels.unique().tolist()) == set(range(10))
    for stem, (_gz_md5, raw_md5) in REGISTRY["mnist"].checksums.items():
        content = gzip.decompress((assets_dir() / "mnist" / f"{stem}.gz").read_bytes())
        assert hashlib.md5(content).hexdigest() == raw_md5


def test_user_given_folder_wins_over_bundled_copy(tmp_path, mnist):
    folder = write_dataset_folder(tmp_path / "mine", subset(mnist, 100, 50))
    data = load_dataset("mnist", data_dir=folder)
    assert len(data.train_images) == 100 and len(data.test_images) == 50


def test_environment_variable_folder_holding_named_subfolder(tmp_path, monkeypatch, mnist):
    write_dataset_folder(tmp_path / "datasets" / "mnist", subset(mnist, 64, 32))
    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tmp_path / "datasets"))
    assert locate(get_spec("mnist")) == tmp_path / "datasets" / "mnist"
    assert len(load_dataset("mnist").train_images) == 64


def test_search_order(tmp_path, monkeypatch, isolated_home):
    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tmp_path / "env"))
    dirs = search_dirs(get_spec("fashion-mnist"), data_dir=tmp_path / "flag")
    assert dirs[:5] == [tmp_path / "flag", tmp_path / "flag" / "fashion-mnist", tmp_path / "env",
                        tmp_path / "env" / "fashion-mnist", isolated_home / "cache" / "datasets" / "fashion-mnist"]
    assert str(dirs[5]) == "/usr/share/datasets/fashion-mnist"


def test_missing_dataset_without_download_lists_where_it_looked(monkeypatch):
    spec = get_spec("fashion-mnist")
    monkeypatch.setitem(REGISTRY, "fashion-mnist", type(spec)(**{**spec.__dict__, "system_dirs": ()}))
    with pytest.raises(DatasetError, match="was not found. Looked in"):
        load_dataset("fashion-mnist", download=False)


def test_corrupt_dataset_file_names_the_file(tmp_path, mnist):
    folder = write_dataset_folder(tmp_path / "bad", subset(mnist, 10, 10))
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IdxError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=folder)


def test_labels_out_of_range_are_rejected(tmp_path, mnist):
    data = subset(mnist, 10, 10)
    bad = type(data)(data.name, data.class_names, data.train_images, data.train_labels * 0 + 12,
                     data.test_images, data.test_labels)
    folder = write_dataset_folder(tmp_path / "labels", bad)
    with pytest.raises(DatasetError, match="labels outside 0..9"):
        load_dataset("mnist", data_dir=folder)


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_split_is_seeded_disjoint_and_complete():
    train, val = split_indices(1000, 0.1, seed=3)
    again_train, again_val = split_indices(1000, 0.1, seed=3)
    other_train, _ = split_indices(1000, 0.1, seed=4)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    assert not torch.equal(train, other_train)
    assert len(val) == 100 and len(train) == 900
    assert sorted(torch.cat([train, val]).tolist()) == list(range(1000))


def test_kfold_partitions_every_index_once_into_validation():
    folds = kfold_indices(103, 5, seed=0)
    val_all = torch.cat([val for _, val in folds]).sort().values
    assert torch.equal(val_all, torch.arange(103))
    for train, val in folds:
        assert len(np.intersect1d(train.numpy(), val.numpy())) == 0 and len(train) + len(val) == 103
