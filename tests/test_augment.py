"""On-device batch augmentation: deterministic per generator, in range, and its fast grid and stroke
filters equal to the PyTorch operations they replace."""

import torch
import torch.nn.functional as F

from engine.augment import AugmentSpec, max_filter3, _sampling_grid, _upsampling_matrix, augment_batch


def test_upsampling_matrix_equals_bicubic_interpolation():
    coarse = torch.randn(6, 2, 4, 4)
    expected = F.interpolate(coarse, size=(28, 28), mode="bicubic", align_corners=False)
    got = (coarse.view(12, 16) @ _upsampling_matrix(4, 28, 28, torch.device("cpu"))).view(6, 2, 28, 28)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_sampling_grid_equals_affine_grid_plus_upsampled_elastic_field():
    theta, elastic = torch.randn(6, 2, 3), torch.randn(6, 2, 4, 4)
    affine = F.affine_grid(theta, [6, 1, 28, 20], align_corners=False)
    field = F.interpolate(elastic, size=(28, 20), mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
    torch.testing.assert_close(_sampling_grid(theta, None, 28, 20), affine, atol=1e-5, rtol=0)
    torch.testing.assert_close(_sampling_grid(theta, elastic, 28, 20), affine + field, atol=1e-5, rtol=0)


def test_max_filter_equals_3x3_max_pooling():
    x = torch.rand(4, 1, 28, 20) - 0.5
    assert torch.equal(max_filter3(x), F.max_pool2d(x, 3, 1, 1))
    assert torch.equal(-max_filter3(-x), -F.max_pool2d(-x, 3, 1, 1))


def test_augmentation_is_reproducible_in_range_and_changes_the_images(small_mnist):
    x = small_mnist.train_images[:64].float().div(255).unsqueeze(1)
    first = augment_batch(x, torch.Generator().manual_seed(1))
    again = augment_batch(x, torch.Generator().manual_seed(1))
    other = augment_batch(x, torch.Generator().manual_seed(2))
    assert first.shape == x.shape and 0 <= first.min() and first.max() <= 1
    torch.testing.assert_close(first, again)
    assert (first - other).abs().mean() > 0.01
    assert (first - x).abs().mean() > 0.01


def test_no_augmentation_spec_keeps_the_images():
    x = torch.rand(8, 1, 28, 28)
    still = AugmentSpec(rotate_deg=0, shear=0, zoom=(1, 1), aspect=0, shift_px=0, elastic_px=0, thickness=0, lowres=0)
    torch.testing.assert_close(augment_batch(x, torch.Generator().manual_seed(0), still), x, atol=1e-5, rtol=0)


def test_low_resolution_views_are_blurred_or_binarised_and_keep_most_ink(small_mnist):
    """With every image picked, each comes back seen at low resolution: grey (smoothed, or zoomed by
    repeating pixels so rows of ink repeat) or binarised (only 0 and 1), never cut down to under half
    its ink."""
    x = small_mnist.train_images[:256].float().div(255).unsqueeze(1)
    still = dict(rotate_deg=0, shear=0, zoom=(1, 1), aspect=0, shift_px=0, elastic_px=0, thickness=0)
    for seed in range(6):  # one size per batch: several batches see several sizes
        y = augment_batch(x, torch.Generator().manual_seed(seed), AugmentSpec(**still, lowres=1.0))
        binary = ((y == 0) | (y == 1)).flatten(1).all(1)
        assert 0.2 < binary.float().mean() < 0.8
        assert not torch.equal(y[~binary], x[~binary])
        grey = y[~binary, 0]
        inked_rows = grey.amax(2) > 0
        repeated_rows = ((grey[:, 1:] == grey[:, :-1]).all(2) & inked_rows[:, 1:]).sum(1)
        assert 0.2 < (repeated_rows >= 2).float().mean() < 0.8  # blocks: a row of cells is 2–4 px high
        # Half the ink of the small picture, which has about the ink of the original (area averaging).
        assert (y.sum((1, 2, 3)) >= 0.4 * x.sum((1, 2, 3))).all()
        none = augment_batch(x, torch.Generator().manual_seed(seed), AugmentSpec(**still, lowres=0.0))
        torch.testing.assert_close(none, x, atol=1e-5, rtol=0)


def test_augment_says_which_images_it_made_a_small_scan(small_mnist):
    """The images not picked for a low resolution are exactly what augmenting without it gives (its draws come
    after the others'); those picked differ."""
    x = small_mnist.train_images[:256].float().div(255).unsqueeze(1)
    with_scans, reduced = augment_batch(x, torch.Generator().manual_seed(3), AugmentSpec(lowres=0.5), return_reduced=True)
    without = augment_batch(x, torch.Generator().manual_seed(3), AugmentSpec(lowres=0.0))
    assert reduced.shape == (256,) and reduced.dtype == torch.bool and 0.35 < reduced.float().mean() < 0.65
    torch.testing.assert_close(with_scans[~reduced], without[~reduced])
    assert all(not torch.equal(a, b) for a, b in zip(with_scans[reduced], without[reduced]))
    _, none = augment_batch(x, torch.Generator().manual_seed(3), AugmentSpec(lowres=0.0), return_reduced=True)
    assert not none.any()
