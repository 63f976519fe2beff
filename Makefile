# zhen: Chinese text in input/, bilingual TEI out in output/.
#   make setup   virtualenv, project, schema; tries to install the real zh→en model
#   make         every input file (.txt .html .htm .docx .md) → output/*.tei.xml, only what
#                changed (safe with -j); input/metadata.csv|tsv and NAME.meta.json give metadata;
#                lists outputs whose input is gone from input/
#   make prune   remove those (their human translations are kept in the memory)
#   make test    lint (code and glossary) and the whole test suite, on every core (what CI runs)
#   make check   lint and the fast unit tests (-m "not slow"), for the edit-test loop
#   make bench   throughput table on a synthetic base-size model (see bench/)
#   make corpus  output/corpus.xml, a teiCorpus over the outputs of the files in input/
#   make clean   remove generated TEI (human translations in it are kept in the memory)
# Pick a model with MODEL=name|folder|file.argosmodel (default: $ZHEN_MODEL or the installed one);
# decode on a Dask cluster with CLUSTER=tcp://HOST:8786 or CLUSTER=local:N (or $ZHEN_CLUSTER).

VENV     ?= .venv
PYTHON   ?= python3
ZHEN     := $(VENV)/bin/zhen
GLOSSARY := glossary/terms.tsv
# Only to tell an empty input/ apart: zhen itself lists the folder (names with spaces,
# quotes or any other character are safe that way).
INPUTS   := $(wildcard input/*)
MODEL    ?=
ZHEN_FLAGS ?=
MODEL_OPT := $(if $(MODEL),--model "$(MODEL)",)
CLUSTER  ?=
CLUSTER_OPT := $(if $(CLUSTER),--cluster "$(CLUSTER)",)
# make -k: go on past a bad input, as zhen --keep-going does.
KEEP_GOING = $(if $(findstring k,$(firstword -$(MAKEFLAGS))),--keep-going,)
ARGOS_VERSION := 1.11.0
# A shell word for any file name: 'it'\''s'
quote = '$(subst ','\'',$(1))'

.PHONY: all setup browser postgres omegat test check bench corpus prune clean FORCE

# One zhen process for every input: the model is loaded once and sentences of all files
# share decoder batches.  `--update` skips each input whose TEI is up to date by content
# (its header names the same source sha256, model, settings, glossary sha256 and zhen
# version), so a changed MODEL or glossary rebuilds, a touched file does not, and a run
# with nothing to do loads no model.  Outputs are written atomically and the translation
# memory is safe for concurrent writers, so parallel makes are safe.
# `zhen translate input` reads every input file of the folder itself, sorted by name.
all: | $(ZHEN)
ifeq ($(INPUTS),)
	@echo "no input files in input/ to translate"
else
	@echo "$(ZHEN) translate --update $(KEEP_GOING) input -o output $(MODEL_OPT) $(CLUSTER_OPT) $(ZHEN_FLAGS)"
	@$(ZHEN) translate --update $(KEEP_GOING) input -o output --glossary $(GLOSSARY) $(MODEL_OPT) $(CLUSTER_OPT) $(ZHEN_FLAGS)
	@$(ZHEN) prune --dry-run output --sources input
endif

# One output by name (make output/a.tei.xml), from whichever input/a.* zhen reads.
INPUT_SUFFIXES := txt html htm docx md markdown
define ONE_OUTPUT
output/%.tei.xml: input/%.$(1) FORCE | $$(ZHEN)
	$$(ZHEN) translate --update $$(call quote,$$<) -o output --glossary $$(GLOSSARY) $$(MODEL_OPT) $$(CLUSTER_OPT) $$(ZHEN_FLAGS)
endef
$(foreach suffix,$(INPUT_SUFFIXES),$(eval $(call ONE_OUTPUT,$(suffix))))

FORCE:

$(ZHEN):
	@echo "zhen is not installed: run 'make setup' first" >&2; exit 1

# argostranslate is installed with --no-deps: its metadata pins stanza (which pulls
# torch, several GB), spacy and minisbd, none of which zhen imports.  What zhen uses of it
# (package metadata and tokenizer) needs only packaging and sentencepiece.
setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV)/bin/python -m pip install --quiet --no-deps 'argostranslate==$(ARGOS_VERSION)'
	@# llama-cpp-python[server] for the LLM engine's tests: built from source the first time
	@# (5-10 minutes on 2 cores; pip caches the wheel); without a compiler those tests skip.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(VENV)/bin/python -m pip install --quiet -e '.[llm-test]' \
	  || echo "make setup: llama-cpp-python could not be built; tests/test_llm.py's server tests will skip"
	$(VENV)/bin/zhen schema fetch
	@$(MAKE) --no-print-directory browser
	@$(MAKE) --no-print-directory postgres
	@$(MAKE) --no-print-directory omegat
	@$(VENV)/bin/python -m zhen.engines.setup_model

# The reading view's test drives Debian's headless Chromium (skipped where it is absent);
# a CJK font makes its screenshots show the Chinese.
browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "chromium and a CJK font: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     chromium fonts-wqy-zenhei >/dev/null) \
	  || echo "chromium could not be installed: the HTML view's browser test will be skipped"; \
	else echo "no chromium (install Debian's chromium as root to run the browser test)"; fi

# The shared memory's tests start a throwaway PostgreSQL server of their own (initdb and
# pg_ctl from Debian's postgresql, in a temporary folder on 127.0.0.1); skipped where the
# server is absent.
PG_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "postgresql server binaries: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  ($(PG_INSTALL) 2>/dev/null || (apt-get update -qq && $(PG_INSTALL))) \
	  || echo "postgresql could not be installed: the shared memory's tests will be skipped"; \
	else echo "no postgresql (install Debian's postgresql as root to run the shared memory's tests)"; fi

# The OmegaT round trip's tests run Debian's OmegaT 3.6 headless (`omegat PROJECT
# --mode=console-translate`, with a default JRE); skipped where it is absent.
OMEGAT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq omegat >/dev/null
omegat:
	@if command -v omegat >/dev/null 2>&1; then \
	  echo "omegat: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  ($(OMEGAT_INSTALL) 2>/dev/null || (apt-get update -qq && $(OMEGAT_INSTALL))) \
	  || echo "omegat could not be installed: the OmegaT round trip's tests will be skipped"; \
	else echo "no omegat (install Debian's omegat as root to run the OmegaT round trip's tests)"; fi

# Tests run in parallel (pytest-xdist, one worker a core; TEST_WORKERS=0 for one process).
# Tests that share a costly module fixture (a cluster, a server, a built wheel) are kept on
# one worker by their xdist_group mark (--dist loadgroup).
TEST_WORKERS ?= auto
# The suite starts many Python processes (zhen, Dask, servers): let them cache compiled
# modules (in the ignored __pycache__ folders) even where the environment says not to.
test check: export PYTHONDONTWRITEBYTECODE :=
test:
	$(VENV)/bin/ruff check .
	$(ZHEN) glossary lint $(GLOSSARY)
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# The edit-test loop: lint and every test not marked slow (no model, JVM, real process,
# server or browser; tests/conftest.py marks those), in one process.
check:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q -m "not slow" -p no:xdist

bench:
	$(VENV)/bin/python bench/run.py

corpus: all
	$(ZHEN) corpus output -o output/corpus.xml --sources input

# Outputs whose input left input/: their human translations go into the memory first; if
# that fails, nothing is removed.
prune: | $(ZHEN)
	$(ZHEN) prune output --sources input

# People's translations in the outputs go into the memory first; if that fails, nothing
# is removed.
clean:
	@set -- output/*.tei.xml; if [ -e "$$1" ]; then \
	  $(ZHEN) memory import "$$@" || { echo "make clean: the human translations in output/ \
	could not be saved to the translation memory; nothing was removed" >&2; exit 1; }; fi
	rm -f output/*.tei.xml output/corpus.xml output/.*.tmp
