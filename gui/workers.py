"""Long work off the GUI thread: a worker object moved to a QThread, reporting through signals."""

import logging
import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from engine.train import Trainer

log = logging.getLogger(__name__)


class WorkStopped(Exception):
    """Raised by a FunctionWorker's function to end early once its ``stopping`` is set (the window
    closing): no error, so the worker reports no outcome, only ``done``."""


class Worker(QObject):
    """Base of the workers: ``finish()`` ends ``run`` by handing the object back to the GUI thread,
    emitting its outcome, then ``done``, so that it is deleted there. Deleted in its own thread, a Python
    QObject asks Python about its overrides while Qt holds a connection lock, and deadlocks against a GUI
    thread that holds Python's lock while connecting something (seen while taking screenshots).

    The outcome is emitted only once the worker belongs to the GUI thread: PySide6 calls a slot that is not
    a QObject's method (a lambda, a function) in the thread of the object that emits, so emitted from the
    worker's thread, a ``lambda result: …`` would have run there, off the GUI thread."""

    done = Signal()

    def finish(self, outcome: tuple | None = None) -> None:
        """``outcome``: (signal, value) to emit first, e.g. (self.succeeded, result)."""
        self.moveToThread(QCoreApplication.instance().thread())
        if outcome is not None:
            signal, value = outcome
            signal.emit(value)
        self.done.emit()


class FunctionWorker(Worker):
    """Runs one function in its thread; emits ``succeeded(result)`` or ``failed(exception)`` (the
    exception object itself, as napari's workers do), then ``done``. The function may report how far
    it got through ``report(text)`` (``progress``), and show what it has so far through ``partial(object)``;
    asked to ``stop()``, it ends at its next report, or raises WorkStopped where it checks ``stopping``."""

    succeeded = Signal(object)
    failed = Signal(object)
    progress = Signal(str)
    partial = Signal(object)

    def __init__(self, function, *args):
        super().__init__()
        self._function, self._args = function, args
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def report(self, text: str) -> None:
        """From the work: how far it got, shown on the GUI thread; WorkStopped instead once ``stop()`` was
        asked, so that work reporting its progress ends at its next report."""
        if self.stopping.is_set():
            raise WorkStopped
        self.progress.emit(text)

    @Slot()
    def run(self) -> None:
        outcome = None
        try:
            outcome = (self.succeeded, self._function(*self._args))
        except WorkStopped:
            pass  # asked to end early: nothing to report
        except Exception as exc:  # reported to the user, never lost in a thread
            log.exception("%s failed", QThread.currentThread().objectName() or getattr(self._function, "__name__", "work"))
            outcome = (self.failed, exc)
        finally:
            self.finish(outcome)


class TrainingWorker(Worker):
    """Runs a ``Trainer``; every engine event arrives on the GUI thread through ``event``."""

    event = Signal(object)

    def __init__(self, trainer: Trainer):
        super().__init__()
        self.trainer = trainer
        trainer.on_event = self.event.emit  # queued across threads: the engine never waits for the GUI

    @Slot()
    def run(self) -> None:
        try:
            self.trainer.run()
        finally:
            self.finish()


class JobWorker(Worker):
    """Runs a job with several runs (a Comparison, a Search) in its thread: ``make_job(emit)`` builds it in
    that thread, and every run's event arrives on the GUI thread as ``event(index, event)``; ``job`` is
    there to pause or stop it."""

    event = Signal(int, object)
    failed = Signal(object)

    def __init__(self, make_job):
        super().__init__()
        self._make_job = make_job
        self.job = None

    def stop(self) -> None:
        """Stop the job (safe from the GUI thread; nothing to do before the job exists)."""
        if self.job:
            self.job.stop()

    @Slot()
    def run(self) -> None:
        outcome = None
        try:
            self.job = self._make_job(self.event.emit)
            self.job.run()
        except Exception as exc:  # reported to the user, never lost in a thread
            log.exception("%s failed", type(self.job).__name__ if self.job else "job")
            outcome = (self.failed, exc)
        finally:
            self.finish(outcome)


class StopsAndWaits:
    """For a panel that runs one worker at a time on ``self._thread`` (``running``, ``stop()``): stop it
    and wait for it to save what it made, as the window does before it closes."""

    def stop_and_wait(self, timeout_ms: int = 60_000) -> None:
        if self.running:
            thread = self._thread
            self.stop()
            thread.wait(timeout_ms)


def start_in_thread(worker: QObject, parent: QObject, name: str) -> QThread:
    """Move ``worker`` to a new thread, run it, and dispose of both when it is done."""
    thread = QThread(parent)
    thread.setObjectName(name)
    # The worker lives as long as its thread (owned by ``parent``), whatever its starter keeps: a tab that
    # forgets a worker it no longer wants (a map of the result before) dropped the last reference to it while
    # it ran, and Python's collector deleted it under its own thread (a crash, seen once in the test suite).
    thread.worker = worker
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: QThread.quit is thread-safe, and the GUI thread may be blocked in thread.wait()
    # (closing the window mid-run), so a queued quit would never arrive.
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.done.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
