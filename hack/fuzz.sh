#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzX in a *_test.go) for FUZZTIME each (default 200x:
# 200 inputs beyond the seeds, about a second each on real servers, less elsewhere),
# one at a time with one worker, against the test servers of the environment (make test
# sources .cache/testservers.env first). Plain `go test` already runs each target's seeds
# and testdata/fuzz corpus; this searches beyond them. A failing input is written to
# <package>/testdata/fuzz/<FuzzX>/: commit it as a regression seed once fixed.
# A count, not a duration: Go 1.26's coordinator can fail a duration-bound run with a bare
# "context deadline exceeded" at the deadline (golang/go#75804, fixed in Go 1.27).
# Budget: 14 targets; the whole run took 80 s here at 200x (127 s at 500x) with warm builds, most of it
# linking one instrumented test binary per target (the instrumented builds are cached after
# the first run). FUZZTIME=0 skips; FUZZTIME=10m (or 100000x) fuzzes longer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
FUZZTIME="${FUZZTIME:-200x}"
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
