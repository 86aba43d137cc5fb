"""Play / pause / single step, the per-step delay slider, and the heatmap view toggles (visible in every mode)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget
from superqt import QElidingLabel

MAX_DELAY_MS = 2000
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's limit for a widget's size
SLIDER_EMS = 12  # preferred: aimed at with a presenter's mouse
MIN_SLIDER_EMS = 5  # the least it shrinks to on a small screen
PLAY_TEXT, PAUSE_TEXT = "▶ Play", "❚❚ Pause"
PAUSE_SHOWN_MS = 80  # a decode still playing after this shows "Pause"; a shorter one leaves the button alone


class TransportBar(QWidget):
    play_clicked = Signal()
    step_clicked = Signal()
    delay_changed = Signal(float)  # seconds
    transposed_changed = Signal(bool)
    mode_changed = Signal(str)  # "alpha" or "scores"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QToolButton(self)
        self._show_pause = QTimer(self)
        self._show_pause.setSingleShot(True)
        self._show_pause.setInterval(PAUSE_SHOWN_MS)
        self._show_pause.timeout.connect(self._on_show_pause)
        self.play_button.setToolTip("Play / pause the decode (Space)")
        self.step_button = QToolButton(self)
        self.step_button.setText("▶❚ Step")
        self.step_button.setToolTip("Decode one step (pauses first)")
        self.delay = QSlider(Qt.Orientation.Horizontal, self)
        self.delay.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.delay.setRange(0, MAX_DELAY_MS)
        self.delay.setSingleStep(50)
        self.delay.setPageStep(250)
        self.delay.setToolTip("Pause between decoder steps; far left turns the animation off")
        self.delay_label = QElidingLabel("", self)  # elided, not pushing the window wider, on a small screen
        self.transpose = QCheckBox("Transpose", self)
        self.mode = QComboBox(self)
        self.mode.addItem("weights α", "alpha")
        self.mode.addItem("scores e", "scores")
        self.mode.setToolTip("Show the softmax weights α_ij or the raw scores e_ij")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.play_button, self.step_button, QLabel("Speed", self)):
            layout.addWidget(widget)
        layout.addWidget(self.delay, 1)  # grows to SLIDER_EMS with the room there is, shrinks to MIN_SLIDER_EMS
        layout.addWidget(self.delay_label)
        layout.addStretch(1)
        layout.addWidget(self.mode)
        layout.addWidget(self.transpose)
        self.play_button.clicked.connect(self.play_clicked)
        self.step_button.clicked.connect(self.step_clicked)
        self.delay.valueChanged.connect(self._on_delay)
        self.transpose.toggled.connect(self.transposed_changed)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.set_playing(False)
        self._fit_slider()
        self._fit_play_button()
        self._on_delay(self.delay.value())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_slider()
            self._fit_play_button()

    def _fit_slider(self) -> None:
        """Wide enough to aim at with a presenter's mouse at any zoom, narrower only when the screen is small."""
        em = self.fontMetrics().horizontalAdvance("M")
        self.delay.setMinimumWidth(em * MIN_SLIDER_EMS)
        self.delay.setMaximumWidth(em * SLIDER_EMS)

    def _fit_play_button(self) -> None:
        """As wide as its wider text, and of fixed size: Play ↔ Pause at every decode then asks for no new
        layout (which would repaint the whole window)."""
        shown = self.play_button.text()
        self.play_button.setMinimumSize(0, 0)
        self.play_button.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
        hints = []
        for text in (PLAY_TEXT, PAUSE_TEXT):
            self.play_button.setText(text)
            hints.append(self.play_button.sizeHint())
        self.play_button.setText(shown)
        self.play_button.setFixedSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def set_playing(self, playing: bool) -> None:
        """Play at once; Pause only once playing has lasted PAUSE_SHOWN_MS.

        A decode started by typing mostly ends within milliseconds: flipping the button to Pause and back
        would only flicker, and its repaint holds the GIL just as the engine thread starts (measured:
        the engine started ~0.5 ms later).
        """
        if not playing:
            self._show_pause.stop()
            self.play_button.setText(PLAY_TEXT)
        elif self.play_button.text() != PAUSE_TEXT and not self._show_pause.isActive():
            self._show_pause.start()

    def pause_pending(self) -> bool:
        """Playing, but not yet shown as such (see set_playing)."""
        return self._show_pause.isActive()

    @Slot()
    def _on_show_pause(self) -> None:
        self.play_button.setText(PAUSE_TEXT)

    def delay_seconds(self) -> float:
        return self.delay.value() / 1000.0

    def set_delay_seconds(self, seconds: float) -> None:
        self.delay.setValue(round(max(0.0, min(seconds, MAX_DELAY_MS / 1000)) * 1000))

    def heatmap_mode(self) -> str:
        return str(self.mode.currentData())

    @Slot(int)
    def _on_delay(self, ms: int) -> None:
        self.delay_label.setText("animation off" if ms == 0 else f"{ms / 1000:.2f} s/step")
        self.delay_changed.emit(ms / 1000.0)

    @Slot()
    def _on_mode(self) -> None:
        self.mode_changed.emit(self.heatmap_mode())
