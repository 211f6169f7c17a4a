"""The benchmark commands still run end to end (on a tiny load: their figures are not checked)."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_serving_benchmark_prints_its_table():
    out = run(
        "bench.serving", "--modes", "single", "--runtimes", "litert", "--concurrency", "2", "--duration", "1"
    )
    assert "| single | litert | `/api/predict` | 2 |" in out
    assert "| single | litert | `/inference` | 2 |" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_speed_benchmark_prints_ours_beside_the_ceiling():
    out = run("bench.speed", "--concurrency", "2", "--duration", "1", "--repeat", "2")
    for server in ("ceiling", "ours, litert", "ours, tensorflow"):
        assert f"| `/inference` | 2 | {server} |" in out and f"| `/api/predict` | 2 | {server} |" in out
    assert "| `/inference` | 2 | ceiling |" in out and "| 1.00 |" in out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_cpu_benchmark_prints_cpu_per_request():
    out = run("bench.cpu", "--routes", "/inference", "--seconds", "1")
    assert "| `/inference` | ceiling |" in out and "| `/inference` | ours, litert |" in out


def test_the_classroom_load_test_prints_its_table():
    out = run("bench.classroom", "--users", "5", "--spawn-rate", "5", "--duration", "5")
    assert "| `GET /api/workers` |" in out and "| **all** |" in out


def test_the_class_view_benchmark_prints_its_table():
    out = run("bench.class_view", "--students", "2")
    assert "every student on the class view" in out


@pytest.mark.skipif(shutil.which("wrk") is None or shutil.which("redis-server") is None, reason="wrk, redis")
def test_the_hosts_benchmark_prints_its_tables():
    out = run("bench.hosts", "--repeat", "1", "--duration", "1", "--class-size", "5", "--class-seconds", "3")
    assert "nginx → three hosts" in out and "A class of 5" in out


def test_the_abuse_benchmark_prints_what_the_server_withstood():
    out = run("bench.abuse", "--only", "master,pool")
    assert "| kill -9 master |" in out and "| pool cap |" in out and "8 workers (cap 8)" in out


def test_the_benchmarks_drawings_come_from_a_real_canvas(page, client, mnist_test):
    from bench.canvas import draw

    images, labels = mnist_test
    urls = draw(page, [images[i] for i in range(3)])
    for url, label in zip(urls, labels[:3], strict=True):
        assert url.startswith("data:image/png;base64,")
        png = base64.b64decode(url.split(",", 1)[1])
        assert Image.open(io.BytesIO(png)).size == (280, 280)
        assert client.post("/api/predict", json={"image": url}).get_json()["digit"] == label
