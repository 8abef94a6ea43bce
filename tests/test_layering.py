"""The engine is Qt-free: importing all of it never loads Qt, and no engine source mentions Qt."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE_MODULES = sorted(p.stem for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__")


def test_importing_every_engine_module_loads_no_qt():
    code = (
        "import sys\n"
        + "".join(f"import engine.{m}\n" for m in ENGINE_MODULES)
        + "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6'))\n"
        + "print(','.join(qt))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert len(ENGINE_MODULES) >= 10
    assert out.stdout.strip() == ""


def test_no_engine_source_imports_qt():
    offenders = [
        p.name for p in (ROOT / "engine").glob("*.py")
        if any(word in p.read_text() for word in ("PySide6", "PyQt", "pyqtgraph", "from gui", "import gui"))
    ]
    assert offenders == []
