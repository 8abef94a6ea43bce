"""What each filter looks for: receptive fields, the strongest patches, and their cache."""

import numpy as np
import torch

from engine.filters import cached_top_patches, receptive_fields, top_patches
from engine.models import ZOO, build_model
from engine.predict import Predictor


def test_receptive_fields_of_the_zoo():
    digitnet = receptive_fields(build_model("digitnet"))
    assert [(f.size, f.jump) for f in digitnet[:3]] == [(3, 1), (8, 2), (12, 2)]
    assert digitnet[0].box(5, 7) == (4, 6)  # a padded 3×3 conv: unit (5, 7) sees pixels 4..6, 6..8
    assert [(f.size, f.jump) for f in receptive_fields(build_model("seed001"))] == [(3, 1), (8, 2), (18, 4)]
    for name in ZOO:
        assert len(receptive_fields(build_model(name))) == len(build_model(name).conv_blocks())


def test_the_strongest_patch_is_what_the_strongest_unit_sees(mnist):
    predictor = Predictor.load()
    images = mnist.test_images[:400].float() / 255
    conv1, conv2 = top_patches(predictor.model, images)
    block = predictor.model.conv_blocks()[0]
    assert conv1.shape == (block.conv.out_channels, 9, 3, 3) and conv2.shape[1:] == (9, 8, 8)
    with torch.no_grad():
        maps = block(images.unsqueeze(1))  # N × C × 28 × 28
        peaks = maps.flatten(2).max(2).values  # each image's strongest response per filter
        for c in range(4):
            # The first block applied to the patch alone reproduces the strongest unit's value…
            patch = torch.from_numpy(conv1[c, 0]).reshape(1, 1, 3, 3)
            assert torch.isclose(block(patch)[0, c, 1, 1], peaks[:, c].max(), atol=1e-4)
            # …and the nine patches come from the nine images that excite the filter most.
            strongest = torch.stack([block(torch.from_numpy(p).reshape(1, 1, 3, 3))[0, c, 1, 1] for p in conv1[c]])
            assert torch.allclose(strongest, peaks[:, c].topk(9).values, atol=1e-4)
    assert (conv2.reshape(len(conv2), 9, -1).max(2) > 0.5).all()  # every conv2 patch holds ink


def test_patches_are_cached_by_weights_and_a_damaged_cache_is_recomputed(mnist, tmp_path):
    model = build_model("seed003").eval()
    images = mnist.test_images[:50].float() / 255
    first = cached_top_patches(model, images, tmp_path)
    (cached,) = tmp_path.glob("*.npz")
    again = cached_top_patches(model, images[:10], tmp_path)  # other images: only the cache can give the same
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    cached.write_bytes(b"not an npz")
    assert all(np.array_equal(a, b) for a, b in zip(first, cached_top_patches(model, images, tmp_path)))
    with torch.no_grad():
        model.conv_blocks()[0].conv.weight.mul_(-1)
    cached_top_patches(model, images, tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2  # other weights, another entry


def test_a_search_stopped_part_way_gives_nothing_and_caches_nothing(mnist, tmp_path):
    predictor, images = Predictor.load(), mnist.test_images[:2500].float() / 255  # three batches of 1,000
    asked = []

    def stop_after_one_batch() -> bool:
        asked.append(True)
        return len(asked) > 1

    assert cached_top_patches(predictor.model, images, tmp_path, stop_after_one_batch) is None
    assert len(asked) == 2 and not list(tmp_path.iterdir())  # checked between batches; no half result kept
    assert len(cached_top_patches(predictor.model, images, tmp_path)) == 2 and len(list(tmp_path.iterdir())) == 1
