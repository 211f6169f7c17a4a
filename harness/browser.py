"""Find a Chromium for Playwright, or install one: `.venv/bin/python -m harness.browser --install`.

Playwright's own Chromium is used where it is installed or can be downloaded.
Where it cannot (a machine without internet access), the system's Chromium is
used instead (Debian's `chromium`, installed with apt-get if missing). Set
CHROMIUM_PATH to force a particular browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags for a headless Chromium on a locked-down machine: no sandbox as root,
# no GPU, and none of the background traffic a closed network would refuse.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _bundled() -> str | None:
    """Playwright's own Chromium, if it has been downloaded."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:  # noqa: BLE001 - no driver, no browser: not bundled
        return None
    return path if path and Path(path).exists() else None


def _system() -> str | None:
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_chromium() -> str | None:
    """Path of the Chromium to launch, or None for Playwright's own default."""
    forced = os.environ.get("CHROMIUM_PATH")
    if forced:
        return forced
    if _bundled():
        return None
    return _system()


def launch_options() -> dict:
    """Keyword arguments for Playwright's ``chromium.launch()`` (sync or async): the Chromium
    find_chromium() picks, and LAUNCH_ARGS."""
    path = find_chromium()
    return {"args": LAUNCH_ARGS, **({"executable_path": path} if path else {})}


def install() -> int:
    """Make sure some Chromium is there; say which."""
    if os.environ.get("CHROMIUM_PATH") or _bundled() or _system():
        print(f"browser: {find_chromium() or 'Playwright Chromium'}")
        return 0
    print("browser: downloading Playwright's Chromium ...", flush=True)
    if subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"]).returncode == 0:
        return 0
    apt = shutil.which("apt-get")
    if apt:
        print("browser: no download possible; installing the system's chromium", flush=True)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, apt, "update", "-q"], check=False)
        if subprocess.run([*sudo, apt, "install", "-y", "-q", "chromium"]).returncode == 0:
            print(f"browser: {_system()}")
            return 0
    print(
        "browser: no Chromium found. Install one (e.g. `apt-get install chromium`) or set CHROMIUM_PATH.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--install"]:
        sys.exit(install())
    print(find_chromium() or "Playwright Chromium")
