"""The engine stands alone: importing it pulls in no web framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_training_imports_without_django():
    code = ("import sys, training, training.cli, training.pipeline, training.distributed; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'celery', 'webapp')]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
