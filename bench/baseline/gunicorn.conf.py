"""gunicorn settings for the baseline app: `gunicorn -c gunicorn.conf.py app:app`.

Workers, threads and the bind address are given on the command line by run_baseline.sh.
"""


def post_fork(server, worker):
    # Connect each worker to Cassandra right after the fork (the driver's connections and its
    # event-loop thread must be made in the process that uses them), so the first requests
    # of a benchmark do not pay for the connection. On failure the app connects lazily.
    try:
        import app

        app.get_session()
    except Exception as exc:  # pragma: no cover - reported, then retried on first request
        server.log.warning("worker %s: could not connect to Cassandra yet: %s", worker.pid, exc)
