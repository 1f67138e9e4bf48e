#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzX in a *_test.go) for FUZZTIME each (default 3s),
# one at a time with one worker, against the test servers of the environment (make test
# sources .cache/testservers.env first). Plain `go test` already runs each target's seeds
# and testdata/fuzz corpus; this searches beyond them. A failing input is written to
# <package>/testdata/fuzz/<FuzzX>/: commit it as a regression seed once fixed.
# Budget: 14 targets x 3 s = 42 s of fuzzing (plus one instrumented build per package,
# cached after the first run). FUZZTIME=0 skips.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
FUZZTIME="${FUZZTIME:-3s}"
[ "$FUZZTIME" = 0 ] && { log "FUZZTIME=0: fuzzing skipped"; exit 0; }
t0=$SECONDS
n=0
while IFS=: read -r file target; do
  pkg="./$(dirname "$file")"
  log "fuzz $pkg $target ($FUZZTIME)"
  go test -count=1 -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel 1 "$pkg" >"$CACHE/fuzz.log" 2>&1 \
    || { cat "$CACHE/fuzz.log" >&2; die "fuzz target $target in $pkg failed (the input is under $pkg/testdata/fuzz/$target)"; }
  n=$((n + 1))
done < <(git grep --untracked -n -o -E '^func Fuzz[A-Za-z0-9_]*' -- '*_test.go' | sed -E 's/^([^:]+):[0-9]+:func /\1:/' | sort)
log "$n fuzz targets, $FUZZTIME each, no failure, in $((SECONDS - t0))s"
