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
    out="$(mktemp)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" >"$out" 2>&1; then
      # A found input is written under testdata/fuzz and fails the run. The
      # fuzzing engine can also stop on its own on a loaded machine ("fuzzing
      # process hung or terminated unexpectedly") with no input written: that
      # is retried once, and shown either way.
      cat "$out"
      if ls "$pkg/testdata/fuzz/$target" >/dev/null 2>&1 && [ -n "$(git status --porcelain "$pkg/testdata/fuzz/$target")" ]; then
        exit 1
      fi
      echo "-- $pkg $target: no failing input was written; running it again"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" || exit 1
    fi
    rm -f "$out"
  done
done
