# syntax=docker/dockerfile:1
# Plenum in a container: a Debian bookworm image with the release binary, run as the
# unprivileged user plenum, its data (plenum.db, recordings) in the volume /var/lib/plenum.
#
#   docker build -t plenum .
#   docker run -d --name plenum -p 7480:7480 -p 7481:7481/udp -v plenum-data:/var/lib/plenum \
#     -e PLENUM_MEDIA_ADVERTISE=<the host's IP as clients reach it> plenum
#   docker logs plenum        # the admin password, printed once on the first start
#
# Settings: PLENUM_* variables (docs/configuration.md), or a plenum.toml mounted over
# /etc/plenum/plenum.toml. Offline commands: `docker exec plenum plenum user create ...`.
# `--build-arg WITH_FFMPEG=true` adds ffmpeg (~250 MB), needed only to stream a meeting to an
# RTMP ingest.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
# libopus-dev: the recorder's audio mix links the system libopus (found with pkg-config).
# Packages are not pinned (hadolint DL3008): the release's security updates are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libopus-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target directory are BuildKit caches, kept between builds; the binary is
# copied out of the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p plenum \
 && cp target/release/plenum /usr/local/bin/plenum

FROM debian:${DEBIAN_RELEASE}-slim
ARG WITH_FFMPEG=false
# libopus0: linked by the binary. ca-certificates: HTTPS to S3 storage and RTMPS ingests.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 ca-certificates \
 && if [ "$WITH_FFMPEG" = true ]; then \
      apt-get install -y --no-install-recommends ffmpeg; \
    fi \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so that a bind-mounted data directory can be chowned to it (10001:10001).
RUN groupadd --system --gid 10001 plenum \
 && useradd --system --uid 10001 --gid plenum --home-dir /var/lib/plenum \
      --no-create-home --shell /usr/sbin/nologin plenum \
 && install -d -o plenum -g plenum -m 0750 /var/lib/plenum
COPY --from=build /usr/local/bin/plenum /usr/bin/plenum
# The packaged configuration: data_dir = /var/lib/plenum, everything else at its default
# (listed, commented out); the environment below overrides it.
COPY packaging/plenum.toml /etc/plenum/plenum.toml
# Both listeners on every interface of the container. The SFU then needs
# PLENUM_MEDIA_ADVERTISE (the address clients send media to): without it Plenum refuses to
# start and says so.
ENV PLENUM_CONFIG=/etc/plenum/plenum.toml \
    PLENUM_LISTEN=0.0.0.0:7480 \
    PLENUM_MEDIA_LISTEN=0.0.0.0:7481
# Numeric, so that runtimes can check it is not root (Kubernetes' runAsNonRoot).
USER 10001:10001
WORKDIR /var/lib/plenum
VOLUME ["/var/lib/plenum"]
EXPOSE 7480/tcp 7481/udp
# GET /healthz answers "ok" (plain HTTP on PLENUM_LISTEN's port; with HTTPS configured, give
# `docker run --health-cmd` or `--no-healthcheck`). bash's /dev/tcp: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PLENUM_LISTEN##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && timeout 4 cat <&3 | tail -n 1 | grep -qx ok"]
# SIGTERM: Plenum ends its meetings and finishes its recordings (up to ~40 s), so give
# `docker stop -t 60`. It reaps its own children (ffmpeg); `docker run --init` is not needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/plenum"]
CMD ["serve"]
