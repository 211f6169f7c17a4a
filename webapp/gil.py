"""Whether this worker runs with the GIL, and what turned it back on.

Python's free-threaded build (PEP 703, 779; FREE_THREADED=1) runs threads without the GIL,
until an extension module that has not declared itself safe without it is imported: CPython
then turns the GIL on for the rest of the process and warns once, naming the module. The
package imports this module first, so the warning is seen and /api/workers can name it.
"""

from __future__ import annotations

import platform
import re
import sys
import warnings

from serving.config import FREE_THREADED_BUILD

_NAMED = re.compile(r"enabled to load module '([^']+)'")
_turned_on_by: list[str] = []


def _watch() -> None:
    """Note the module named by CPython's "GIL has been enabled to load module" warning."""
    show = warnings.showwarning

    def noting(message, category, *args, **kwargs):
        found = _NAMED.search(str(message))
        if found:
            _turned_on_by.append(found.group(1))
        return show(message, category, *args, **kwargs)

    warnings.showwarning = noting


def enabled() -> bool:
    """The GIL is on in this process (always, on the normal build)."""
    return sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True


def settings() -> dict:
    """What /api/workers' settings say about the interpreter."""
    on = enabled()
    turned_on_by = None
    if on and FREE_THREADED_BUILD:
        turned_on_by = _turned_on_by[0] if _turned_on_by else "PYTHON_GIL=1 or -X gil=1"
    return {
        "python": platform.python_version(),
        "free_threaded": FREE_THREADED_BUILD,
        "gil": on,
        "gil_enabled_by": turned_on_by,
    }


if FREE_THREADED_BUILD:
    _watch()
