# The developer loop. `make test` is quick; `bin/test` is what CI runs.
.PHONY: install run test lint fmt ci

install:
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install -e '.[test]'

run:
	.venv/bin/landmark demo

test:
	.venv/bin/pytest -n $$(( $$(nproc) + 1 ))

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy landmark bench
	.venv/bin/lint-imports

fmt:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

ci:
	bash .ci/run
