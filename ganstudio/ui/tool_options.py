"""Tool options panel: brush size / hardness / opacity / colour, mask erase, label palette,
selection mode and feather. Shows only what the current tool uses."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDoubleSpinBox, QFormLayout,
                               QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from .labeled_slider import LabeledSlider
from .tools import ToolManager

PAINT = {"brush", "eraser", "mask", "label", "clone", "heal"}
SELECT = {"rect_select", "ellipse_select", "lasso", "wand", "color_select"}
#: tools that use the brush colour (and opacity) without being brushes
COLOURED = {"fill", "gradient"}


def _swatch(color: tuple[int, ...], size: int = 16) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(*color[:3]))
    return QIcon(pm)


class ToolOptions(QWidget):
    def __init__(self, tools: ToolManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self._window = tools.window
        s = tools.settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.title)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        layout.addLayout(form)
        self.form = form

        self.size = LabeledSlider(1, 1000)
        self.size.setValue(int(s.size))
        self.size.valueChanged.connect(lambda v: self._set("size", float(v)))
        self.hardness = LabeledSlider(0, 100)
        self.hardness.setValue(int(s.hardness * 100))
        self.hardness.valueChanged.connect(lambda v: self._set("hardness", v / 100))
        self.opacity = LabeledSlider(1, 100)
        self.opacity.setValue(int(s.opacity * 100))
        self.opacity.valueChanged.connect(lambda v: self._set("opacity", v / 100))
        self.color = QPushButton()
        self.color.setToolTip("Brush colour (click to choose; I picks from the image)")
        self.color.clicked.connect(self._choose_color)
        self.mask_erase = QCheckBox("Erase mask")
        self.mask_erase.setToolTip("Remove from the AI mask (or hold Alt while painting)")
        self.mask_erase.toggled.connect(lambda v: self._set("mask_erase", v))
        self.edit_mask = QCheckBox("Paint the layer mask")
        self.edit_mask.setToolTip("Brush and eraser paint the active layer's mask instead of its pixels")
        self.edit_mask.toggled.connect(lambda v: self._set("edit_layer_mask", v))
        self.clear_mask = QPushButton("Clear AI mask")
        self.clear_mask.clicked.connect(self._clear_ai_mask)
        self.palette = QListWidget()
        self.palette.setMaximumHeight(180)
        self.palette.currentItemChanged.connect(self._label_chosen)
        self.mode = QComboBox()
        for m in ("replace", "add", "subtract", "intersect"):
            self.mode.addItem(m.title(), m)
        self.mode.setToolTip("Shift adds, Alt subtracts, Shift+Alt intersects")
        self.mode.currentIndexChanged.connect(lambda _i: self._set("select_mode", self.mode.currentData()))
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0, 500)
        self.feather.setSuffix(" px")
        self.feather.valueChanged.connect(lambda v: self._set("feather", float(v)))
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setObjectName("emptyHint")

        self._rows = {
            "size": ("Size", self.size), "hardness": ("Hardness", self.hardness),
            "opacity": ("Opacity", self.opacity), "color": ("Colour", self.color),
            "mask_erase": ("", self.mask_erase), "clear_mask": ("", self.clear_mask),
            "edit_mask": ("", self.edit_mask), "palette": ("Class", self.palette),
            "mode": ("Mode", self.mode), "feather": ("Feather", self.feather),
        }
        for key, (label, widget) in self._rows.items():
            form.addRow(label, widget)
        layout.addWidget(self.hint)
        # tools with options of their own (crop, free transform): ``tool.options_widget()``
        self.tool_box = QVBoxLayout()
        layout.addLayout(self.tool_box)
        self._tool_widgets: dict[str, QWidget] = {}
        layout.addStretch(1)
        tools.tool_changed.connect(self.refresh)
        tools.settings_changed.connect(self.sync)
        self.refresh()

    def _set(self, attr: str, value: object) -> None:
        if getattr(self.tools.settings, attr) != value:
            setattr(self.tools.settings, attr, value)
            self.tools.changed()

    def _choose_color(self) -> None:
        c = QColorDialog.getColor(QColor(*self.tools.settings.color[:3]), self, "Brush colour")
        if c.isValid():
            self._set("color", (c.red(), c.green(), c.blue(), 255))

    def _clear_ai_mask(self) -> None:
        if self._window is not None:
            self._window.clear_ai_mask()

    def _label_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self._set("label_id", int(item.data(Qt.ItemDataRole.UserRole)))

    def refresh(self, *_: object) -> None:
        tool = self.tools.current
        name = tool.name if tool else ""
        self.title.setText(tool.title if tool else "")
        label_fill = name == "fill" and self._active_is_label()
        show = {
            "size": name in PAINT, "hardness": name in PAINT - {"label"},
            "opacity": name in (PAINT - {"label"}) | COLOURED,
            "color": name in {"brush", "picker"} | COLOURED, "mask_erase": name == "mask",
            "clear_mask": name == "mask", "edit_mask": name in {"brush", "eraser"} | COLOURED,
            "palette": name == "label" or label_fill, "mode": name in SELECT, "feather": name in SELECT,
        }
        for key, (_label, widget) in self._rows.items():
            self.form.setRowVisible(widget, show[key])
        hints = {
            "mask": "Paint over what an AI tool should work on, e.g. the object to remove. "
                    "Filters/AI uses this mask, or the selection when no mask is painted.",
            "move": "Drag to move the active layer.",
            "picker": "Click to pick the brush colour. Ctrl picks from the active layer only.",
            "label": "Paint class ids on a label layer (Layer > New label layer).",
        }
        self.hint.setText(hints.get(name, tool.tooltip if tool else ""))
        self._show_tool_widget(tool)
        if name == "label" or label_fill:
            self._fill_palette()
        self.sync()

    def _show_tool_widget(self, tool: object) -> None:
        factory = getattr(tool, "options_widget", None)
        if callable(factory) and tool.name not in self._tool_widgets:  # type: ignore[attr-defined]
            widget = factory()
            self._tool_widgets[tool.name] = widget  # type: ignore[attr-defined]
            self.tool_box.addWidget(widget)
        for n, widget in self._tool_widgets.items():
            widget.setVisible(tool is not None and n == tool.name)  # type: ignore[attr-defined]

    def _active_is_label(self) -> bool:
        doc = self._window.document if self._window is not None else None
        return doc is not None and hasattr(doc.active_layer, "labels")

    def _fill_palette(self) -> None:
        doc = self._window.document if self._window is not None else None
        layer = doc.active_layer if doc is not None else None
        classes = list(getattr(layer, "palette", []) or [])
        self.palette.blockSignals(True)
        self.palette.clear()
        for c in classes:
            item = QListWidgetItem(_swatch(c.color), f"{c.id}  {c.name}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            self.palette.addItem(item)
            if c.id == self.tools.settings.label_id:
                self.palette.setCurrentItem(item)
        self.palette.blockSignals(False)
        if not classes:
            self.hint.setText("Select a label layer to see its class palette "
                              "(Layer > New label layer).")

    def sync(self) -> None:
        s = self.tools.settings
        for w, v in ((self.size, int(s.size)), (self.hardness, int(round(s.hardness * 100))),
                     (self.opacity, int(round(s.opacity * 100)))):
            if w.value() != v:
                w.blockSignals(True)
                w.setValue(v)
                w.blockSignals(False)
        c = QColor(*s.color[:3])
        self.color.setIcon(_swatch(s.color, 18))
        self.color.setText(c.name())
        self.mask_erase.setChecked(s.mask_erase)
        self.edit_mask.setChecked(s.edit_layer_mask)
