# syntax=docker/dockerfile:1
#
# The published image ghcr.io/entryhq/entry:VERSION: the static entry binary
# and nothing else, for one line in an application's Dockerfile:
#
#   COPY --from=ghcr.io/entryhq/entry:0.2.0 /entry /usr/local/bin/entry
#
# It holds the very binaries scripts/release built and SHA256SUMS lists, so
# the image and the release archives can be checked against each other:
#
#   scripts/release 0.2.0
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/entryhq/entry:0.2.0 .
#
# (.github/workflows/release.yml does both on a version tag.)
FROM scratch
LABEL org.opencontainers.image.source="https://github.com/entryhq/entry" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.description="entry: the ENTRYPOINT and ECS deploy tool of one shared Rails image"
ARG TARGETARCH
COPY dist/release/entry-linux-${TARGETARCH} /entry
ENTRYPOINT ["/entry"]
