"""One input widget per field type of the schema (storage.schema.Field.type).

Every widget is a :class:`FieldWidget`: ``raw()`` returns what the user
entered in a JSON-safe form (text as typed, a list for multi-select, True/False
or None for yes/no, a record id for references) — exactly what
``storage.validation.coerce`` accepts and what a draft stores; ``set_raw(value)``
accepts that raw form and also stored record values (dates, numbers, lists);
``changed`` fires on every edit.  Parsing and checking are NOT done here: the
form runs ``coerce``/``check_record`` over ``raw()`` so that the desktop, Excel
import and sync share one set of rules and messages.

Personal information (``id_number``, ``phone``): a stored value is shown masked
(110105********1234) in a read-only box until the user presses 显示; the full
value is only ever put on screen inside this widget after that explicit reveal.
Values are never logged and never put into tooltips.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCalendarWidget, QComboBox, QFrame,
                               QHBoxLayout, QLabel, QLineEdit, QListView, QListWidget, QListWidgetItem,
                               QPushButton, QRadioButton, QToolButton, QVBoxLayout, QWidget)

from storage.schema import Field
from storage.validation import mask, parse_date


class FieldWidget(QWidget):
    """Base class: one schema field, raw value get/set, ``changed`` signal."""

    changed = Signal()

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = field
        self.setObjectName(f"field_{field.name}")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)

    def raw(self) -> Any:
        raise NotImplementedError

    def set_raw(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widgets(self) -> list[QWidget]:
        """The widgets Tab should visit, in order."""
        return [self.focusProxy() or self]

    def setFocus(self, *args) -> None:  # noqa: N802 - Qt naming
        target = self.focus_widgets()[0]
        if target is self:
            super().setFocus(*args)
        else:
            target.setFocus(*args)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)


class TextWidget(FieldWidget):
    """Free text, codes (统一社会信用代码, 区划代码), periods: a line edit."""

    PLACEHOLDERS = {"period": "如 2024-03", "credit_code": "18位，如 91220102MA0Y3K8N2N",
                    "org_code": "12位数字，如 220102001001", "year": "如 2020"}

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(field, parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"edit_{field.name}")
        if field.max_length:
            # Allow a little over the limit so the message ("最多100个字") explains it instead of silently cutting.
            self.edit.setMaxLength(field.max_length + 20)
        placeholder = self.PLACEHOLDERS.get(field.type) or field.help
        if placeholder:
            self.edit.setPlaceholderText(placeholder)
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit, 1)
        self.setFocusProxy(self.edit)

    def raw(self) -> str:
        return self.edit.text()

    def set_raw(self, value: Any) -> None:
        self.edit.setText(_text_of(value))


class NumberWidget(TextWidget):
    """A number with its unit as a suffix; typing "350平方米" or "３５０" is fine (parse_number)."""

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(field, parent)
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.unit_label = None
        if field.unit:
            self.unit_label = QLabel(field.unit, self)
            self.unit_label.setObjectName(f"unit_{field.name}")
            self._layout.addWidget(self.unit_label)
        if field.type != "year" and not self.edit.placeholderText():
            hint = "数字"
            if field.min is not None and field.max is not None and field.max < 100_000:
                hint = f"{field.min:g}–{field.max:g}"
            self.edit.setPlaceholderText(hint)


class _CalendarPopup(QFrame):
    picked = Signal(QDate)

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.Box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(True)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        layout.addWidget(self.calendar)
        self.calendar.activated.connect(self._pick)  # Enter / double click
        self.calendar.clicked.connect(self._pick)

    def _pick(self, date: QDate) -> None:
        self.picked.emit(date)
        self.hide()


class DateWidget(FieldWidget):
    """A date typed as 2024-03-05, 2024.3.5, 2024/3/5, 2024年3月5日 (also full width) or picked.

    F4 or Alt+↓ in the box opens the calendar (the 日历 button is for the mouse).
    """

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(field, parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"edit_{field.name}")
        self.edit.setPlaceholderText("如 2024-03-05 或 2024年3月5日")
        self.edit.textChanged.connect(self.changed)
        self.edit.installEventFilter(self)
        self.button = QToolButton(self)
        self.button.setText("日历")
        self.button.setObjectName(f"calendar_{field.name}")
        self.button.setToolTip("打开日历选择日期（键盘：在日期框中按 F4）")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(self.open_calendar)
        self._layout.addWidget(self.edit, 1)
        self._layout.addWidget(self.button)
        self.setFocusProxy(self.edit)
        self.popup: _CalendarPopup | None = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key == Qt.Key.Key_F4 or (key == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier):
                self.open_calendar()
                return True
        return super().eventFilter(obj, event)

    def date(self) -> dt.date | None:
        """The typed date if it parses, else None (the form shows the message)."""
        try:
            return parse_date(self.edit.text())
        except (ValueError, TypeError):
            return None

    def open_calendar(self) -> None:
        if self.popup is None:
            self.popup = _CalendarPopup(self)
            self.popup.picked.connect(self._picked)
        current = self.date() or dt.date.today()
        self.popup.calendar.setSelectedDate(QDate(current.year, current.month, current.day))
        self.popup.move(self.edit.mapToGlobal(self.edit.rect().bottomLeft()))
        self.popup.show()
        self.popup.calendar.setFocus()

    def _picked(self, date: QDate) -> None:
        self.edit.setText(dt.date(date.year(), date.month(), date.day()).isoformat())
        self.edit.setFocus()

    def raw(self) -> str:
        return self.edit.text()

    def set_raw(self, value: Any) -> None:
        self.edit.setText(_text_of(value))


class ChoiceWidget(FieldWidget):
    """One of a choice list (the county-extended list from ``Repository.choices()``)."""

    NONE_TEXT = "（未选择）"

    def __init__(self, field: Field, items: list[str], parent: QWidget | None = None):
        super().__init__(field, parent)
        self.combo = QComboBox(self)
        self.combo.setObjectName(f"combo_{field.name}")
        self.combo.addItem(self.NONE_TEXT, "")
        for item in items:
            self.combo.addItem(item, item)
        self.combo.setMaxVisibleItems(20)
        self.combo.currentIndexChanged.connect(self.changed)
        self._layout.addWidget(self.combo, 1)
        self.setFocusProxy(self.combo)

    def raw(self) -> str:
        return self.combo.currentData() or ""

    def set_raw(self, value: Any) -> None:
        text = _text_of(value)
        index = self.combo.findData(text)
        if index < 0 and text:
            # A value no longer (or not yet) in the list stays visible; validation explains it.
            self.combo.addItem(text, text)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(index, 0))


class RefWidget(ChoiceWidget):
    """A reference to another record (volunteer → team): shows names, stores ids."""

    def __init__(self, field: Field, options: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(field, [], parent)
        for record_id, label in options:
            self.combo.addItem(label, record_id)

    def set_raw(self, value: Any) -> None:
        text = _text_of(value)
        index = self.combo.findData(text)
        if index < 0 and text:
            self.combo.addItem("（已删除或不在本村的记录）", text)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(index, 0))


class MultiChoiceWidget(FieldWidget):
    """Several of a choice list: a list of check boxes; ↑/↓ move, Space ticks."""

    def __init__(self, field: Field, items: list[str], parent: QWidget | None = None):
        super().__init__(field, parent)
        self.list = QListWidget(self)
        self.list.setObjectName(f"list_{field.name}")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setSpacing(2)
        self.list.setAccessibleName(field.label)
        for item in items:
            self._add(item)
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        self.list.installEventFilter(self)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.list)
        # the group is one Tab stop: say on the screen how to tick inside it
        self.hint = QLabel("可多选：方向键移到某一项，按空格键勾选或取消；按 Tab 去下一栏")
        self.hint.setObjectName("checkHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#555")
        column.addWidget(self.hint)
        self._layout.addLayout(column, 1)
        self.setFocusProxy(self.list)
        self._fit_height()

    def _add(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text, self.list)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
        item.setCheckState(Qt.CheckState.Unchecked)
        return item

    def _fit_height(self) -> None:
        """As tall as the wrapped items need (so none hides behind a scroll bar), at any font size."""
        self.list.setMinimumWidth(300)
        row_h = max(self.list.sizeHintForRow(0), self.fontMetrics().height() + 6) + 2 * self.list.spacing()
        bottom = 0
        if self.list.isVisible():
            self.list.doItemsLayout()
            offset = self.list.verticalScrollBar().value()
            for i in range(self.list.count()):
                bottom = max(bottom, self.list.visualItemRect(self.list.item(i)).bottom() + offset)
        if bottom <= 0:
            bottom = max(2, (self.list.count() + 3) // 4) * row_h
        height = bottom + 2 * self.list.frameWidth() + self.list.spacing() + 4
        if self.list.height() != height:
            self.list.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_height)  # after the list re-wrapped its items

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        QTimer.singleShot(0, self, self._fit_height)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # Space toggles the current item (the delegate does this too, but only if an item is current).
        if obj is self.list and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Space:
            item = self.list.currentItem() or (self.list.item(0) if self.list.count() else None)
            if item is not None:
                self.list.setCurrentItem(item)
                checked = item.checkState() == Qt.CheckState.Checked
                item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
            return True
        if obj is self.list and event.type() == QEvent.Type.FocusIn and self.list.currentItem() is None \
                and self.list.count():
            self.list.setCurrentRow(0)
        return super().eventFilter(obj, event)

    def items(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def raw(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_raw(self, value: Any) -> None:
        if value is None or value == "":
            wanted: list[str] = []
        elif isinstance(value, (list, tuple)):
            wanted = [str(v) for v in value]
        else:
            from storage.validation import split_multi

            wanted = split_multi(value)
        existing = set(self.items())
        self.list.blockSignals(True)
        for text in wanted:
            if text not in existing:
                self._add(text)  # an old value not in the list: visible, validation explains it
                existing.add(text)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._fit_height()
        self.changed.emit()


class BoolWidget(FieldWidget):
    """是 / 否 as two radio buttons (nothing ticked = not filled in)."""

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(field, parent)
        self.yes = QRadioButton("是", self)
        self.no = QRadioButton("否", self)
        self.yes.setObjectName(f"yes_{field.name}")
        self.no.setObjectName(f"no_{field.name}")
        self.group = QButtonGroup(self)
        self.group.addButton(self.yes)
        self.group.addButton(self.no)
        self.group.buttonToggled.connect(lambda _b, on: on and self.changed.emit())
        self._layout.addWidget(self.yes)
        self._layout.addWidget(self.no)
        self._layout.addStretch(1)
        self.setFocusProxy(self.yes)

    def focus_widgets(self) -> list[QWidget]:
        return [self.yes, self.no]

    def raw(self) -> bool | None:
        if self.yes.isChecked():
            return True
        if self.no.isChecked():
            return False
        return None

    def set_raw(self, value: Any) -> None:
        if value is None or value == "":
            self.group.setExclusive(False)
            self.yes.setChecked(False)
            self.no.setChecked(False)
            self.group.setExclusive(True)
            self.changed.emit()
            return
        if isinstance(value, str):
            from storage.validation import parse_bool

            try:
                value = parse_bool(value)
            except ValueError:
                return
        (self.yes if value else self.no).setChecked(True)


class MaskedWidget(FieldWidget):
    """公民身份号码 / 手机号: masked until 显示 is pressed; typing a new value is always possible.

    A value set with ``set_raw`` (a stored record, a restored draft) is shown
    masked in a read-only box.  显示 puts the full value in the box and makes it
    editable; 隐藏 masks it again.  An empty field is simply editable (the user
    must see what they type).
    """

    revealed_changed = Signal(bool)

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(field, parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"edit_{field.name}")
        self.edit.setPlaceholderText("18位，最后一位可能是X" if field.type == "id_number" else "11位手机号码")
        self.edit.setMaxLength(30)
        self.edit.textEdited.connect(self._edited)
        self.button = QPushButton("显示", self)
        self.button.setObjectName(f"reveal_{field.name}")
        self.button.setAutoDefault(False)
        self.button.setToolTip("显示完整号码（仅在本表单中显示，不会记录到日志）")
        self.button.clicked.connect(self.toggle_reveal)
        self._layout.addWidget(self.edit, 1)
        self._layout.addWidget(self.button)
        self.setFocusProxy(self.edit)
        self._value = ""
        self._masked = False
        self._update_button()

    def focus_widgets(self) -> list[QWidget]:
        return [self.edit, self.button]

    @property
    def masked(self) -> bool:
        return self._masked

    def _edited(self, text: str) -> None:
        if not self._masked:
            self._value = text
            self._update_button()
            self.changed.emit()

    def _show(self, masked: bool) -> None:
        self._masked = masked and bool(self._value)
        self.edit.blockSignals(True)
        self.edit.setText(mask(self.field.type, self._value) if self._masked else self._value)
        self.edit.blockSignals(False)
        self.edit.setReadOnly(self._masked)
        self._update_button()

    def _update_button(self) -> None:
        self.button.setText("隐藏" if self._value and not self._masked else "显示")
        self.button.setEnabled(bool(self._value))

    def reveal(self) -> None:
        self._show(False)
        self.revealed_changed.emit(True)

    def hide_value(self) -> None:
        self._show(True)
        self.revealed_changed.emit(False)

    def toggle_reveal(self) -> None:
        if self._masked:
            self.reveal()
            self.edit.setFocus()
            self.edit.end(False)
        else:
            self.hide_value()

    def raw(self) -> str:
        return self._value

    def set_raw(self, value: Any) -> None:
        self._value = _text_of(value)
        self._show(True)
        self.changed.emit()


def widget_for(field: Field, choices: dict[str, list[str]], ref_options: list[tuple[str, str]] | None = None,
               parent: QWidget | None = None) -> FieldWidget:
    """The input widget for a schema field (the schema is the only field list)."""
    t = field.type
    if t in ("id_number", "phone"):
        return MaskedWidget(field, parent)
    if t == "date":
        return DateWidget(field, parent)
    if t == "choice":
        return ChoiceWidget(field, choices.get(field.choices or "", []), parent)
    if t == "multichoice":
        return MultiChoiceWidget(field, choices.get(field.choices or "", []), parent)
    if t == "bool":
        return BoolWidget(field, parent)
    if t in ("int", "decimal", "year"):
        return NumberWidget(field, parent)
    if t == "ref":
        return RefWidget(field, ref_options or [], parent)
    return TextWidget(field, parent)


__all__ = ["FieldWidget", "TextWidget", "NumberWidget", "DateWidget", "ChoiceWidget", "RefWidget",
           "MultiChoiceWidget", "BoolWidget", "MaskedWidget", "widget_for"]

