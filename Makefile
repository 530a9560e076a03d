# The README's commands. `make run` and `make test` set up everything they need:
# the virtualenv, the dependencies, a local Cassandra node (unless
# CASSANDRA_CONTACT_POINTS names a cluster) and the schema.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup cassandra cassandra-stop cassandra-status migrate lint schema clean

run: migrate
	$(BIN)/python -m graphql_service serve

# In CI (CI=true) the node is stopped afterwards; locally it keeps running so the next
# run starts in seconds (`make cassandra-stop` ends it).
test: setup lint cassandra
	@status=0; $(BIN)/pytest || status=$$?; \
	if [ -n "$$CI" ]; then $(BIN)/python -m graphql_service cassandra stop; fi; \
	exit $$status

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

cassandra: setup
	$(BIN)/python -m graphql_service cassandra start

cassandra-stop: setup
	$(BIN)/python -m graphql_service cassandra stop

cassandra-status: setup
	$(BIN)/python -m graphql_service cassandra status

migrate: cassandra
	$(BIN)/python -m graphql_service migrate

lint: setup
	$(BIN)/ruff check graphql_service tests
	$(BIN)/ruff format --check graphql_service tests
	$(BIN)/mypy

# Regenerate the SDL; tests/test_schema_sdl.py fails when it drifts from the code.
schema: setup
	$(BIN)/strawberry export-schema graphql_service.schema:schema --output schema.graphql

clean:
	rm -rf $(VENV) .run
