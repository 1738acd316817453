"""Find the files that ship beside the packages (templates)."""

from __future__ import annotations

import sys
import sysconfig
from functools import cache
from pathlib import Path


@cache
def templates_dir() -> Path:
    """Return the templates folder of a source checkout or of an installed copy."""
    candidates = [
        Path(__file__).resolve().parent.parent / "templates",
        Path(sys.prefix) / "share" / "spaces" / "templates",
        Path(sysconfig.get_path("data")) / "share" / "spaces" / "templates",
    ]
    for candidate in candidates:
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(
        "templates not found; looked in "
        + ", ".join(str(c) for c in candidates)
        + ". Reinstall the package (pip install .) so its data files are in place."
    )
