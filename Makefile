# Bihuan: `make run` starts the whole stack, `make test` runs every test.
# Both work on a fresh machine: they build .venv from the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when a requirements file changes.
RUN_STAMP := $(VENV)/.installed-requirements
TEST_STAMP := $(VENV)/.installed-requirements-test
PYTEST_ARGS ?=

.PHONY: venv translations run test bandit system-deps clean

venv: $(RUN_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(TEST_STAMP): requirements-test.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-test.txt
	touch $@ $(RUN_STAMP)

# pybabel fails when there is no catalogue yet; that is not an error here.
translations: venv
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		echo "$(BIN)/pybabel -q compile -d translations -f"; \
		$(BIN)/pybabel -q compile -d translations -f; \
	else \
		echo "No catalogues under translations/; nothing to compile"; \
	fi

run: venv translations
	$(BIN)/python scripts/run.py

system-deps:
	bash scripts/install_system_deps.sh

# The whole suite, then again under faketime at two hours when UTC and Shanghai disagree
# about the date (scripts/test_at_odd_hours.sh); `make test ODD_HOURS=0` skips the reruns.
# DB=both (the default): the main run on SQLite, the reruns on a temporary PostgreSQL cluster
# (tests/pgsuite.py), so every module runs on both; DB=sqlite or DB=postgresql: all on that one.
# Two processes (pytest-xdist), each test module in one of them: the machine has two cores.
ODD_HOURS ?= 1
DB ?= both
MAIN_DB := $(if $(filter postgresql,$(DB)),postgresql,sqlite)
ODD_DB := $(if $(filter sqlite,$(DB)),sqlite,postgresql)
PARALLEL ?= -n 2 --dist loadfile
test: $(TEST_STAMP) system-deps translations bandit
	@case "$(DB)" in both|sqlite|postgresql) ;; *) echo "DB must be both, sqlite or postgresql" >&2; exit 2;; esac
	TEST_DB=$(MAIN_DB) $(BIN)/python -m pytest -q tests $(PARALLEL) $(PYTEST_ARGS)
	@if [ "$(ODD_HOURS)" = "1" ]; then TEST_DB=$(ODD_DB) bash scripts/test_at_odd_hours.sh $(PARALLEL) $(PYTEST_ARGS); fi

# The static security check, before the tests: any high-severity finding in tickets/ or worker/
# fails; medium ones are fixed or marked `# nosec <id>  # why` on the line.
bandit: $(TEST_STAMP)
	$(BIN)/bandit -q -r tickets worker --severity-level high

# Leaves instance/ (the database, uploads and mail of `make run`) alone.
clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find translations -name '*.mo' -delete 2>/dev/null || true
