import gzip

import numpy as np
import pytest

from engine.idx import IdxError, read_idx, read_image_label_pair, write_idx


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip_raw_and_gzipped(tmp_path, name):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, data)
    assert np.array_equal(read_idx(tmp_path / name), data)


def test_other_dtypes_round_trip(tmp_path):
    data = np.array([[1.5, -2.0], [3.25, 4.0]], dtype=np.float32)
    write_idx(tmp_path / "f.idx", data)
    out = read_idx(tmp_path / "f.idx")
    assert out.dtype == np.float32 and np.array_equal(out, data)


def test_truncated_file_names_file_and_sizes(tmp_path):
    write_idx(tmp_path / "x.idx", np.zeros((10, 28, 28), np.uint8))
    raw = (tmp_path / "x.idx").read_bytes()
    (tmp_path / "x.idx").write_bytes(raw[:-100])
    with pytest.raises(IdxError, match=r"x\.idx: truncated"):
        read_idx(tmp_path / "x.idx")


def test_trailing_data_is_an_error(tmp_path):
    write_idx(tmp_path / "x.idx", np.zeros((2, 2), np.uint8))
    (tmp_path / "x.idx").write_bytes((tmp_path / "x.idx").read_bytes() + b"extra")
    with pytest.raises(IdxError, match="trailing data"):
        read_idx(tmp_path / "x.idx")


def test_wrong_magic(tmp_path):
    (tmp_path / "bad.idx").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(IdxError, match=r"bad\.idx: not an IDX file \(bad magic"):
        read_idx(tmp_path / "bad.idx")


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd")
    (tmp_path / "c.gz").write_bytes(good[:12])
    with pytest.raises(IdxError, match=r"c\.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "c.gz")


def test_missing_file(tmp_path):
    with pytest.raises(IdxError, match="file not found"):
        read_idx(tmp_path / "nope.gz")


def test_label_image_count_mismatch_names_the_labels_file(tmp_path):
    write_idx(tmp_path / "img.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "lab.gz", np.zeros(4, np.uint8))
    with pytest.raises(IdxError, match=r"lab\.gz: holds 4 labels but img\.gz holds 5 images"):
        read_image_label_pair(tmp_path / "img.gz", tmp_path / "lab.gz")


def test_images_must_be_three_dimensional(tmp_path):
    write_idx(tmp_path / "img.gz", np.zeros((5, 784), np.uint8))
    write_idx(tmp_path / "lab.gz", np.zeros(5, np.uint8))
    with pytest.raises(IdxError, match="expected uint8 images of shape"):
        read_image_label_pair(tmp_path / "img.gz", tmp_path / "lab.gz")
