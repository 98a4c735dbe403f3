# Every target creates .venv itself, so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck fmt-check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# The distribution was called `ddl` before it became `ddl-lang`: an old editable install would
	@# register the pytest and llm plugins twice.
	@$(BIN)/python -m pip uninstall --quiet --yes ddl 2>/dev/null || true
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ddl check examples/
	$(BIN)/ddl run examples/books.ddl --param genre=mystery --param count=3 --param decade=1950
	$(BIN)/ddl run examples/bill.ddl --param total=84.60 --param people=3 --param tip_percent=15
	$(BIN)/ddl run examples/weather.ddl --param city=paris
	$(BIN)/ddl run examples/books.ddl "suggest 3 mystery books from the 1950s"
	$(BIN)/ddl run examples/dates.ddl "what date is 30 days after 2024-03-15?"
	$(BIN)/ddl grammar sample examples/bill.ddl -n 3
	$(BIN)/ddl grammar overlap examples/books.ddl examples/weather.ddl
	$(BIN)/ddl fmt --check examples/
	$(BIN)/ddl handle examples "suggest 3 mystery books from the 1950s"
	$(BIN)/ddl handle examples "hey, can you split a \$$150 bill among five people with a 20% tip?"
	$(BIN)/ddl handle examples "could you recommend a dozen sci-fi novels from the 80s please"
	$(BIN)/ddl handle examples "what's the weather in tokyo in fahrenheit?" --format json
	$(BIN)/ddl stats examples --cost-per-call 0.002

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests/

lint: $(STAMP)
	$(BIN)/ruff check ddl tests
	$(BIN)/mypy ddl

bench: $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
