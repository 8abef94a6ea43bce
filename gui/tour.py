"""Help → Take the tour: the app shown stop by stop, each stop opening its tab above a few sentences on what
to look at there and what to try. For a first visit, and for a teacher showing a class around."""

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from gui.style import MUTED


@dataclass(frozen=True)
class Stop:
    tab: str  # the window's attribute of the tab the stop opens: "draw_tab"
    title: str
    text: str  # rich text


STOPS = (
    Stop("draw_tab", "Draw a digit",
         "Draw a digit from 0 to 9 in the box. The network reads it <b>while you draw</b>: the answer, how sure it is, "
         "all ten probabilities, and <i>What the network sees</i>, the 28×28 picture it really reads (cropped, scaled "
         "and centred as MNIST's digits are). With nothing drawn, the tour opens one of the app's sample drawings: "
         "<i>Clear</i> (Esc) and draw your own."),
    Stop("draw_tab", "Why this digit?",
         "When a stroke ends, <i>Why</i> colours the strokes that made the answer <b>red</b> and those that pull "
         "toward the runner-up <b>blue</b>, on the small picture and on the canvas. Click another class's bar to ask "
         "why it is not that one; switch <i>Gradients</i> to <i>Covering parts</i> to ask the other way: what is "
         "lost when a patch is covered."),
    Stop("draw_tab", "Teach it your handwriting",
         "Press <b>✓</b> (Enter) when the answer is right, or the digit's key when it is wrong: the drawing is kept "
         "as a personal sample. <i>Personalise</i> fine-tunes the network on your samples in seconds; <i>Teach each "
         "digit</i> asks for a 0, a 1, … a 9 and does it in one go."),
    Stop("layers_tab", "Through every layer",
         "Your drawing followed through the whole network: each conv layer's feature maps, the dense layer, the "
         "output. <b>Click a map</b> to see the kernel that made it and the maps it read; hover over it to see the "
         "sum worked out. <i>Switch this map off</i> reads your drawing, and 2,000 test digits, without it."),
    Stop("kernels_tab", "What each filter looks for",
         "The first two layers' kernels (blue negative, red positive), the test patches that excite each filter "
         "most, and for each class an input grown until the network is surest of it. <i>Replay</i> plays how the kernels "
         "formed while the model trained."),
    Stop("train_tab", "Train it yourself",
         "Choose the network, the data and the optimiser, then <b>Train</b>: the loss and accuracy are drawn as "
         "they come. <i>Predictions</i> shows the network's guesses turning into reading, <i>Batches</i> what it "
         "learns from, <i>Layer statistics</i> its gradients. <i>Find…</i> beside the learning rate tries rates "
         "for you (a range test, 5 s)."),
    Stop("experiments_tab", "Compare, as the tutorials do",
         "<i>Compare</i> runs a lesson side by side: optimisers, initialisations, activations, batch norm, "
         "over-fitting with and without dropout, k-fold cross-validation, a perceptron against convolutions. "
         "<i>Search</i> tunes the learning rate and weight decay; <i>Runs</i> keeps every run ever trained."),
    Stop("evaluate_tab", "How well it reads",
         "Accuracy on a test set (MNIST, the pen digits of writers it never saw, or a folder of your own), the "
         "confusion matrix (click a cell for its digits) and the mistakes, most confident first. The pages beside "
         "it: how sure against how often right, a <i>map</i> of where it puts every digit, and your drawing "
         "<i>turned and moved</i>, or nudged until it fools the network."),
    Stop("draw_tab", "That is the tour",
         "Everything here runs on your computer, offline. Help → <i>Take the tour</i> shows it again; Help → "
         "<i>Keyboard shortcuts</i> lists the keys (Ctrl+1 … Ctrl+6 open the tabs)."),
)


class Tour(QFrame):
    """A bar under the tabs that walks through ``STOPS``: it covers nothing, so each tab can be tried as it is shown."""

    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("tour")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.main = window
        self.index = 0
        self.count = QLabel()
        self.count.setStyleSheet(f"color: {MUTED}")
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.text = QLabel()
        self.text.setObjectName("tourText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.back = QPushButton("Back")
        self.back.clicked.connect(lambda: self.show_stop(self.index - 1))
        self.next = QPushButton("Next")
        self.next.clicked.connect(self._forward)
        close = QPushButton("Close")
        close.setToolTip("End the tour (Help → Take the tour shows it again)")
        close.clicked.connect(self.hide)
        words = QVBoxLayout()
        words.addWidget(self.title)
        words.addWidget(self.text)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count)
        for button in (self.back, self.next, close):
            buttons.addWidget(button)
        layout = QHBoxLayout(self)
        layout.addLayout(words, 1)
        layout.addLayout(buttons)
        self.setVisible(False)

    def start(self) -> None:
        self.show_stop(0)
        self.show()
        self.next.setFocus()

    def show_stop(self, index: int) -> None:
        self.index = index
        stop = STOPS[index]
        self.main.tabs.setCurrentWidget(getattr(self.main, stop.tab))
        if stop.tab == "draw_tab" and self.main.draw_tab.canvas.is_empty():
            self.main.open_sample(7)  # something to read, and to explain
        self.count.setText(f"{index + 1} of {len(STOPS)}")
        self.title.setText(stop.title)
        self.text.setText(stop.text)
        self.back.setEnabled(index > 0)
        self.next.setText("Finish" if index == len(STOPS) - 1 else "Next")

    def _forward(self) -> None:
        if self.index == len(STOPS) - 1:
            self.hide()
        else:
            self.show_stop(self.index + 1)
