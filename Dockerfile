# Build: a static binary (pure-Go SQLite, CGO_ENABLED=0).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/simjobs ./cmd/simjobs

# Run: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/simjobs /usr/local/bin/simjobs
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
# Listening beyond loopback needs authentication: mount a tokens file and
# project roots, e.g. --auth token --tokens-file /data/tokens --project-roots /projects
ENTRYPOINT ["/usr/local/bin/simjobs", "serve", "--data-dir", "/data", "--addr", "0.0.0.0:8080"]
