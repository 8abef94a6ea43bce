"""The main window's tabs, whose pages scroll when the window is smaller than a page needs."""

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QWidget


class PageScroll(QScrollArea):
    """A page that fills the tab and scrolls only when the tab is smaller than the page's minimum.

    QScrollArea's own resizing sizes a page with word-wrapped text to the page's preferred height for
    its width, which scrolls the Draw tab even on a large screen; this one sizes it to the tab, never
    below the page's minimum (so wrapped text on a page should have a minimum height of its lines)."""

    def __init__(self, page: QWidget):
        super().__init__(frameShape=QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the page (the Draw tab's digit keys)
        self.setWidget(page)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()  # the page's minimum may have changed
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        page, room = self.widget(), self.maximumViewportSize()
        least = page.minimumSizeHint().expandedTo(page.minimumSize())
        width, height = room.width(), room.height()
        if least.height() > height:
            width -= self.verticalScrollBar().sizeHint().width()
        if least.width() > width:
            height -= self.horizontalScrollBar().sizeHint().height()
            if least.height() > height and width == room.width():
                width -= self.verticalScrollBar().sizeHint().width()
        page.resize(max(width, least.width()), max(height, least.height()))


class ScrollingTabs(QTabWidget):
    """Tabs whose pages scroll when the window is smaller than a page needs (a 1366×768 laptop, a 1280×720
    projector), so that the window never has to be larger than the screen. Callers deal in pages; the
    scroll area around each is this class's own."""

    def add_page(self, page: QWidget, title: str) -> None:
        self.addTab(PageScroll(page), title)

    def widget(self, index: int) -> QWidget | None:
        scroll = super().widget(index)
        return scroll.widget() if scroll is not None else None

    def currentWidget(self) -> QWidget | None:
        return self.widget(self.currentIndex())

    def indexOf(self, page: QWidget) -> int:
        return next((i for i in range(self.count()) if self.widget(i) is page), -1)

    def setCurrentWidget(self, page: QWidget) -> None:
        self.setCurrentIndex(self.indexOf(page))
