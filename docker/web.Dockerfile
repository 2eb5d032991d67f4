# The web image: the static server (one static musl binary), the SPA bundle it serves and
# CA certificates on `scratch`, run as a numeric non-root user. Build from the repository
# root:
#
#   docker build -f docker/web.Dockerfile .
#
# compiles everything in the container (dependency layers cached through cargo-chef; the
# bundle is built by the same `cargo xtask web` as on a workstation); `cargo xtask images`
# instead builds on the host, reusing its cargo cache, and builds only the final stage, its
# `COPY --from=dist` reading a directory of those files.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-alpine AS chef
# binaryen: wasm-opt, so the bundle is the size-optimised one.
RUN apk add --no-cache musl-dev ca-certificates binaryen \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-chef --locked --version 0.1.77 \
 && cargo install cargo-auditable --locked --version 0.7.7
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Three dependency layers: the server, the SPA (wasm, size profile) and xtask, which builds it.
RUN cargo chef cook --release --recipe-path recipe.json --package web-server \
 && cargo chef cook --profile wasm-release --target wasm32-unknown-unknown \
      --recipe-path recipe.json --package web \
 && cargo chef cook --recipe-path recipe.json --package xtask
COPY . .
RUN cargo auditable build --release --locked --package web-server --bin web-server \
 && cargo xtask web --out /dist/srv/www \
 && mkdir -p /dist/etc/ssl/certs \
 && cp target/release/web-server /dist/web-server \
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
LABEL org.opencontainers.image.title="randoms web" \
      org.opencontainers.image.description="The randoms SPA (Leptos, wasm) and its static server" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# API_BASE_URL is per environment: set it where the container runs.
ENV WEB_HOST=0.0.0.0 \
    WEB_PORT=8080 \
    WEB_ROOT=/srv/www \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/web-server"]
