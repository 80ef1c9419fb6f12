"""classifier/ and training/ never import the web side (DESIGN.md: one direction only)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB_SIDE = ("django", "webapp", "rest_framework", "celery", "kombu", "drf_spectacular")


def test_the_engine_packages_load_without_the_web_side():
    code = (
        "import sys, pkgutil, importlib, classifier, training\n"
        "for pkg in (classifier, training):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {WEB_SIDE!r})\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
