"""The server around the app: what gunicorn's master imports (gunicorn.conf.py).

- config.py     the settings, from the environment, checked (the master at start, each worker's app)
- state.py      the server's private state folder, which the master and the workers share
- master.py     the master's jobs in its hooks: stale folders cleaned, the model checked, ...
- deadlines.py  gunicorn's worker classes with a deadline on each request (slow clients)
- wire.py       what those workers write: an answer's headers with its body, their own errors as JSON

Standard library, gunicorn, psutil and prometheus_client only. Whatever the master imports,
every forked worker inherits, and a `kill -HUP` reload re-imports only what the master never
did: the app (webapp/), which imports config and state from here, never master.
"""
