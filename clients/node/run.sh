#!/usr/bin/env bash
# Runs the Node client tests (pop-core and the Tea SDK) against a freshly
# built emulator binary: build, start on a free port, npm ci, node --test,
# and stop the emulator however the tests end. Extra arguments go to
# node --test (e.g. a test file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build the emulator"
(cd "$root" && go build -o "$work/iot-emulator" ./cmd/iot-emulator)

# The throttled action's limit; the tests read it from the same variable.
export IOT_EMULATOR_THROTTLED_QPS="${IOT_EMULATOR_THROTTLED_QPS:-2}"

echo "== start it"
# Port 0: the kernel picks a free port, and the first line the emulator
# prints says which ("... listening on http://127.0.0.1:PORT").
"$work/iot-emulator" \
  --addr 127.0.0.1:0 --mqtt-addr 127.0.0.1:0 \
  --tls on --tls-dir "$work/tls" --tls-addr 127.0.0.1:0 --mqtt-tls-addr 127.0.0.1:0 \
  --fixtures "$here/fixtures.json" \
  --auth strict \
  --throttle on \
  --qps "BatchRegisterDevice=$IOT_EMULATOR_THROTTLED_QPS" \
  --batch-progression delay --check-delay 200ms --create-delay 200ms \
  --log-level warn \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!

url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/.* listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/stdout" | head -n 1)"
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the emulator exited:" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "the emulator did not say where it listens within 30s:" >&2
  cat "$work/stdout" "$work/stderr" >&2
  exit 1
fi
echo "emulator at $url"
export IOT_EMULATOR_URL="$url"
mqtt="$(sed -n 's/^mqtt: \(tcp:\/\/[^ ]*\)$/\1/p' "$work/stdout" | head -n 1)"
echo "broker at $mqtt"
export IOT_EMULATOR_MQTT="$mqtt"
https_url="$(sed -n 's/^https: \(https:\/\/[^ ]*\).*/\1/p' "$work/stdout" | head -n 1)"
mqtts="$(sed -n 's/^mqtt: \(ssl:\/\/[^ ]*\)$/\1/p' "$work/stdout" | head -n 1)"
echo "TLS at $https_url and $mqtts, CA $work/tls/ca.pem"
export IOT_EMULATOR_HTTPS_URL="$https_url" IOT_EMULATOR_MQTTS="$mqtts"
# The clients verify the chain with the emulator's CA, as Node trusts any
# extra CA; the wrong-CA tests run children without it.
export NODE_EXTRA_CA_CERTS="$work/tls/ca.pem"

echo "== npm ci"
(cd "$here" && npm ci --no-audit --no-fund)

echo "== node --test"
status=0
(cd "$here" && node --test "$@") || status=$?
if [ "$status" -ne 0 ]; then
  echo "== emulator log" >&2
  cat "$work/stderr" >&2
fi
exit "$status"
