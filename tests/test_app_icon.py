"""The app's own icon is on every window (taskbar/dock) and matches the installers' icon files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_window_icon_is_the_taizhang_icon_in_every_size(qapp):
    from desktop.ui.app import ensure_qapplication

    app = ensure_qapplication()
    sizes = {(s.width(), s.height()) for s in app.windowIcon().availableSizes()}
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes
    assert app.desktopFileName() == "org.taizhang.ledger"  # the .deb's desktop entry id
    for size in (16, 32, 48, 64, 128, 256):
        shipped = (ROOT / "desktop" / "resources" / f"taizhang-{size}.png").read_bytes()
        assert shipped == (ROOT / "installers" / "icons" / f"taizhang-{size}.png").read_bytes()
