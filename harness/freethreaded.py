"""A free-threaded CPython (no GIL, PEP 703/779) and its virtual environment, for
`FREE_THREADED=1 make run` and the tests that need one.

    python -m harness.freethreaded            # print the free-threaded python, building it if needed
    python -m harness.freethreaded --venv DIR # ... and make DIR a venv on it with the server packages
    python -m harness.freethreaded --find     # print it only if one is already there (exit 1 if not)

Found, in this order: $FREE_THREADED_PYTHON; `python3.14t` or `python3.13t` on the PATH; the
one built here before (in $FREE_THREADED_CACHE, ~/.cache/mnist-serving by default: outside the
clone, so every clone and CI run on this machine reuse it). Else it is built once from CPython's
source as Debian ships it: `apt-get source` (download only) of python3.14, else python3.13, the
newest version the mirror serves, through a private apt folder in the cache that lists only
deb-src lines (sid, forky, trixie) of the mirror this machine's apt already uses. apt
authenticates the files: the Release file's signature is checked against the Debian archive
keyring and each file's hash against the signed index (an unauthenticated source is
refused). The upstream tarball in it is configured `--disable-gil`, built with `make -j2` under
`nice` (progress printed) and installed into the cache. Debian's own patches are not applied:
they fit CPython to Debian's /usr layout, not to a private prefix.
"""

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-ft"  # `make freethreaded` / FREE_THREADED=1 make run make it
CACHE = Path(os.environ.get("FREE_THREADED_CACHE") or Path.home() / ".cache" / "mnist-serving")
# Debian's CPython source packages, preferred first: 3.14 supports the free-threaded build
# (PEP 779); 3.13's is experimental but works. Suites whose source index apt reads.
SOURCES = ("python3.14", "python3.13")
SUITES = ("sid", "forky", "trixie")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# What CPython's configure looks for to build ssl, ctypes, sqlite3, lzma, ... (Debian names).
BUILD_DEPS = (
    "build-essential pkg-config libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev "
    "libsqlite3-dev libreadline-dev libncurses-dev uuid-dev libexpat1-dev"
).split()
# The server's packages that are built for the free-threaded ABI (cp314t wheels). LiteRT,
# gevent and orjson are not: the app picks numpy for predictions, gthread workers and the
# standard json module there (webapp/runtimes.py).
NOT_FREE_THREADED = {"ai-edge-litert", "gevent", "orjson"}


def say(message):
    print(f"[free-threaded] {message}", file=sys.stderr, flush=True)


def is_free_threaded(python):
    """True when `python` runs and was built with --disable-gil."""
    check = "import sysconfig; print(sysconfig.get_config_var('Py_GIL_DISABLED'))"
    try:
        out = subprocess.run([python, "-c", check], capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == "1"


def find():
    """The path of a free-threaded python already on this machine, or None."""
    named = os.environ.get("FREE_THREADED_PYTHON")
    if named:
        if not is_free_threaded(named):
            raise SystemExit(f"FREE_THREADED_PYTHON={named} is not a free-threaded python")
        return named
    names = [package + "t" for package in SOURCES]
    candidates = [shutil.which(name) for name in names]
    candidates += [str(CACHE / name / "bin" / name) for name in names]
    for python in candidates:
        if python and Path(python).exists() and is_free_threaded(python):
            return python
    return None


def venv_python(venv=VENV):
    """The python of the free-threaded venv, if it has been made (else None)."""
    python = Path(venv) / "bin" / "python"
    return str(python) if (Path(venv) / ".runtime").exists() and is_free_threaded(python) else None


def run(cmd, **kwargs):
    subprocess.run(cmd, check=True, **kwargs)


def apt_options(apt_dir):
    """apt-get options that read and write only `apt_dir`: the system's lists stay as they are."""
    return [
        f"-o Dir::Etc::sourcelist={apt_dir / 'sources.list'}",
        "-o Dir::Etc::sourceparts=-",
        f"-o Dir::State::Lists={apt_dir / 'lists'}",
        f"-o Dir::Cache={apt_dir / 'cache'}",
        "-o APT::Get::List-Cleanup=0",
        "-o APT::Sandbox::User=root",  # the cache is root's: apt's _apt user cannot write there
    ]


def system_mirror():
    """The Debian mirror this machine's apt already uses (so no host is named here)."""
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        text = path.read_text() if path.is_file() else ""
        for uri in re.findall(r"(?:URIs:|^deb)\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
            if "security" not in uri and "debian" in uri:
                return uri
    raise SystemExit("no Debian mirror in /etc/apt: set FREE_THREADED_PYTHON to a free-threaded python")


def source_versions(options, package):
    """The versions of `package`'s source in the private index, newest first."""
    out = subprocess.run(["apt-cache", *options, "showsrc", package], capture_output=True, text=True).stdout
    versions = re.findall(r"^Version: (\S+)", out, re.M)

    def newer(a, b):
        return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0

    return sorted(versions, key=functools.cmp_to_key(lambda a, b: -1 if newer(a, b) else 1))


def fetch_source(work):
    """Download CPython's Debian source package, authenticated by apt: python3.14 (sid/forky),
    else trixie's python3.13, the newest version the mirror serves; returns the upstream tarball."""
    apt_dir = CACHE / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt_dir / sub).mkdir(parents=True, exist_ok=True)
    mirror = system_mirror()
    lines = [f"deb-src [signed-by={KEYRING}] {mirror} {suite} main" for suite in SUITES]
    (apt_dir / "sources.list").write_text("\n".join(lines) + "\n")
    options = " ".join(apt_options(apt_dir)).split()
    say("apt-get update (a private list of Debian's source indexes; signatures checked)")
    run(["apt-get", *options, "update", "-q"])
    for package in SOURCES:
        for version in source_versions(options, package):
            say(
                f"apt-get source {package}={version} (download only; hashes checked against the signed index)"
            )
            get = ["apt-get", *options, "source", "--download-only", "-q", f"{package}={version}"]
            if subprocess.run(get, cwd=work).returncode == 0:
                say(f"got {next(work.glob(f'{package}_*.dsc')).name}")
                return next(work.glob(f"{package}_*.orig.tar.*"))
            say(f"{package}={version} is not on the mirror; trying the next one")
    raise SystemExit("no CPython source package could be fetched: set FREE_THREADED_PYTHON")


def install_build_deps():
    missing = [
        pkg for pkg in BUILD_DEPS if subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode != 0
    ]
    if missing and os.geteuid() == 0:
        say("apt-get install " + " ".join(missing))
        run(["apt-get", "install", "-y", "-q", *missing])
    elif missing:
        say("missing build packages (install them as root): " + " ".join(missing))


def make_with_progress(cmd, cwd, log):
    """Run `cmd`, its output to `log`; every 15 s a line: its last step and the time so far."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        while _waited(proc, 15) is None:
            compiled = sum(1 for _ in Path(cwd).rglob("*.o"))
            say(f"  {cmd[3]} {cmd[4]}: {compiled} C files compiled, {time.monotonic() - start:.0f} s")
    if proc.returncode:
        tail = Path(log).read_text().splitlines()[-30:]
        raise SystemExit("\n".join(tail) + f"\nfailed: {' '.join(cmd)} (whole log: {log})")


def _waited(proc, seconds):
    """proc's exit code, or None if it still runs after `seconds`."""
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def build():
    """Build and install a free-threaded CPython into the cache; returns its python."""
    if not shutil.which("apt-get"):
        raise SystemExit(
            "[free-threaded] no free-threaded Python here, and no apt-get to build one: install one "
            "(`uv python install 3.14t`, or the python.org installer's free-threaded option) and "
            "set FREE_THREADED_PYTHON to it"
        )
    started = time.monotonic()
    work = CACHE / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    install_build_deps()
    tarball = fetch_source(work)
    say(f"unpacking {tarball.name}")
    run(["tar", "-xf", str(tarball), "-C", str(work)])
    src = next(p for p in work.iterdir() if p.is_dir() and (p / "configure").exists())
    series = re.search(r"python(\d+\.\d+)_", tarball.name).group(1)
    prefix = CACHE / f"python{series}t"
    nice = ["nice", "-n", "10"]
    say(f"configure --disable-gil --prefix={prefix}")
    configure = [*nice, "./configure", "--disable-gil", f"--prefix={prefix}", "--with-ensurepip=install"]
    run(configure, cwd=src, stdout=open(work / "configure.log", "w"), stderr=subprocess.STDOUT)
    say("make -j2 (10-30 minutes on 2 busy cores; log: " + str(work / "make.log") + ")")
    make_with_progress([*nice, "make", "-j2"], src, work / "make.log")
    say("make install")
    shutil.rmtree(prefix, ignore_errors=True)
    make_with_progress([*nice, "make", "install"], src, work / "install.log")
    python = prefix / "bin" / f"python{series}t"
    if not is_free_threaded(python):
        raise SystemExit(f"{python} was built but is not free-threaded")
    minutes = (time.monotonic() - started) / 60
    (prefix / "BUILD_TIME").write_text(f"{minutes:.1f} min\n")
    say(f"built {python} in {minutes:.1f} min")
    shutil.rmtree(work, ignore_errors=True)
    return str(python)


def serve_requirements(path=ROOT / "requirements-serve.txt"):
    """The pinned server packages that have free-threaded builds."""
    keep = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and re.split("[=<>]", line)[0] not in NOT_FREE_THREADED:
            keep.append(line)
    return keep


def make_venv(python, venv):
    """`venv` on `python` with the server's packages that have builds for it: wheels where
    PyPI has them for this ABI (cp314t has all), else built from source (3.13t: pillow and
    pyspng build; msgspec refuses 3.13's free-threaded build). Exits 1 naming what is missing."""
    venv = Path(venv)
    stamp = venv / ".runtime"
    wanted = "\n".join([python, *serve_requirements()])
    if stamp.exists() and stamp.read_text() == wanted:
        stamp.touch()  # up to date: make need not ask again
        return
    tried = venv / ".missing"  # what could not be installed last time, for the same wants
    if tried.exists() and tried.read_text().startswith(wanted + "\n"):
        raise SystemExit(tried.read_text()[len(wanted) + 1 :])
    say(f"virtual environment {venv} on {python}")
    run([python, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--prefer-binary"]
    run([*pip, "--upgrade", "pip"])
    missing = []
    for requirement in serve_requirements():
        say(f"  pip install {requirement}")
        if subprocess.run([*pip, requirement], capture_output=True).returncode:
            missing.append(requirement)
    if missing:
        problem = (
            f"[free-threaded] {', '.join(missing)}: no build for {python} (the server needs "
            "them); Python 3.14t has all: set FREE_THREADED_PYTHON to a python3.14t"
        )
        tried.write_text(f"{wanted}\n{problem}")
        raise SystemExit(problem)
    tried.unlink(missing_ok=True)
    stamp.write_text(wanted)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--find", action="store_true", help="only find one; exit 1 if none")
    parser.add_argument("--venv", help="also make this virtual environment on it")
    args = parser.parse_args(argv)
    python = find()
    if python is None and args.find:
        return 1
    python = python or build()
    if args.venv:
        make_venv(python, args.venv)
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
