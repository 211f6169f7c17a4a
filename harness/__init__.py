"""Running the real parts beside the app: gunicorn servers, nginx, a Chromium for Playwright.

Used by the tests, the benchmarks and the lab command; never by a worker.
"""
