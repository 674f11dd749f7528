# The two commands of README: `make demo` (main job) and `make test`. Both set up first.
.PHONY: setup demo test bench
VENV := .venv/bin

setup:
	bash .ci/setup.sh

demo: setup
	$(VENV)/vlmcsc demo

test: setup
	$(VENV)/python -m pytest -q tests
	$(VENV)/python benchmarks/phy.py --quick --json build/bench_phy_quick.json

bench: setup
	for b in benchmarks/*.py; do $(VENV)/python $$b --quick --json build/$$(basename $$b .py).json || exit 1; done
