# rds-provision for Docker users: the same image as the published one (ko,
# .github/workflows/release.yml), built with Docker.
#
#   docker build -t rds-provision .                      # runs as root (GitHub Docker actions need it)
#   docker build -t rds-provision:nonroot --build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639 .
#
# The final image is distroless/static (CA certificates, tzdata, /etc/passwd,
# no shell) plus one static binary and the AWS RDS CA bundle vendored in
# certs/ (checked against its pinned SHA-256 here and in CI).
#
# No "# syntax=" line: the builder's own frontend is enough, so no
# frontend image is pulled. Base images are pinned by digest (the tag for
# the reader, the digest for the bytes); Dependabot (docker) proposes new
# digests, and the Makefile, ci.yml and release.yml must use the same ones
# (go test ./internal/release/); Dependabot reads FROM lines, not ARG
# defaults, so BASE_IMAGE's digest is moved by hand with the others. These digests were taken from the
# published digests of these tags as other public projects pin them; the
# machine this was written on cannot reach the registries. Check one with
# `crane digest gcr.io/distroless/static-debian12:nonroot` or
# `docker buildx imagetools inspect golang:1.26.8-alpine`.

ARG BASE_IMAGE=gcr.io/distroless/static-debian12:latest@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2

FROM golang:1.26.8-alpine@sha256:ce864e7223ac17b1775e6fd0b4c0db580c2eb50e7953a427916379e4b92a1628 AS build
WORKDIR /src
# The CA bundle that signs every RDS server certificate, for sslmode=verify-full.
COPY certs/rds-global-bundle.pem certs/rds-global-bundle.pem.sha256 /certs/
RUN cd /certs && sha256sum -c rds-global-bundle.pem.sha256 && chmod 0644 rds-global-bundle.pem
COPY go.mod go.sum ./
RUN go mod download
COPY VERSION version.go ./
COPY cmd/ cmd/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/rds-provision ./cmd/rds-provision

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="rds-provision" \
      org.opencontainers.image.description="Self-service PostgreSQL databases on a shared AWS RDS instance" \
      org.opencontainers.image.source="https://github.com/goldenpath/rds-provision"
COPY --from=build /certs/rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
COPY --from=build /out/rds-provision /usr/local/bin/rds-provision
# No USER: GitHub runs Docker actions as root. For Kubernetes use the
# :nonroot variant above (or the published :vX-nonroot image) or set
# securityContext.runAsUser: 65532.
ENTRYPOINT ["/usr/local/bin/rds-provision"]
