#!/usr/bin/env bash
# Runs every fuzz target for a short fixed time (FUZZTIME, default 4s;
# 14 targets, about a minute and a half on 2 cores). An input that fails
# is written by go test to <package>/testdata/fuzz/<Target>/: commit it
# with the fix, and it is replayed by every plain `go test` from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${FUZZTIME:-4s}"
for pkg in ./signature ./internal/pop ./internal/iot ./internal/things ./fixtures; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    echo "-- $pkg $target ($time)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" >/dev/null
  done
done
