"""The Train tab's Predictions page: a few validation digits that the run never trains on, and the
network's answer to each as it learns (as ConvNetJS's MNIST demo shows), green when right and red
when wrong; an answer that changed since the last look is in bold. Filled from ``Watched`` events."""

import numpy as np

from engine.datasets import are_digits, class_noun, items_noun
from engine.events import Watched
from gui.style import BAD, GOOD, names_are_words
from gui.tile_page import TilePage, short_name

WAITING = "The network's answers to a few validation digits it never trains on appear here when training starts, and change as it learns."


class WatchedView(TilePage):
    def __init__(self, parent=None):
        super().__init__(WAITING, "predictions", parent)
        self.header.setObjectName("watchedHeader")
        self.shown: Watched | None = None

    def reset(self) -> None:
        super().reset()
        self.shown = None

    def show_answers(self, event: Watched) -> None:
        same_images = (self.shown is not None and self.shown.labels == event.labels
                       and np.array_equal(self.shown.images, event.images))
        before = self.shown.probabilities.argmax(1) if same_images else None
        between = "\n" if names_are_words(event.class_names) else " "  # a word and its share side by side outgrow a tile
        if not same_images:
            self._build(event)
        self.shown = event
        names = event.class_names
        answers = event.probabilities.argmax(1)
        right = int((answers == np.asarray(event.labels)).sum())
        noun = items_noun(names)
        self.header.setText(f"{right} of {len(answers)} {noun} read right · step {event.step:,} (epoch {event.epoch:.2f})")
        self.note.setText(f"{noun.capitalize()} of {event.source}, {len(answers) // len(names)} of each "
                          f"{class_noun(names)} (a column each), read by the network as it is now: its answer under "
                          "each, green when right, red when wrong, in bold when it changed since the last look. "
                          "Hover over one for its top three; double-click it to see why in the Draw tab, read by the "
                          "active model (the run's, once it ends).")
        for i, (picture, caption) in enumerate(zip(self.pictures, self.captions)):
            answer, truth = int(answers[i]), event.labels[i]
            colour = GOOD if answer == truth else BAD
            changed = before is not None and before[i] != answer
            caption.setText(f"{short_name(names[answer])}{between}{event.probabilities[i, answer]:.0%}")
            caption.setStyleSheet(f"color: {colour}" + ("; font-weight: bold" if changed else ""))
            picture.setStyleSheet(f"border: 2px solid {colour}")
            top = np.argsort(event.probabilities[i])[::-1][:3]
            picture.setToolTip(f"{names[truth]}, read as " + ", ".join(
                f"{names[k]} {event.probabilities[i, k]:.1%}" for k in top) + ". Double-click to see why, in the Draw tab.")

    def _build(self, event: Watched) -> None:
        """A tile per watched image, a column per class, when a run's first answers come."""
        self._clear()
        seen = {}
        for label in event.labels:
            row = seen.setdefault(label, 0)
            seen[label] += 1
            self._add_tile(row, label)
        self.draw_pictures(event.images)

    def tile_source(self, index: int) -> str:
        kind = "digit" if are_digits(self.shown.class_names) else "image"
        return f"validation {kind} {index + 1} of {len(self.shown.labels)}"

    def tile_label(self, index: int) -> str:
        return self.shown.class_names[self.shown.labels[index]]
