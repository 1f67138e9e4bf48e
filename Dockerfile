# syntax=docker/dockerfile:1.7
# One image, "bookstore", with every service binary in /usr/local/bin
# (user, token, inventory, order, gateway); a Deployment or compose service
# picks one by command. Why one image, cgo and non-root: docs/images.md.
#
#   docker build -t bookstore:0.1.0 .                                   # services
#   docker build -t bookstore-operator:0.1.0 --target operator .        # operator
#
# The go build command lives in hack/build.sh, which CI runs too.

ARG GO_VERSION=1.26

# Debian bookworm (glibc) builder: confluent-kafka-go links its bundled
# librdkafka, which is built for glibc; the runtime below is glibc too.
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    hack/build.sh /out services

FROM golang:${GO_VERSION}-bookworm AS build-operator
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    hack/build.sh /out operator

# The operator is pure Go: the static (no libc) distroless image.
FROM gcr.io/distroless/static-debian12:nonroot AS operator
COPY --from=build-operator /out/bookstore-operator /usr/local/bin/bookstore-operator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bookstore-operator"]

# The services: distroless base (glibc, libssl, CA certificates, tzdata; no
# shell, no package manager), user nonroot (65532). Last stage = default target.
FROM gcr.io/distroless/base-debian12:nonroot AS bookstore
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENV BOOKSTORE_HTTP_ADDR=:8080
CMD ["/usr/local/bin/gateway"]
