"""PyInstaller runtime hook: runs in the frozen app before any of its code.

Linux: add the bundled CJK font to fontconfig (system fonts stay available), so that
Chinese text never renders as boxes on a system without a CJK font.  A user's own
FONTCONFIG_FILE wins.  Windows always has a CJK font (Microsoft YaHei / SimSun).
"""

import os
import sys

if sys.platform.startswith("linux") and "FONTCONFIG_FILE" not in os.environ:
    _conf = os.path.join(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)), "fonts", "fonts.conf")
    if os.path.isfile(_conf):
        os.environ["FONTCONFIG_FILE"] = _conf
