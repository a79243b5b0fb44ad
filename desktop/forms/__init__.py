"""Record forms generated from the field schema (storage.schema.RECORD_TYPES).

Public API for the rest of the desktop app (desktop/ui):

``open_record_form(parent, repo, type_name, org_code, record_id=None, *, parent_id=None) -> dict | None``
    Opens the modal form for a new record (``record_id=None``) or to edit one.
    Returns the saved record as the repository returns it (``Repository.get``
    shape: schema fields plus id/version/...), or ``None`` if the user cancelled.
    ``org_code`` is the village/township the record belongs to (never an
    editable field).  ``parent_id`` is required for child types opened on their
    own (training → staff id, volunteer_hours → volunteer id); normally children
    are edited inside the parent's form.

``RecordForm(repo, type_name, org_code, record_id=None, parent=None, *, parent_id=None, draft=None, data=None)``
    The QDialog itself (``open_record_form`` wraps ``exec()``).  ``data`` is what the form shows
    (``storage.form_reading.read_form``, read in a read job by the app); without it the form reads
    it where it is built.  Useful bits:
    ``saved`` (Signal(dict), emitted after a successful save), ``save()``
    (validate and write; returns the record dict or None), ``field_widget(name)``,
    ``message_for(name)`` (the Chinese message shown beside a field),
    ``has_errors()``, ``raw_values()``.  All record writes happen in
    ``RecordForm.write_to_repository`` — the one place a form writes records —
    and run on the app's single DB writer thread (``desktop.ui.jobs.write_op``)
    through ``form_jobs.run_write``, while the form waits (disabled, still
    painting) in a local event loop; ``save()`` therefore still returns the
    saved record.  Drafts are the documented exception: a one-row write on the
    UI thread with a 250 ms busy timeout (retried at the next tick if an
    import holds the write lock).

``offer_drafts(parent, repo) -> list[dict]``
    Call once at startup, after the main window is shown.  If forms were left
    unsaved by a crash or power cut, shows a dialog listing them (恢复 / 丢弃 /
    以后再说); restored forms open pre-filled.  Returns the records saved from
    restored drafts (empty if there were none).

``widget_for(field, choices, ...)`` (desktop.forms.widgets)
    One input widget per schema field type; every widget has ``raw()``,
    ``set_raw(value)`` and a ``changed`` signal.

Personal information (公民身份号码, 手机号) is shown masked in the form until
the user presses 显示 next to the field; it is never logged.
"""

from __future__ import annotations

__all__ = ["open_record_form", "RecordForm", "offer_drafts", "widget_for"]


def __getattr__(name: str):
    # Lazy: importing desktop.forms must not pull in every widget class eagerly.
    if name in ("open_record_form", "RecordForm"):
        from desktop.forms import record_form

        return getattr(record_form, name)
    if name == "offer_drafts":
        from desktop.forms.drafts_dialog import offer_drafts

        return offer_drafts
    if name == "widget_for":
        from desktop.forms.widgets import widget_for

        return widget_for
    raise AttributeError(name)
