# syntax=docker/dockerfile:1
# The Launchplane controller image: one static musl binary on distroless, running as 65532.
#   docker build -t ghcr.io/launchplane/launchplane:0.1.0 .

FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
# ring (rustls) compiles C: musl-gcc from musl-tools. The result is statically linked.
ENV CC_x86_64_unknown_linux_musl=musl-gcc \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release --target x86_64-unknown-linux-musl -p launchplane --bin launchplane \
    && cp target/x86_64-unknown-linux-musl/release/launchplane /launchplane

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.source="https://github.com/launchplane/launchplane" \
      org.opencontainers.image.description="Launchplane controller" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /launchplane /launchplane
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/launchplane"]
CMD ["controller"]
