#!/usr/bin/env bash
# Ships what the Dockerfile ships, without a Docker engine:
#  1. builds the binary with the Dockerfile's own build line (read from the
#     Dockerfile, so there is one copy of it);
#  2. tests that binary: statically linked, stripped, version stamped, serves
#     with an empty environment in an empty directory, exits 0 on SIGTERM
#     (TestBuiltBinary in cmd/iot-emulator);
#  3. runs the Go and Node examples against it, as docker-compose would;
#  4. installs the command with `go install <module>/cmd/iot-emulator@latest`
#     into a clean GOPATH, from a local module proxy holding this tree.
# Called by .ci/run; runs on its own too: bash .ci/ship.sh
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  # The module cache is made read-only by the go command.
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== ship: build the binary with the Dockerfile's build line"
build=$(sed -n 's/^RUN \(CGO_ENABLED=0 go build .* -o \/out\/iot-emulator .*\)$/\1/p' Dockerfile)
if [ "$(printf '%s\n' "$build" | grep -c .)" != 1 ]; then
  echo "Dockerfile: want exactly one 'RUN CGO_ENABLED=0 go build ... -o /out/iot-emulator ...' line" >&2
  exit 1
fi
# The same line, writing to our work directory instead of the image's /out.
build=$(printf '%s' "$build" | sed 's| -o /out/iot-emulator | -o "$OUT" |')
VERSION=${VERSION:-ci-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
OUT="$work/iot-emulator"
export VERSION OUT
echo "VERSION=$VERSION $build"
sh -c "$build"
bin="$OUT"

echo "== ship: test the binary (static, empty environment, SIGTERM)"
IOT_EMULATOR_BIN="$bin" IOT_EMULATOR_BIN_VERSION="$VERSION" \
  go test -count=1 -v -run 'TestBuiltBinary' ./cmd/iot-emulator/

echo "== ship: examples against the binary"
"$bin" --addr 127.0.0.1:0 --mqtt-addr 127.0.0.1:0 --log-level warn >"$work/emulator.out" 2>"$work/emulator.err" &
pid=$!
addr=""
for _ in $(seq 600); do
  line=$(head -n1 "$work/emulator.out")
  case "$line" in *"listening on http://"*) addr=${line##*http://}; break ;; esac
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "the emulator did not start:" >&2
  cat "$work/emulator.out" "$work/emulator.err" >&2
  exit 1
fi
"$bin" healthcheck --url "http://$addr"

echo "-- examples/go (official Go SDK)"
go build -o "$work/example-go" ./examples/go
IOT_ENDPOINT="$addr" "$work/example-go"

echo "-- examples/node (@alicloud/pop-core)"
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error)
IOT_ENDPOINT="$addr" node examples/node/index.js # host:port works as well as a URL

echo "-- examples/node/tea.js (@alicloud/iot20180120, ACS3 signatures)"
IOT_ENDPOINT="http://$addr" node examples/node/tea.js

mqtt=$(sed -n 's|^mqtt: tcp://||p' "$work/emulator.out" | head -n1)
echo "-- examples/device (Paho, the official Go SDK) against the broker at $mqtt"
go build -o "$work/example-device" ./examples/device
IOT_ENDPOINT="$addr" IOT_MQTT="$mqtt" "$work/example-device"

echo "-- examples/node/device.js (alibabacloud-iot-device-sdk) and mqttjs.js (MQTT.js)"
IOT_ENDPOINT="$addr" IOT_MQTT="$mqtt" node examples/node/device.js
IOT_ENDPOINT="http://$addr" IOT_MQTT="mqtt://$mqtt" node examples/node/mqttjs.js

echo "-- SIGTERM: graceful stop, exit status 0"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if [ "$status" != 0 ]; then
  echo "the emulator exited $status after SIGTERM:" >&2
  cat "$work/emulator.err" >&2
  exit 1
fi

echo "== ship: go install <module>/cmd/iot-emulator@latest from a clean GOPATH"
# A file:// module proxy holding this tree (tracked files, as a commit of
# them would be) as v0.1.0; the dependencies come from the module cache or
# the module proxy configured here. Nothing of the working GOPATH is used.
mod=$(go list -m)
ver=v0.1.0
proxy="$work/proxy/$mod/@v"
mkdir -p "$proxy"
tree=$(git stash create 2>/dev/null || true)
git archive --format=zip --prefix="$mod@$ver/" "${tree:-HEAD}" >"$proxy/$ver.zip"
cp go.mod "$proxy/$ver.mod"
printf '{"Version":"%s","Time":"2026-01-01T00:00:00Z"}\n' "$ver" >"$proxy/$ver.info"
echo "$ver" >"$proxy/list"
env GOPATH="$work/gopath" GOMODCACHE="$work/gopath/pkg/mod" GOBIN= GOFLAGS=-trimpath \
  CGO_ENABLED=0 GOTOOLCHAIN=local GONOSUMDB="$mod" GOPRIVATE= GONOPROXY= \
  GOPROXY="file://$work/proxy,file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" \
  go install "$mod/cmd/iot-emulator@latest"
got=$("$work/gopath/bin/iot-emulator" --version)
if [ "$got" != "iot-emulator $ver" ]; then
  echo "go install: --version says '$got', want 'iot-emulator $ver'" >&2
  exit 1
fi
echo "$got"

echo "== ship: ok"
