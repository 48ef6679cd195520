# perfmond in a container: built on Swift's Debian 12 image, run on Debian 12 slim with the
# runtime libraries only, as an unprivileged user. `make build` links the Swift standard library
# in, and with it FoundationNetworking against libcurl, hence libcurl4-openssl-dev to build (in the
# Makefile's BUILD_PACKAGES) and libcurl4 to run; Tests/build/link-packages-test.py checks both stages
# against the release link. The build steps are `make build` and `make install-files`, the same the tests run (no Docker engine runs on the CI machines, so the image itself is not
# built there; hadolint checks this file).
#   docker build -t perfmond .
#   docker run -p 9470:9470 -v perfmond-state:/var/lib/perfmond perfmond

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# The build's packages are the Makefile's (make deps), the same list `make run` installs.
COPY Makefile ./
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y -q --no-install-recommends make \
    && make deps \
    && rm -rf /var/lib/apt/lists/*
COPY Package.swift README.md ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Config ./Config
COPY systemd ./systemd
COPY docs ./docs
RUN make build \
    && make install-files DESTDIR=/staging PREFIX=/usr BINARY=.build/release/perfmond

FROM ${RUNTIME_IMAGE}
# libcurl4 carries the alert webhooks (FoundationNetworking); ca-certificates their https.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y -q --no-install-recommends libmicrohttpd12 libcurl4 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/perfmond --create-home --shell /usr/sbin/nologin perfmond
COPY --from=build /staging/ /
USER 10001:10001
# Inside the container only, listen on every interface (HTTP and StatsD); publish the ports to
# choose who reaches them.
ENV PERFMOND_HOST=0.0.0.0 \
    PERFMOND_STATSD_LISTEN=0.0.0.0:8125 \
    PERFMOND_STATE_FILE=/var/lib/perfmond/state.bin
VOLUME ["/var/lib/perfmond"]
EXPOSE 9470 8125/udp 8125/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/bin/perfmond", "health", "--url", "http://127.0.0.1:9470"]
# SIGTERM (docker stop) drains and writes the snapshot; give it more than the 10 s default if needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/perfmond"]
CMD ["serve", "--config", "/etc/perfmond/perfmond.yaml"]
