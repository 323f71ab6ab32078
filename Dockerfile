# The IoT emulator as one static binary on an empty image, running as a
# non-root user. From the repository root:
#
#   docker build -t iot-emulator --build-arg VERSION=$(git describe --always --dirty) .
#   docker run --rm -p 8080:8080 iot-emulator
#
# Every flag is also an environment variable IOT_EMULATOR_<FLAG>; state is
# in memory unless IOT_EMULATOR_DB=/data/iot.db puts it in the /data volume.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
# .ci/ship.sh runs this very line outside Docker and tests its output:
# keep it on one line and starting with "RUN CGO_ENABLED=0 go build".
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iot-emulator ./cmd/iot-emulator
# scratch has no directories at all: /data (the optional database) and /tmp
# (SQLite's spill files) are made here and copied in with their owner.
RUN mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/iot-emulator /iot-emulator
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/tmp /tmp
USER 65532:65532
ENV IOT_EMULATOR_ADDR=0.0.0.0:8080
ENV IOT_EMULATOR_MQTT_ADDR=0.0.0.0:1883
EXPOSE 8080
EXPOSE 1883
VOLUME /data
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["/iot-emulator", "healthcheck"]
ENTRYPOINT ["/iot-emulator"]
