#!/bin/sh
# Runs every fuzz target of the module for FUZZTIME (default 60s) each.
#
# Go's fuzzing coordinator (before Go 1.27, golang/go#75804) can end a
# clean run with "context deadline exceeded" when a worker is slow to stop
# at the deadline, writing no failing input. A target that fails that way
# is run once more; a failure that wrote an input under testdata/fuzz, or
# a second failure, fails the run.
set -u
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
log=$(mktemp)
status=$(mktemp)
trap 'rm -f "$log" "$status"' EXIT
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for f in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    for attempt in 1 2; do
      echo "== $pkg $f"
      before=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
      # The pipe's status is tee's: go test's own goes through a file.
      { $GO test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1; echo $? >"$status"; } | tee "$log"
      if [ "$(cat "$status")" -eq 0 ] && [ "$(grep -c '^FAIL' "$log")" -eq 0 ]; then
        break
      fi
      after=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
      if [ "$attempt" -eq 2 ] || [ "$after" -ne "$before" ] || ! grep -q 'context deadline exceeded' "$log"; then
        echo "fuzz: $f failed (inputs under $dir/testdata/fuzz/$f: $before before, $after after)" >&2
        exit 1
      fi
      echo "fuzz: $f stopped with the coordinator's deadline race and wrote no input; running it once more"
    done
  done
done
