# perfmond — build, run, test and benchmark on a fresh Debian machine with Swift 6.
# Every install step lives here, so that CI's fresh clone needs nothing else.

SWIFT   ?= swift
CONFIG  ?= Config/perfmond.yaml
PREFIX  ?= /usr/local
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages, installed with apt only when missing.
BUILD_PACKAGES := libmicrohttpd-dev zlib1g-dev pkg-config
TEST_PACKAGES  := curl jq prometheus prometheus-alertmanager
BENCH_PACKAGES := wrk jq
# Python tools the tests use (PyPI), installed only when missing.
TEST_PYTHON    := openapi-spec-validator schemathesis pyyaml

.PHONY: all build run test bench clean deps bench-deps test-deps help

all: build

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

deps:  ## install the system packages the build needs
	$(call apt_install,$(BUILD_PACKAGES))

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

build: deps  ## build the release binary (.build/release/perfmond)
	$(SWIFT) build -c release --product perfmond

run: build  ## build and start the daemon on the default config
	.build/release/perfmond --config $(CONFIG)

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))
	@for p in $(TEST_PYTHON); do python3 -m pip show -q $$p >/dev/null 2>&1 || python3 -m pip install -q $$p; done

test: test-deps  ## install what the tests need, then run the whole suite
	python3 -m openapi_spec_validator docs/openapi.yaml
	$(SWIFT) build --build-tests
	Tests/api/schemathesis.sh
	Tests/prometheus/scrape-test.sh
	$(SWIFT) test --skip-build

bench: bench-deps build  ## benchmarks against a raw libmicrohttpd server; JSON in bench/results/
	Benchmarks/run.sh

clean:  ## remove build products
	rm -rf .build .build-* Benchmarks/raw-mhd-server
