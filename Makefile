# Balie: the two commands a new user runs are `make run` and `make test`.
# Environments are (re)built only when their requirement files change.

PYTHON ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
export OMP_NUM_THREADS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install train browser eval bench encoder memory tune clean-venvs

install: $(VENV)/.installed $(RASA_VENV)/.installed

# Project environment: action server, balie CLI, handover service, tests.
$(VENV)/.installed: requirements/main-lock.txt requirements/main.txt pyproject.toml
	@echo "==> Creating $(VENV) (action server, CLI, tests)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q --no-deps --ignore-requires-python rasa-sdk==3.6.2
	$(VENV)/bin/pip install -q -r requirements/main-lock.txt -r requirements/main.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

# Rasa server environment: rasa 3.6.21 on Python 3.11 needs its own lock.
$(RASA_VENV)/.installed: requirements/rasa-lock.txt requirements/rasa-extra.txt pyproject.toml
	@echo "==> Creating $(RASA_VENV) (Rasa server + WhatsApp channel); takes several minutes the first time"
	$(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa-lock.txt
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa-extra.txt
	$(RASA_VENV)/bin/pip install -q --no-deps -e .
	touch $@

# The Rasa model: retrained only when its inputs change (FAQ answers are not
# among them: they are read live by the action server).
RASA_INPUTS := config.yml domain.yml $(wildcard data/nlu/*.yml) data/rules.yml
models/balie.tar.gz: $(RASA_VENV)/.installed $(RASA_INPUTS)
	@echo "==> Training the Rasa model (inputs changed)"
	$(RASA_VENV)/bin/rasa train --quiet --fixed-model-name balie --out models
	@touch $@

train: models/balie.tar.gz

# Headless Chromium for the browser tests comes from Debian's packages.
browser:
	@test -x /usr/bin/chromium || { echo "==> Installing Chromium (Debian packages)"; \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: install train
	$(VENV)/bin/python -m bot.launcher

test: install train browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

eval: install
	$(VENV)/bin/balie faq eval --faq-dir data/faq --cases tests/eval/cases.yml --split heldout

bench: install train
	$(VENV)/bin/python benchmarks/faq_retrieval.py
	$(VENV)/bin/python benchmarks/privacy_gate.py

# Re-train the packaged encoder adapter (bot/faq/models/README.md; about 6 hours on 2 cores, not part
# of run/test: the adapter is committed). A long run on eight municipalities (three seeds of 5 epochs,
# ~45 min each), one seed of 2 epochs on those and twelve more (~70 min), one on those and four more
# (~85 min), one on all twenty-eight (~85 min), the four averaged with equal weight; the scope probe
# and the message memory are fitted on all twenty-eight (the earlier runs are written --adapter-only).
# The demo (data/faq), zeevliet and the sets of TUNE_TOWNS and FRESH_TOWNS below stay unseen, to
# tune and measure (tests/eval/README.md).
# `make memory` refits only the probe and the memory (about 15 minutes), e.g. after adding a set.
ADAPTER := bot/faq/models/e5-municipal-nl.npz
ADAPTER_TOWNS := othertown heuvelrade grootstede maasbroek wadderoog veendal lindehove kempenbeek
MORE_TOWNS := havenmond rijnstede kalkheuvel veenmeer nieuwland oudevest \
  zandhoeve stationsveld twentebroek merwedam kroonstad groenmarke
LATER_TOWNS := dijkhoven steenrode collegehaven vestingburg
LATEST_TOWNS := wierdeloo glashoek vlieghorst rozenkamp
TWENTY_TOWNS := $(ADAPTER_TOWNS) $(MORE_TOWNS)
TWENTY_FOUR_TOWNS := $(TWENTY_TOWNS) $(LATER_TOWNS)
ALL_TOWNS := $(TWENTY_FOUR_TOWNS) $(LATEST_TOWNS)
TOWN_SET = tests/eval/$(1)/faq:tests/eval/$(1)/cases.yml
TOWN_SOURCES = $(foreach town,$(1),--source $(call TOWN_SET,$(town)))
FINETUNE := OMP_NUM_THREADS=2 $(VENV)/bin/python -m bot.faq.finetune
SHORT_RUN := --seeds 1 --epochs 2
ALL_TOWNS_FINETUNE := $(FINETUNE) $(call TOWN_SOURCES,$(ALL_TOWNS)) --out $(ADAPTER)
encoder: install
	$(FINETUNE) $(call TOWN_SOURCES,$(ADAPTER_TOWNS)) --adapter-only --out var/e5-eight-municipalities.npz
	$(FINETUNE) $(call TOWN_SOURCES,$(TWENTY_TOWNS)) $(SHORT_RUN) --adapter-only \
	  --out var/e5-twenty-municipalities.npz
	$(FINETUNE) $(call TOWN_SOURCES,$(TWENTY_FOUR_TOWNS)) $(SHORT_RUN) --adapter-only \
	  --out var/e5-twenty-four-municipalities.npz
	$(ALL_TOWNS_FINETUNE) $(SHORT_RUN) --blend var/e5-eight-municipalities.npz \
	  --blend var/e5-twenty-municipalities.npz --blend var/e5-twenty-four-municipalities.npz

memory: install
	$(ALL_TOWNS_FINETUNE) --scope-only

# Choose the decision thresholds in balie.yml again (after a new adapter or encoder):
# tuned on the tune halves of the two unseen sets and on eight sets written blind for measuring
# (about 3,300 messages), reported on the held-out halves and the five freshest sets.
UNSEEN := data/faq:tests/eval/cases.yml tests/eval/zeevliet/faq:tests/eval/zeevliet/cases.yml
TUNE_TOWNS := brugwaarde grensheide akkerland brinkveen terpwoude bollenveld sluiskanaal heidebergen
FRESH_TOWNS := laadhaven vijfdorpen groeistad scheldemond achterveld
tune: install
	$(VENV)/bin/python -m bot.faq.tune $(foreach set,$(UNSEEN),--set $(set):tune --report $(set):heldout) \
	  $(foreach town,$(TUNE_TOWNS),--set $(call TOWN_SET,$(town))) \
	  $(foreach town,$(FRESH_TOWNS),--report $(call TOWN_SET,$(town)))

clean-venvs:
	rm -rf $(VENV) $(RASA_VENV)
