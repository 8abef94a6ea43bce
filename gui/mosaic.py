"""Tiling many small arrays into one image (one ImageItem draws a whole grid of kernels or maps)."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mosaic:
    image: np.ndarray  # 2-D float, NaN in the gaps (drawn transparent)
    rows: int
    cols: int
    cell: tuple[int, int]  # height, width of one tile
    gap: int

    def origin(self, index: int) -> tuple[int, int]:
        """Image coordinates (y, x) of tile ``index``'s top-left pixel."""
        row, col = divmod(index, self.cols)
        return row * (self.cell[0] + self.gap), col * (self.cell[1] + self.gap)

    def cell_at(self, y: float, x: float) -> tuple[int, int] | None:
        """(row, col) of the tile under image coordinates (y, x), or None in a gap or outside."""
        spot = self.locate(y, x)
        return spot[:2] if spot else None

    def locate(self, y: float, x: float) -> tuple[int, int, int, int] | None:
        """(row, col) of the tile under image coordinates (y, x) and the pixel (dy, dx) within it,
        or None in a gap or outside."""
        h, w = self.cell
        row, dy = divmod(int(y), h + self.gap)
        col, dx = divmod(int(x), w + self.gap)
        if y < 0 or x < 0 or row >= self.rows or col >= self.cols or dy >= h or dx >= w:
            return None
        return row, col, dy, dx


def tile(tiles: np.ndarray, cols: int, gap: int = 1) -> Mosaic:
    """Lay out ``tiles`` (n × h × w) row by row, ``cols`` per row."""
    n, h, w = tiles.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    image = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        image[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tiles[i]
    return Mosaic(image, rows, cols, (h, w), gap)


def tile_grid(grid: np.ndarray, gap: int = 1) -> Mosaic:
    """Lay out a rows × cols × h × w array as it stands (e.g. filters × input channels)."""
    rows, cols, h, w = grid.shape
    return tile(grid.reshape(rows * cols, h, w), cols, gap)
