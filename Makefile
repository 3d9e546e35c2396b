# Build and test entry points for the alicloud.ram collection.
#   make test        everything CI runs (see TEST_STEPS); prints a summary table
#   make help        list the targets
# The steps live in tests/tools/steps.sh; tests/tools/run_steps.py runs and times them.

SHELL := /usr/bin/env bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
export PYTHON

RUN_STEPS := $(PYTHON) tests/tools/run_steps.py
TEST_STEPS := venv layout sanity lint changelog-lint build docs-lint docs units emulator-tests integration targets core-versions

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: test
test: ## sanity, lint, changelog lint, build + ansible-doc, docs, unit, emulator, integration tests; playbooks on the oldest/newest ansible-core
	@$(RUN_STEPS) $(TEST_STEPS)

.PHONY: venv
venv: ## create/update .venv from test-requirements.txt and requirements.txt
	@tests/tools/venv.sh

.PHONY: sanity
sanity: ## ansible-test sanity --python 3.11 on a copy of the tree
	@$(RUN_STEPS) venv layout sanity

.PHONY: lint
lint: ## ansible-lint from the repository root (production profile, see .ansible-lint)
	@$(RUN_STEPS) venv lint

.PHONY: units
units: ## pytest tests/unit
	@$(RUN_STEPS) venv layout units

.PHONY: emulator-tests
emulator-tests: ## pytest tests/emulator/tests
	@$(RUN_STEPS) venv emulator-tests

.PHONY: integration
integration: ## pytest tests/integration (real ansible-playbook runs against the emulator)
	@$(RUN_STEPS) venv integration

.PHONY: targets
targets: ## ansible-test integration targets (tests/integration/targets) against the emulator
	@$(RUN_STEPS) venv targets

.PHONY: cloud-test
cloud-test: venv ## the integration targets on the account of tests/integration/cloud-config-alicloud.ini (or CONFIG=path), else the emulator; TARGETS=names
	@tests/tools/cloud_test.sh $(if $(CONFIG),--config $(CONFIG)) $(TARGETS)

.PHONY: build
build: ## ansible-galaxy collection build into build/
	@$(RUN_STEPS) venv layout build-artifact

.PHONY: docs-lint
docs-lint: ## antsibull-docs lint-collection-docs --plugin-docs
	@$(RUN_STEPS) venv layout docs-lint

.PHONY: docs
docs: ## build the collection documentation site (antsibull-docs + Sphinx) into build/docs/
	@$(RUN_STEPS) venv layout docs

.PHONY: guides
guides: venv ## write the site's guide pages docs/docsite/rst/*.rst from the Markdown guides docs/*.md
	@.venv/bin/python tests/tools/guides_rst.py

.PHONY: changelog-lint
changelog-lint: ## antsibull-changelog lint (the fragments and changelogs/changelog.yaml)
	@$(RUN_STEPS) venv changelog-lint

.PHONY: changelog
changelog: ## release: antsibull-changelog lint + release for galaxy.yml's version (see docs/releasing.md)
	@$(RUN_STEPS) venv changelog-release

.PHONY: demo
demo: venv ## run the end-to-end demo against the local emulator
	@if [[ -f tests/tools/demo.sh ]]; then \
		bash tests/tools/demo.sh; \
	else \
		echo "would run: bash tests/tools/demo.sh (start the emulator, run playbooks/ setup twice, lookup, teardown)"; \
		echo "demo not available yet"; \
		exit 1; \
	fi

.PHONY: matrix
matrix: ## sanity and the example playbooks on every supported ansible-core release (2.17 to 2.21)
	@$(RUN_STEPS) matrix

.PHONY: emulator
emulator: ## start the local emulator in the background; prints the export lines to eval
	@tests/tools/emulator.sh start

.PHONY: emulator-stop
emulator-stop: ## stop the emulator started by make emulator
	@tests/tools/emulator.sh stop

.PHONY: bench
bench: venv ## run tests/benchmarks/run.py: results in tests/benchmarks/results/, charts in docs/charts/
	@if [[ -f tests/benchmarks/run.py ]]; then \
		.venv/bin/python tests/benchmarks/run.py; \
	else \
		echo "no benchmarks yet (tests/benchmarks/run.py is missing)"; \
		exit 1; \
	fi

.PHONY: charts
charts: venv ## draw the benchmark charts (docs/charts/*.svg) from the results of the last make bench
	@.venv/bin/python tests/benchmarks/run.py --charts-only

.PHONY: clean
clean: ## remove build output, caches and the scratch tree (keeps .venv)
	@source tests/tools/lib.sh && rm -rf "$$WORKDIR"
	rm -rf build/ tests/output/ .pytest_cache/ .ansible/ collections/ changelogs/.plugin-cache.yaml
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
