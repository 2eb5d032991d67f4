# The API image: one static (musl) binary and CA certificates on `scratch`, run as a
# numeric non-root user. Build from the repository root:
#
#   docker build -f docker/api.Dockerfile .
#
# compiles everything in the container (with dependency-layer caching through cargo-chef);
# `cargo xtask images` instead builds the binary on the host, reusing its cargo cache, and
# builds only the final stage, its `COPY --from=dist` reading a directory of those files.
# Either way the binary is built with `cargo auditable`, so it carries its dependency list
# (what syft and other scanners read).

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-alpine AS chef
RUN apk add --no-cache musl-dev ca-certificates \
 && cargo install cargo-chef --locked --version 0.1.77 \
 && cargo install cargo-auditable --locked --version 0.7.7
WORKDIR /src

# The dependency graph alone (manifests and the lock file): unchanged sources reuse the
# next stage's dependency layer.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json --bin api

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json --package api
COPY . .
RUN cargo auditable build --release --locked --package api --bin api \
 && mkdir -p /dist/etc/ssl/certs \
 && cp target/release/api /dist/api \
 && cp /etc/ssl/certs/ca-certificates.crt /dist/etc/ssl/certs/

# What the image holds. `cargo xtask images` supplies it from the host instead.
FROM scratch AS dist
COPY --from=build /dist/ /

# The files first: Docker's legacy builder gives a step on `scratch` that commits no files
# the daemon's own platform, so a later COPY for another platform (arm64 on amd64) fails.
FROM scratch
COPY --from=dist / /
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/randoms-rs/randoms
LABEL org.opencontainers.image.title="randoms api" \
      org.opencontainers.image.description="The randoms HTTP API (actix-web, PostgreSQL)" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
ENV API_HOST=0.0.0.0 \
    API_PORT=3080 \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 3080
ENTRYPOINT ["/api"]
