# syntax=docker/dockerfile:1
#
# rds-provision: the GitHub Action image, also used as a Kubernetes Job.
#
#   docker build -t rds-provision .                      # runs as root (GitHub Docker actions need it)
#   docker build -t rds-provision:nonroot \
#     --build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot .   # uid 65532, for Kubernetes
#
# The final image is distroless/static (CA certificates, tzdata, /etc/passwd,
# no shell) plus one static binary and the AWS RDS global CA bundle.

ARG GO_IMAGE=golang:1.26.8-alpine
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:latest

FROM ${GO_IMAGE} AS build
WORKDIR /src
RUN apk add --no-cache ca-certificates curl
# The CA bundle that signs every RDS server certificate, for sslmode=verify-full.
RUN curl -fsSL --retry 3 -o /rds-global-bundle.pem \
      https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \
 && grep -q 'BEGIN CERTIFICATE' /rds-global-bundle.pem \
 && chmod 0644 /rds-global-bundle.pem
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/rds-provision ./cmd/rds-provision

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="rds-provision" \
      org.opencontainers.image.description="Self-service PostgreSQL databases on a shared AWS RDS instance" \
      org.opencontainers.image.source="https://github.com/goldenpath/rds-provision"
COPY --from=build /rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
COPY --from=build /out/rds-provision /usr/local/bin/rds-provision
# No USER: GitHub runs Docker actions as root. For Kubernetes build the
# :nonroot variant above or set securityContext.runAsUser: 65532.
ENTRYPOINT ["/usr/local/bin/rds-provision"]
