# The README's commands. `make run` and `make test` set up everything they need:
# the virtualenv, the dependencies, a local Cassandra node (unless
# CASSANDRA_CONTACT_POINTS names a cluster) and the schema.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# newman (tests/test_postman.py), pinned in package-lock.json; `npm ci` reruns when it changes.
NODE_STAMP := node_modules/.installed

.PHONY: run test setup lock cassandra cassandra-stop cassandra-status kafka kafka-stop kafka-status chromium migrate lint schema settings-table screenshot bench bench-pipeline bench-consume soak clean

run: migrate
	$(BIN)/python -m graphql_service serve

# In CI (CI=true) the node and the broker are stopped afterwards; locally they keep running
# so the next run starts in seconds (`make cassandra-stop`, `make kafka-stop` end them).
# Kafka is for tests/consume only: `make run` never needs it.
test: setup lint cassandra kafka chromium
	@status=0; $(BIN)/pytest || status=$$?; \
	if [ -n "$$CI" ]; then $(BIN)/python -m graphql_service kafka stop; $(BIN)/python -m graphql_service cassandra stop; fi; \
	exit $$status

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || \
		{ echo "npm (Node.js 18 or newer) is needed: the Postman collection is tested with newman from npm"; exit 1; }
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# requirements.lock: the image's dependencies, pinned with every file's hash (the Dockerfile
# installs exactly these). Resolved for any platform on the image's Python (3.11), whatever
# this machine runs. Keeps the current pins that still fit pyproject.toml;
# `make lock LOCK_FLAGS=--upgrade` takes the newest releases it allows.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
		--annotation-style line --custom-compile-command "make lock" $(LOCK_FLAGS) --output-file requirements.lock

cassandra: $(STAMP)
	$(BIN)/python -m graphql_service cassandra start

cassandra-stop: setup
	$(BIN)/python -m graphql_service cassandra stop

cassandra-status: setup
	$(BIN)/python -m graphql_service cassandra status

# tests/test_dashboard_browser.py drives Debian's Chromium through Playwright, which never
# downloads a browser of its own. Installed here, as set-up, never at test time.
chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "The browser test needs Debian's Chromium: sudo apt-get update && sudo apt-get install -y chromium"; \
			exit 1; \
		fi; }

# The local Apache Kafka broker (KRaft, 127.0.0.1:9092) for `consume`'s tests and benchmark.
kafka: $(STAMP)
	$(BIN)/python -m graphql_service kafka start

kafka-stop: setup
	$(BIN)/python -m graphql_service kafka stop

kafka-status: setup
	$(BIN)/python -m graphql_service kafka status

migrate: cassandra
	$(BIN)/python -m graphql_service migrate

# docs/examples/client.py is code people copy: held to the package's rules.
lint: setup
	$(BIN)/ruff check graphql_service tests docs/examples
	$(BIN)/ruff format --check graphql_service tests docs/examples
	$(BIN)/mypy
	$(BIN)/mypy docs/examples/client.py

# Refresh docs/dashboard.png (docs/dashboard.md's screenshot) from the browser test that
# imports a month of realistic starts into a keyspace of its own.
screenshot: setup cassandra chromium
	UPDATE_DOCS_SCREENSHOT=1 $(BIN)/pytest tests/api/test_dashboard_browser.py -k realistic_data

# Regenerate the SDL; tests/test_schema_sdl.py fails when it drifts from the code.
schema: setup
	$(BIN)/strawberry export-schema graphql_service.api.graphql.schema:schema --output schema.graphql

# The one-run ingest benchmark and the 10-minute soak (BENCHMARKS.md); not part of `make test`.
bench: migrate
	bench/run_all.sh

soak: migrate
	bench/soak.sh

# Issue 16's pipeline benchmark: ingest, first and second read of every player, this service
# and the original design in one run, each in a keyspace of its own (DURATION=5s PLAYERS=500: quick).
bench-pipeline: setup
	bench/pipeline.sh
# The Kafka consumer beside HTTP ingest (bench/consume.py, BENCHMARKS.md); EVENTS=40000 for a check.
bench-consume: migrate kafka
	$(BIN)/python bench/consume.py

# Regenerate the README's configuration table; tests/test_settings.py fails when it drifts.
settings-table: setup
	$(BIN)/python scripts/settings_table.py

clean:
	rm -rf $(VENV) .run node_modules
