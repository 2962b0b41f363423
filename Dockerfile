# syntax=docker/dockerfile:1
#
# Roost's container image: one static binary, /roost, on a distroless base
# (CA certificates, /etc/passwd with the nonroot user, no shell). The same
# image runs every role: `serve` (web node), `work` (workers), `migrate`,
# and the admin commands (`kubectl exec deploy/roost-web -- /roost ...`).
#
#   docker build -t roost .
#   docker run --rm roost --help
#
# The Helm chart (charts/roost) and docker-compose.yml run this image.

# The builder matches go.mod's Go version.
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so a source change reuses the module download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static (no cgo: pgx, go-redis and the rest are pure Go), reproducible
# paths, no symbol tables.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/roost ./cmd/roost
# The data directory, owned by the runtime user: a named volume mounted
# there starts with this ownership.
RUN mkdir -p /out/data/media

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/roost /roost
COPY --from=build --chown=65532:65532 /out/data /var/lib/roost
# Media and account archives (ROOST_MEDIA_DIR); mount a volume or use S3.
ENV ROOST_MEDIA_DIR=/var/lib/roost/media
# 8080: plain HTTP (ROOST_HTTP_ADDR, or the ACME/redirect port with TLS on),
# 8443: HTTPS (ROOST_HTTPS_ADDR), 9090: /metrics, /healthz, /readyz
# (ROOST_METRICS_ADDR). Unprivileged ports: the process has no
# capabilities; map 80 and 443 onto them outside.
ENV ROOST_HTTP_ADDR=:8080 ROOST_HTTPS_ADDR=:8443 ROOST_HTTP_REDIRECT_ADDR=:8080 ROOST_METRICS_ADDR=:9090
EXPOSE 8080 8443 9090
# distroless's nonroot user.
USER 65532
ENTRYPOINT ["/roost"]
CMD ["serve"]
