"""The Train tab's Batches page: what the network learns from. The first images of a training batch exactly
as the network is given them (augmented: turned, slanted, warped, some made a small scan), every few
batches, each framed in its kind's colour (MNIST, a pen drawing, a pen digit seen as a scan, a small scan
of the last stage), its label under it: green when the network read it right in that step, red with what
it read when not. Filled from ``BatchShown`` events, drawn when the page is seen."""

from PySide6.QtWidgets import QCheckBox

from engine.events import BatchShown
from gui.style import BAD, GOOD, MUTED
from gui.tile_page import TilePage, short_name

WAITING = ("The images of a training batch appear here when training starts, exactly as the network is given "
           "them, a new batch every few seconds.")
COLUMNS = 10
KIND_COLOURS = ("#9ca3af", "#1f77b4", "#ff7f0e", "#9467bd")  # the main set, pen drawings, pen scans, small scans
REDUCED_TIP = ", reduced to a small scan (or blocks) by Augment"


class BatchView(TilePage):
    def __init__(self, parent=None):
        super().__init__(WAITING, "batch", parent)
        self.header.setObjectName("batchHeader")
        self.shown: BatchShown | None = None
        self._pending: BatchShown | None = None  # the latest batch, drawn when the page is seen
        self.as_stored = QCheckBox("As stored, before augmentation")
        self.as_stored.setObjectName("batchAsStored")
        self.as_stored.setToolTip("The same images as the data set holds them: flip to see what Augment did to each")
        self.as_stored.toggled.connect(self._flip)
        self.layout().insertWidget(2, self.as_stored)  # under the note, over the pictures

    def reset(self) -> None:
        super().reset()
        self.shown = self._pending = None

    def show_batch(self, event: BatchShown) -> None:
        self._pending = event
        if self.isVisible():
            self._show_pending()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._show_pending()

    def _show_pending(self) -> None:
        event, self._pending = self._pending, None
        if event is None:
            return
        if len(self.pictures) != len(event.labels):
            self._clear()
            for i in range(len(event.labels)):
                self._add_tile(*divmod(i, COLUMNS))
        self.shown = event
        self.as_stored.setEnabled(event.augmented)  # else the two are the same
        self.draw_pictures(self._pictures_of(event))
        names, colours = event.class_names, dict(zip(event.kind_names, KIND_COLOURS))
        reduced = event.reduced or (False,) * len(event.labels)
        for picture, caption, label, answer, kind, small in zip(self.pictures, self.captions, event.labels, event.answers,
                                                                event.kinds, reduced):
            right = answer == label
            caption.setText(short_name(names[label]) if right else f"{short_name(names[label])}→{short_name(names[answer])}")
            caption.setStyleSheet(f"color: {GOOD if right else BAD}")
            # Made a small scan by Augment: the same colour, dashed, as a scan is the same digit with less of it.
            picture.setStyleSheet(f"border: 2px {'dashed' if small else 'solid'} {colours[kind]}")
            picture.setToolTip(f"{names[label]}, {kind}{REDUCED_TIP if small else ''}: read as {names[answer]} in this "
                               "step, before learning from it. Double-click to read it in the Draw tab.")
        right = sum(a == b for a, b in zip(event.answers, event.labels))
        where = "finishing on small scans" if event.last_stage else f"epoch {event.epoch:.2f}"
        self.header.setText(f"Step {event.step:,} ({where}): {right} of {len(event.labels)} read right before "
                            "learning from them")
        self.note.setText(self._note(event, colours))

    def _pictures_of(self, event: BatchShown):
        return event.stored if self.as_stored.isChecked() else event.images

    def _flip(self) -> None:
        """The batch shown, as stored or as given to the network."""
        if self.shown is not None:
            self.draw_pictures(self._pictures_of(self.shown))

    def _note(self, event: BatchShown, colours: dict) -> str:
        legend = " · ".join(f"<span style='color:{colours[kind]}'>■</span> {kind} {count}"
                            for kind, count in zip(event.kind_names, event.counts) if count)
        reduced = sum(event.reduced)
        if reduced:  # of the images shown: the whole batch's count is not sent
            legend += f"; a dashed frame: reduced to a small scan by Augment ({reduced} of these {len(event.labels)})"
        if event.last_stage:
            how = ("The last stage: half of each batch small binarised scans of the training writers' digits, half "
                   f"the run's usual images, augmented; {len(event.labels) // 2} of each shown.")
        elif event.augmented:
            how = ("Augment is on: each image is turned, slanted, scaled, moved and warped a little and its strokes "
                   "made bolder or thinner, a few reduced to a small scan, so the network never sees the same "
                   "picture twice.")
        else:
            how = ("Augment is off: the images are as stored, so every epoch shows the network the very same "
                   "pictures again, which is what over-fitting feeds on.")
        if event.warming_up:
            how = ("This epoch is MNIST alone (Pen warmup epochs): a network first learns digits fastest from MNIST; "
                   "the pen digits join in the next. " + how)
        return (f"<span style='color:{MUTED}'>The first {len(event.labels)} of a batch of {event.batch_size}, exactly "
                f"as the network is given them; the whole batch: {legend}. {how} Under each, its label: green when "
                "the network read it right in this step, red with what it read when not. Pause to look at one "
                "batch; double-click an image to read it in the Draw tab.</span>")

    def tile_source(self, index: int) -> str:
        stored = ", as stored" if self.as_stored.isChecked() else ""
        reduced = REDUCED_TIP if not stored and self.shown.reduced and self.shown.reduced[index] else ""
        return f"a training image of step {self.shown.step:,} ({self.shown.kinds[index]}{reduced}{stored})"

    def tile_label(self, index: int) -> str:
        return self.shown.class_names[self.shown.labels[index]]
