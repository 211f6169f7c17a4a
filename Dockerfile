# The server as a container image: gunicorn, the Flask app and the shipped model (LiteRT).
#
#   docker build -t mnist-serving .
#   docker run -p 2431:2431 mnist-serving
#
# Every setting is an environment variable (README, "Settings"): docker run -e MODE=threads ...
# With TensorFlow (the lab's `tensorflow` workload and RUNTIME=tensorflow; about 1.5 GB more):
#
#   docker build --build-arg WITH_TENSORFLOW=1 -t mnist-serving:tensorflow .

# -- python: what the two build stages start from ------------------------------------------
FROM debian:bookworm-slim AS python
# ca-certificates: pip checks the package index's certificate against the system's.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# -- packages: what the server imports, in a virtual environment ---------------------------
# requirements-serve.txt: without the lab's TensorFlow and the training tools; TensorFlow at
# requirements.txt's pin only when asked for. pip itself is left out of the result.
FROM python AS packages
ARG WITH_TENSORFLOW=0
COPY requirements-serve.txt requirements.txt /tmp/
RUN case "$WITH_TENSORFLOW" in \
      0|1) ;; \
      *) echo "WITH_TENSORFLOW must be 0 or 1, not '$WITH_TENSORFLOW'" >&2; exit 1 ;; \
    esac \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements-serve.txt \
 && if [ "$WITH_TENSORFLOW" = 1 ]; then \
      grep -E '^tensorflow' /tmp/requirements.txt > /tmp/tensorflow.txt \
      && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/tensorflow.txt; \
    fi \
 && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools

# -- app: the server's files, compiled once ------------------------------------------------
# .dockerignore lets in only what the server reads. Compiled here: the server's user cannot
# write beside the sources, nor can anyone on a read-only root filesystem.
FROM python AS app
COPY . /app/
RUN cd /app \
 && mv deploy/healthcheck.py . \
 && rm -r deploy requirements.txt requirements-serve.txt \
 && python3 -m compileall -q webapp serving healthcheck.py

# -- the image: Python, the packages and the app; no compiler, pip or package lists ---------
FROM debian:bookworm-slim
# STATE_DIR unset: each start makes a private state folder in /tmp (gone with the container).
# One that outlives it: a volume on /var/lib/mnist-serving (the user's, 0700) and
# -e STATE_DIR=/var/lib/mnist-serving.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mnist \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin mnist \
 && install -d -o mnist -g mnist -m 0700 /var/lib/mnist-serving
# Owned by root, read-only to the server's user. The app last: it changes most often.
COPY --from=packages /opt/venv /opt/venv
COPY --from=app /app /app

WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    BIND=0.0.0.0:2431
USER 10001:10001
EXPOSE 2431
# Every 10 s, /readyz at BIND's address (deploy/healthcheck.py).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "healthcheck.py"]
# gunicorn is PID 1 (exec form, no shell): `docker stop` sends it SIGTERM and it lets the
# requests in flight finish (GRACEFUL_TIMEOUT, 10 s: give `docker stop -t 15` more than that).
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
