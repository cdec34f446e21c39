# careweave as a container: a build stage with the Rust toolchain and Node.js (the NHS.UK design
# system's assets are embedded into the binary at build time), and a small run stage holding only
# the binary, run as an unprivileged user with a read-only root file system (see compose.yaml).
#
#   docker build -t careweave .
#   docker compose up        # careweave with PostgreSQL
#
# The binary needs no files beside it: codelists, rules and assets are embedded.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev --loglevel=error
COPY . .
RUN cargo build --release --locked -p careweave \
 && install -D -m 0755 target/release/careweave /out/careweave

FROM debian:bookworm-slim AS run
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system careweave \
 && useradd --system --gid careweave --home-dir /var/lib/careweave --no-create-home careweave \
 && install -d -o careweave -g careweave -m 0750 /var/lib/careweave
COPY --from=build /out/careweave /usr/bin/careweave
COPY packaging/debian/careweave.toml /etc/careweave/careweave.toml
USER careweave
WORKDIR /var/lib/careweave
# Inside a container the service listens on every interface; the TLS proxy in front decides who
# reaches it.
ENV CAREWEAVE_HOST=0.0.0.0 CAREWEAVE_PORT=8080
EXPOSE 8080
VOLUME ["/var/lib/careweave"]
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/bin/careweave", "--config", "/etc/careweave/careweave.toml"]
CMD ["serve"]
