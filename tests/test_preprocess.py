import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from engine.preprocess import (
    CENTRE, NOTHING_DRAWN, ONLY_A_DOT, crop_to_sheet, erase_neighbours, erase_ruling, even_out_lighting, find_paper, native_grid, prepare_digits, prepare_image, read_image,
    small_scan,
)
from engine.strokes import Stroke, render_strokes


def seven(size=280, width=18, offset=(0, 0), ink=0, paper=255, scale=1.0):
    img = Image.new("L", (size, size), paper)
    ox, oy = offset
    pts = [(ox + size * (0.35 + (x - 0.35) * scale), oy + size * (0.2 + (y - 0.2) * scale))
           for x, y in [(0.35, 0.2), (0.65, 0.2), (0.45, 0.8)]]
    ImageDraw.Draw(img).line(pts, fill=ink, width=width, joint="curve")
    return img


def centre_of_mass(pixels):
    ys, xs = np.indices(pixels.shape)
    return (ys * pixels).sum() / pixels.sum(), (xs * pixels).sum() / pixels.sum()


def bounding_box(pixels, level=0.2):
    rows, cols = np.flatnonzero((pixels > level).any(1)), np.flatnonzero((pixels > level).any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_output_is_mnist_shaped_white_on_black():
    out = prepare_image(seven())
    assert out.pixels.shape == (28, 28) and out.pixels.dtype == np.float32
    assert out.pixels.max() == pytest.approx(1.0, abs=0.05) and out.pixels.min() == 0.0
    assert out.pixels[0].sum() == 0 and out.pixels[:, 0].sum() == 0  # black border, like MNIST
    assert max(bounding_box(out.pixels)) == 20


def test_ink_polarity_is_detected():
    dark_on_light = prepare_image(seven(ink=0, paper=255)).pixels
    light_on_dark = prepare_image(seven(ink=255, paper=0)).pixels
    grey_paper = prepare_image(seven(ink=20, paper=200)).pixels
    assert np.abs(dark_on_light - light_on_dark).max() < 0.02
    assert np.abs(dark_on_light - grey_paper).max() < 0.1


def lit_from_one_side(image, darkest: float, axis: int = 1) -> np.ndarray:
    """A photo of the page with the light falling off to ``darkest`` across it."""
    pixels = np.asarray(image, np.float32)
    shape = [1, 1]
    shape[axis] = pixels.shape[axis]
    return (pixels * np.linspace(darkest, 1.0, pixels.shape[axis]).reshape(shape)).astype(np.uint8)


@pytest.mark.parametrize("darkest,axis", [(0.55, 1), (0.3, 0)])
def test_a_page_lit_from_one_side_is_read_as_if_evenly_lit(darkest, axis):
    even = prepare_image(seven()).pixels
    photo = lit_from_one_side(seven(), darkest, axis)
    assert np.abs(prepare_image(photo).pixels - even).mean() < 0.02
    glowing = np.clip(255 - np.asarray(seven(), np.float32) * 0.8 + np.linspace(0, 90, 280)[None, :], 0, 255).astype(np.uint8)
    assert np.abs(prepare_image(glowing).pixels - even).mean() < 0.02  # light ink on a screen lit unevenly


@pytest.mark.parametrize("width", [18, 60])
def test_an_evenly_lit_picture_is_left_as_it_is(width):
    gray = np.asarray(seven(width=width), np.float32) / 255
    assert even_out_lighting(gray, dark_ink=True) is gray  # bold strokes on an even page are not "shadows"
    small = gray[::10, ::10]
    assert even_out_lighting(small, dark_ink=True) is small  # scans and crops: too small to judge


def test_bold_strokes_cropped_tightly_keep_their_polarity():
    bold = np.asarray(seven(width=60), np.uint8)
    rows, cols = np.flatnonzero((bold < 128).any(1)), np.flatnonzero((bold < 128).any(0))
    tight = bold[rows[0] - 3: rows[-1] + 4, cols[0] - 3: cols[-1] + 4]
    assert find_paper(np.asarray(tight, np.float32) / 255).dark_ink
    assert np.abs(prepare_image(tight).pixels - prepare_image(bold).pixels).mean() < 0.03
    assert not find_paper(1 - np.asarray(tight, np.float32) / 255).dark_ink  # and the same, inverted


def test_ruled_and_squared_paper_lose_their_lines_when_read_from_a_file(tmp_path):
    page = np.full((420, 420), 255, np.uint8)
    page[70:350, 70:350] = np.asarray(seven(), np.uint8)
    clean = prepare_image(page).pixels
    ruled, squared = page.copy(), page.copy()
    ruled[250:253] = np.minimum(ruled[250:253], 150)  # through the 7's stem
    for at in range(60, 420, 80):
        squared[at:at + 2] = np.minimum(squared[at:at + 2], 170)
        squared[:, at:at + 2] = np.minimum(squared[:, at:at + 2], 170)
    for name, picture in (("ruled", ruled), ("squared", squared)):
        Image.fromarray(picture).save(tmp_path / f"{name}.png")
        assert np.abs(prepare_image(picture).pixels - clean).mean() > 0.05  # the lines spoil the crop
        assert np.abs(prepare_image(read_image(tmp_path / f"{name}.png")).pixels - clean).mean() < 0.02, name
    gray = read_image(tmp_path / "ruled.png")
    assert gray[251, 5] > 0.95 and gray[251, 211] < 0.3  # the line is gone, the stem that crosses it is not
    turned = lambda a: np.asarray(Image.fromarray(a).rotate(2, resample=Image.Resampling.BILINEAR, fillcolor=255))
    Image.fromarray(turned(squared)).save(tmp_path / "turned.png")  # a hand-held photo: the lines slope
    assert np.abs(prepare_image(read_image(tmp_path / "turned.png")).pixels - prepare_image(turned(page)).pixels).mean() < 0.02


def test_a_phone_photo_stored_sideways_is_read_upright(tmp_path):
    upright = seven(width=24)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera's pixels must be turned 90° clockwise to be seen upright
    upright.rotate(90, expand=True).save(tmp_path / "photo.jpg", exif=exif.tobytes(), quality=95)
    upright.resize((2800, 2800)).rotate(90).save(tmp_path / "large.jpg", exif=exif.tobytes(), quality=95)
    want, sideways = prepare_image(upright).pixels, prepare_image(upright.rotate(90, expand=True)).pixels
    for name in ("photo.jpg", "large.jpg"):  # the large one is also reduced on reading
        read = prepare_image(read_image(tmp_path / name)).pixels
        assert np.abs(read - want).mean() < 0.04 < np.abs(read - sideways).mean(), name


def test_a_sheet_photographed_on_a_dark_desk_is_cropped_to_the_sheet(tmp_path):
    sheet = np.asarray(seven(), np.uint8)
    desk = np.full((400, 400), 80, np.uint8)
    desk[60:340, 60:340] = sheet
    Image.fromarray(desk).save(tmp_path / "desk.png")
    assert np.abs(prepare_image(desk).pixels - prepare_image(sheet).pixels).mean() > 0.05  # the desk spoils it
    assert np.abs(prepare_image(read_image(tmp_path / "desk.png")).pixels - prepare_image(sheet).pixels).mean() < 0.02
    light_digit = 1 - np.asarray(seven(width=60), np.float32) / 255  # bold, light on dark: not a sheet
    assert crop_to_sheet(light_digit) is light_digit
    askew = np.asarray(Image.fromarray(desk).rotate(5, resample=Image.Resampling.BILINEAR, fillcolor=80))
    cropped = crop_to_sheet(np.asarray(askew, np.float32) / 255)
    edges = (cropped[:, :2], cropped[:, -2:], cropped[:2], cropped[-2:])
    assert min(np.percentile(edge, 1) for edge in edges) > 0.9  # photographed askew: no desk left in the corners


def test_a_digit_that_reaches_the_edges_keeps_its_strokes():
    gray = np.asarray(seven(width=30), np.float32) / 255
    rows, cols = np.flatnonzero((gray < 0.5).any(1)), np.flatnonzero((gray < 0.5).any(0))
    tight = np.ascontiguousarray(gray[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1])  # the bar spans the picture
    assert erase_ruling(tight) is tight


def test_pieces_of_neighbouring_digits_at_the_sides_are_painted_over(tmp_path):
    page = np.asarray(seven(), np.uint8)  # the 7 spans columns 98-191 of 280
    before, after = np.full_like(page, 255), np.full_like(page, 255)
    before[:, :110] = page[:, 170:]  # the end of the 7 before it: its bar's tip and stem's top, at the left edge
    after[:, 250:] = page[:, 98:128]  # the start of the 7 after it: its bar's left end, at the right edge
    cropped = np.minimum(np.minimum(page, before), after)
    Image.fromarray(cropped).save(tmp_path / "from-a-number.png")
    clean = prepare_image(page).pixels
    assert np.abs(prepare_image(cropped).pixels - clean).mean() > 0.05  # the pieces spoil the crop
    gray = read_image(tmp_path / "from-a-number.png")
    assert gray[:, :40].min() > 0.95 and gray[:, -30:].min() > 0.95  # both pieces are gone…
    assert np.abs(prepare_image(gray).pixels - clean).mean() < 0.01  # …and the digit is untouched
    # Left alone: a scan cropped to its ink, broken into pieces (no paper above and below), and a
    # digit with nothing beside it.
    rows = np.flatnonzero((cropped < 128).any(1))
    tight = np.ascontiguousarray(cropped[rows[0]: rows[-1] + 1], np.float32) / 255
    assert erase_neighbours(tight) is tight
    alone = page.astype(np.float32) / 255
    assert erase_neighbours(alone) is alone
    blank = np.ones((280, 280), np.float32)
    assert erase_neighbours(blank) is blank
    scan = np.ones((8, 8), np.float32)
    scan[2:6, [0, 1, 3, 4, 6, 7]] = 0  # a wide digit's 8×8 binary scan, its strokes broken apart…
    zoomed = np.repeat(np.repeat(scan, 35, 0), 35, 1)  # …enlarged by repeating pixels, paper above and below
    assert erase_neighbours(zoomed) is zoomed


def test_a_number_cropped_close_at_its_sides_keeps_the_digits_at_its_ends(tmp_path):
    page = np.asarray(seven(), np.uint8)
    cols = np.flatnonzero((page < 128).any(0))
    digit = page[:, cols[0]:cols[-1] + 1]
    gap = np.full((280, 40), 255, np.uint8)
    for count in (2, 3):  # "77", "777"
        number = np.hstack([digit] + [gap, digit] * (count - 1))
        # A thin margin of paper at each side, the first 7 at the very edge, or both end digits at the edges.
        for left, right in ((3, 3), (0, 3), (0, 0)):
            Image.fromarray(np.pad(number, ((0, 0), (left, right)), constant_values=255)).save(tmp_path / "77.png")
            gray = read_image(tmp_path / "77.png")
            assert (gray[:, :left + 20] < 0.5).any() and (gray[:, -right - 20:] < 0.5).any()  # not painted over
            assert len(prepare_digits(gray)) == count


def test_pieces_of_the_lines_above_and_below_are_painted_over(tmp_path):
    page = np.asarray(seven(), np.uint8)  # the 7 spans rows 47-233 of 280
    rows = np.flatnonzero((page < 128).any(1))
    above, below = np.full_like(page, 255), np.full_like(page, 255)
    above[:30] = page[rows[-1] - 29: rows[-1] + 1]  # the foot of a 7 on the line above, at the top edge
    below[-30:] = page[rows[0]: rows[0] + 30]  # the bar of a 7 on the line below, at the bottom edge
    cropped = np.minimum(np.minimum(page, above), below)
    Image.fromarray(cropped).save(tmp_path / "from-a-page.png")
    clean = prepare_image(page).pixels
    assert np.abs(prepare_image(cropped).pixels - clean).mean() > 0.05
    gray = read_image(tmp_path / "from-a-page.png")
    assert gray[:35].min() > 0.95 and gray[-35:].min() > 0.95
    assert np.abs(prepare_image(gray).pixels - clean).mean() < 0.01
    # A digit that reaches the sides keeps its pieces above and below: it may be a scan cropped to its ink.
    cols = np.flatnonzero((cropped < 128).any(0))
    tight = np.ascontiguousarray(cropped[:, cols[0]: cols[-1] + 1], np.float32) / 255
    assert erase_neighbours(tight) is tight


def test_pieces_at_a_side_and_at_the_top_together_are_painted_over(tmp_path):
    page = np.asarray(seven(), np.uint8)
    rows = np.flatnonzero((page < 128).any(1))
    above, after = np.full_like(page, 255), np.full_like(page, 255)
    above[:30] = page[rows[-1] - 29: rows[-1] + 1]  # the foot of a 7 on the line above
    after[:, 250:] = page[:, 98:128]  # the bar's end of the 7 after it: each piece blocks the other's margin
    cropped = np.minimum(np.minimum(page, above), after)
    Image.fromarray(cropped).save(tmp_path / "from-a-corner.png")
    gray = read_image(tmp_path / "from-a-corner.png")
    assert gray[:35].min() > 0.95 and gray[:, -30:].min() > 0.95
    assert np.abs(prepare_image(gray).pixels - prepare_image(page).pixels).mean() < 0.01


def test_rgb_and_rgba_inputs():
    base = prepare_image(seven()).pixels
    rgb = seven().convert("RGB")
    assert np.abs(prepare_image(rgb).pixels - base).max() < 0.02
    # Black strokes on a transparent background, and white strokes on transparent.
    alpha = 255 - np.asarray(seven())
    for colour in (0, 255):
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = alpha
        assert np.abs(prepare_image(rgba).pixels - base).max() < 0.05


def test_off_centre_drawing_is_centred_by_mass():
    centred = prepare_image(seven()).pixels
    corner = prepare_image(seven(offset=(-80, 70), scale=0.6)).pixels
    assert np.allclose(centre_of_mass(corner), (CENTRE, CENTRE), atol=0.6)
    assert np.abs(centred - corner).mean() < 0.05


def test_tiny_drawing_is_scaled_up_to_the_20_pixel_box():
    tiny = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(tiny).line([(130, 130), (140, 130), (133, 145)], fill=0, width=2)
    out = prepare_image(tiny).pixels
    assert max(bounding_box(out)) == 20
    assert np.allclose(centre_of_mass(out), (CENTRE, CENTRE), atol=0.6)


def test_thin_pen_is_thickened_to_mnist_stroke_width():
    thin = prepare_image(seven(width=3)).pixels
    thick = prepare_image(seven(width=18)).pixels
    # Ink mass per image: MNIST's median is about 100; a 3 px pen on a 280 px canvas would give ~20.
    assert thin.sum() > 0.6 * thick.sum()
    assert 50 < thin.sum() < 200


def test_aspect_ratio_is_kept():
    one = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(one).line([(140, 40), (140, 240)], fill=0, width=16)
    h, w = bounding_box(prepare_image(one).pixels)
    assert h == 20 and w <= 4


def test_small_scan_fits_the_ink_into_a_few_pixels_keeping_its_shape():
    one = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(one).line([(140, 40), (140, 240)], fill=0, width=30)
    grey, binary = small_scan(one, 8), small_scan(one, 8, threshold=0.5)
    assert grey.shape == binary.shape == (8, 8) and 0 <= grey.min() and grey.max() <= 1
    assert set(np.unique(binary)) <= {0.0, 1.0} and np.array_equal(binary, (grey > 0.5).astype(np.float32))
    assert (binary.any(1)).all() and binary.any(0).sum() <= 2  # the full height, one or two columns wide
    assert bounding_box(prepare_image(binary).pixels)[0] == 20  # and back up to MNIST's box
    stretched = small_scan(one, 8, threshold=0.5, stretch=True)  # filling the square: a block, not a bar
    assert stretched.shape == (8, 8) and stretched.any(0).all() and stretched.any(1).all()


def _enlarged(small: np.ndarray, height: int, width: int, how: str) -> np.ndarray:
    if how == "pillow":
        return np.asarray(Image.fromarray(small, "F").resize((width, height), Image.Resampling.NEAREST))
    return F.interpolate(torch.from_numpy(small)[None, None], size=(height, width), mode=how).numpy()[0, 0]


@pytest.mark.parametrize("how", ["pillow", "nearest", "nearest-exact"])
@pytest.mark.parametrize("shape, size", [((8, 8), (28, 28)), ((8, 8), (80, 80)), ((16, 16), (28, 28)),
                                         ((8, 5), (28, 18)), ((12, 9), (173, 130))])
def test_a_picture_enlarged_by_repeating_pixels_is_read_at_its_own_size(shape, size, how):
    """An 8×8 scan zoomed to 28 px (cells of 3 and 4 lines) or to 80 px: back to the same 8×8, alike
    neighbouring cells and all, so it reads as the scan itself, and the map of why lands on the
    enlarged picture."""
    rng = np.random.default_rng(sum(shape) + sum(size))
    small = rng.integers(0, 5, shape).astype(np.float32) / 4
    small[:, 0] = small[0] = 0.0  # paper around the ink
    big = _enlarged(small, *size, how)
    gray, cell_h, cell_w = native_grid(big)
    assert np.array_equal(gray, small)
    assert (cell_h, cell_w) == (size[0] / shape[0], size[1] / shape[1])
    read_small, read_big = prepare_image(small), prepare_image(big)
    assert np.array_equal(read_small.pixels, read_big.pixels)
    assert read_big.frame == pytest.approx((read_small.frame[0] * cell_w, read_small.frame[1] * cell_h,
                                            read_small.frame[2] * cell_w, read_small.frame[3] * cell_h))


def test_drawings_and_small_scans_are_not_taken_for_enlargements():
    binary_scan = small_scan(seven(), 8, threshold=0.5)
    for picture in (np.asarray(seven(), np.float32) / 255, binary_scan, small_scan(seven(), 16),
                    np.asarray(seven(size=28, width=2), np.float32) / 255):
        assert native_grid(picture)[0] is picture
    # Enlarged only one way, or less than 1.5×: not a zoom of a smaller picture.
    assert native_grid(np.repeat(binary_scan, 4, axis=0))[0].shape == (32, 8)
    assert native_grid(_enlarged(small_scan(seven(), 16, threshold=0.5), 20, 20, "pillow"))[0].shape == (20, 20)


@pytest.mark.parametrize("image", [
    np.full((280, 280), 255, np.uint8), np.zeros((50, 80), np.uint8), np.full((28, 28), 0.4, np.float32),
    np.zeros((64, 64, 4), np.uint8),
])
def test_no_ink_means_nothing_drawn(image):
    out = prepare_image(image)
    assert out.empty and out.pixels is None and out.message == NOTHING_DRAWN


def _tap(pen: float, move: float = 0.0) -> np.ndarray:
    return render_strokes([Stroke(np.array([[0.5, 0.5], [0.5 + move * pen, 0.5]]), pen)])


@pytest.mark.parametrize("image", [
    _tap(0.065), _tap(0.14, 0.5), _tap(0.03), np.pad(np.ones((1, 1), np.float32), 3), np.pad(np.ones((2, 2), np.float32), 5),
])
def test_a_tap_of_the_pen_or_a_speck_is_only_a_dot(image):
    """Fitted into the 20 px box, a dot would become a filled disc that the network reads as a 0."""
    out = prepare_image(image)
    assert out.empty and out.message == ONLY_A_DOT


def test_short_strokes_and_the_boldest_mnist_digits_are_not_dots(mnist):
    for image in (_tap(0.065, 2), _tap(0.14, 2), np.pad(np.ones((3, 1), np.float32), 3), small_scan(_tap(0.065, 3), 8, 0.5)):
        assert not prepare_image(image).empty
    ink = mnist.test_images.float().flatten(1)
    bold = mnist.test_images[(ink > 127).sum(1).argsort(descending=True)[:20]]  # the most ink
    assert not any(prepare_image(255 - image.numpy()).empty for image in bold)


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    """MNIST is already framed this way, so preprocessing changes it little (it only thickens the
    rare digit drawn thinner than nearly all others)."""
    correlations = []
    for image in mnist.test_images[:300]:
        original = image.numpy().astype(np.float32) / 255
        again = prepare_image(image.numpy()).pixels
        correlations.append(np.corrcoef(original.ravel(), again.ravel())[0, 1])
    assert np.median(correlations) > 0.97
    assert np.percentile(correlations, 5) > 0.9


def test_unsupported_arrays_and_unreadable_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="grayscale, RGB or RGBA"):
        prepare_image(np.zeros((10, 10, 2)))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"notes.png: not a readable image: not a picture in a format the app reads \(PNG"):
        read_image(tmp_path / "notes.png")
    whole = io.BytesIO()
    Image.new("L", (64, 64), 255).save(whole, "PNG")
    for kept in (len(whole.getvalue()) - 40, 8):  # a download or a copy that stopped short, late or early
        (tmp_path / "cut.png").write_bytes(whole.getvalue()[:kept])
        with pytest.raises(ValueError, match="cut.png: not a readable image: damaged or cut short"):
            read_image(tmp_path / "cut.png")
    with pytest.raises(ValueError, match="file not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="a folder, not a picture"):
        read_image(tmp_path)
    locked = tmp_path / "locked.png"
    Image.new("L", (8, 8)).save(locked)

    def open_locked(*_args, **_kwargs):  # as a file another user owns (tests may run as root, whom no mode stops)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", open_locked)
    with pytest.raises(ValueError, match="locked.png: no permission to read this file"):
        read_image(locked)
