# syntax=docker/dockerfile:1
# The API image, configured only by environment variables (README, Configuration). The same
# image runs the one-shot schema migration: `python -m graphql_service migrate` (the CQL
# files are package data).
# tests/test_docker_files.py lints this file and checks that its install and start commands
# are the ones `make test` exercises (the Makefile's pip install, the live server's command).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The dependencies first, exactly as requirements.lock pins them (`make lock`), every file
# checked against its hash: a rebuild installs the same files, and this layer is reused
# until the lock changes. cassandra-driver's wheel bundles libev and its compiled
# extensions: no compiler.
COPY requirements.lock ./
RUN /opt/venv/bin/python -m pip install -q --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY graphql_service ./graphql_service
# Then the package: the Makefile's install without `-e` (the image keeps no source tree),
# without the test extra and without resolving again. `pip check` fails the build when
# the lock no longer satisfies pyproject.toml.
RUN /opt/venv/bin/python -m pip install -q --no-deps . && /opt/venv/bin/python -m pip check

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    GRAPHIQL=false \
    GRAPHQL_INTROSPECTION=false
# A fixed numeric uid/gid so orchestrators can verify "runs as non-root" without /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Healthy = the process serves and Cassandra answers (/readyz); urlopen raises on a 503.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/readyz', timeout=2)"]
CMD ["python", "-m", "graphql_service", "serve"]
