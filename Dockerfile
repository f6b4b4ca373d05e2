# Build: a static binary (pure-Go SQLite, CGO_ENABLED=0).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/simjobs ./cmd/simjobs \
 && mkdir -p /out/data

# Run: no shell, no package manager, a non-root user (nonroot, uid 65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/simjobs /usr/local/bin/simjobs
# The data dir (database, job logs) is a volume owned by the server's user,
# so a fresh named volume is writable without a chown.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
EXPOSE 8080
USER 65532:65532
ENV SIMJOBS_DATA_DIR=/data \
    SIMJOBS_ADDR=0.0.0.0:8080 \
    SIMJOBS_SERVER=http://127.0.0.1:8080
# The image has no shell or curl: the binary checks itself (GET /healthz).
# Under --tls-cert, set SIMJOBS_SERVER=https://... and SSL_CERT_FILE to a
# file that trusts the certificate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/simjobs", "health"]
# Listening beyond loopback needs authentication: mount a tokens file and
# project roots, e.g. --auth token --tokens-file /data/tokens --project-roots /projects
# The image runs `simjobs serve`; any other command replaces it
# (docker run IMAGE token add alice --role admin ...).
ENTRYPOINT ["/usr/local/bin/simjobs"]
CMD ["serve"]
