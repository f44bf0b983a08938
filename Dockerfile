# syntax=docker/dockerfile:1
# Soku: one image, one binary. `docker compose up` (see docker-compose.yml) runs migrate, api and worker from it.

FROM rust:1-bookworm AS builder
WORKDIR /src
# No database during the build: sqlx macros, if the code ever uses them, must read prepared .sqlx data.
ENV SQLX_OFFLINE=true
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release -p soku \
    && install -m 0755 target/release/soku /usr/local/bin/soku

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 soku \
    && useradd --system --uid 10001 --gid soku --home-dir /app --create-home --shell /usr/sbin/nologin soku \
    && mkdir -p /data \
    && chown soku:soku /data
COPY --from=builder /usr/local/bin/soku /usr/local/bin/soku
COPY --from=builder /src/migrations /app/migrations
USER soku
WORKDIR /app
ENV SOKU_LISTEN=0.0.0.0:8080 \
    SOKU_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["soku"]
CMD ["serve"]
