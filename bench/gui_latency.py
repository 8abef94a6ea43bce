"""Drawing → prediction latency inside the app, with real mouse strokes on the canvas.

    QT_QPA_PLATFORM=offscreen python -m bench.gui_latency

Each prediction's time covers rendering the canvas to 280×280, preprocessing and the network.
Also reports how long the GUI thread spends per mouse move (painting included), against the
16.7 ms of one frame at 60 Hz.
"""

import os
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from gui.app import create_application  # noqa: E402
from gui.automation import STROKES, draw_strokes  # noqa: E402


def main() -> None:
    app = create_application()
    from gui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"), QSettings.Format.IniFormat))
        window.resize(1200, 800)
        window.show()
        QTest.qWaitForWindowExposed(window)
        window.active.predictor.warm_up()
        canvas, tab = window.draw_tab.canvas, window.draw_tab
        moves, start = 0, time.perf_counter()
        for _ in range(20):
            for digit in (1, 4, 7):
                draw_strokes(canvas, STROKES[digit], steps=15)
                moves += sum(15 * (len(s) - 1) + 2 for s in STROKES[digit])
                app.processEvents()
                canvas.clear()
        per_move = (time.perf_counter() - start) * 1000 / moves
        latencies = np.array(tab.latencies_ms[5:])
        print(f"{len(latencies)} predictions while drawing: p50 {np.percentile(latencies, 50):.2f} ms, "
              f"p95 {np.percentile(latencies, 95):.2f} ms, max {latencies.max():.2f} ms")
        print(f"GUI thread per mouse event (painting and throttled predictions included): {per_move:.2f} ms")
        window.close()


if __name__ == "__main__":
    main()
