"""Drawing → prediction latency inside the app, with real mouse strokes on the canvas.

    QT_QPA_PLATFORM=offscreen python -m bench.gui_latency

Each prediction's time covers rendering the canvas to 280×280, preprocessing and the network. The
map of why is on (as by default): it is computed when a stroke ends, and its time is reported too
(the GUI thread is busy that long once per stroke). Strokes come as a hand draws them, with a pen
lift of 0.1 s between them, and once back to back. Also reports how long the GUI thread spends per mouse move (painting
included), against the 16.7 ms of one frame at 60 Hz.
"""

import os
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from gui.app import create_application, freeze_startup_objects  # noqa: E402
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
        freeze_startup_objects()  # as the app does once its window is up
        canvas, tab = window.draw_tab.canvas, window.draw_tab
        for pen_lift_ms, what in ((100, "with a 0.1 s pen lift between strokes"), (0, "strokes back to back")):
            tab.latencies_ms.clear()
            tab.explain_ms.clear()
            moves, start = 0, time.perf_counter()
            for _ in range(20):
                for digit in (1, 4, 7):
                    draw_strokes(canvas, STROKES[digit], steps=15, pen_lift_ms=pen_lift_ms)
                    moves += sum(15 * (len(s) - 1) + 2 for s in STROKES[digit])
                    app.processEvents()
                    canvas.clear()
            per_move = (time.perf_counter() - start - 0.1 * 20 * (pen_lift_ms > 0)) * 1000 / moves
            latencies = np.array(tab.latencies_ms[5:])
            print(f"{what}: {len(latencies)} predictions while drawing: p50 {np.percentile(latencies, 50):.2f} ms, "
                  f"p95 {np.percentile(latencies, 95):.2f} ms, max {latencies.max():.2f} ms")
            print(f"  GUI thread per mouse event (painting and throttled predictions included): {per_move:.2f} ms")
            print(f"  map of why at each stroke's end ({len(tab.explain_ms)} maps): p50 {np.percentile(tab.explain_ms, 50):.1f} ms, "
                  f"p95 {np.percentile(tab.explain_ms, 95):.1f} ms")
        window.close()


if __name__ == "__main__":
    main()
