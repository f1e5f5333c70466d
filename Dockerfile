# Liftoff's image: `liftoff serve` as a non-root user, data in /var/lib/liftoff.
# docs/operations.md#docker says how to run it, and what a sandbox in a
# container needs from the engine.

# Build: a static binary. CGO_ENABLED=0 works because the SQLite driver
# (modernc.org/sqlite) is pure Go; the package built is the one CI and
# `make build` build.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -o /out/liftoff ./cmd/liftoff

# Run: what builds and releases need beside Liftoff. git fetches the
# repositories (openssh-client for ssh:// and git@ URLs), bubblewrap is the
# sandbox builds and releases run in, ca-certificates lets git, ACME and
# webhooks verify HTTPS.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/liftoff --shell /usr/sbin/nologin liftoff \
 && install -d -o liftoff -g liftoff -m 0700 /var/lib/liftoff /var/lib/liftoff-key
COPY --from=build /out/liftoff /usr/local/bin/liftoff

# Every flag of liftoff serve reads LIFTOFF_<FLAG>. Listen on every
# interface of the container (the defaults are loopback only).
ENV LIFTOFF_DATA_DIR=/var/lib/liftoff \
    LIFTOFF_ADDR=0.0.0.0:8080 \
    LIFTOFF_PROXY_ADDR=0.0.0.0:8000
VOLUME ["/var/lib/liftoff"]
# 8080: dashboard, API and deploy hooks. 8000: the proxy to deployed services.
EXPOSE 8080 8000
USER liftoff
WORKDIR /var/lib/liftoff
# liftoff healthcheck reads LIFTOFF_ADDR as serve does: GET /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["liftoff", "healthcheck"]
ENTRYPOINT ["liftoff"]
CMD ["serve"]
