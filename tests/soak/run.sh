#!/usr/bin/env bash
# Soak: the README's two commands, run again and again from a clean clone, as a newcomer runs them.
# Anything random (native code, threads, the garbage collector) must pass every time, not most times.
#   bash tests/soak/run.sh [sample runs, default 10] [test runs, default 3]
# Clones the committed HEAD of this repository into a temporary folder, reads the two commands from the
# README's first lines (so it runs exactly what the README says), runs the sample command N times and the
# test command M times, and prints how many passed; exits non-zero if any failed. Logs of failed runs are kept;
# the clone (several GB once built) is deleted when the script ends, however it ends.
set -uo pipefail
samples=${1:-10}
tests=${2:-3}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work/MtlDsl"' EXIT
git clone --quiet "$repo" "$work/MtlDsl" || exit 2
cd "$work/MtlDsl" || exit 2

# The README starts with two indented commands: the sample, then the tests (each followed by a # comment).
mapfile -t commands < <(grep -E '^    dotnet ' README.md | head -n 2 | sed -E 's/[[:space:]]+#.*$//; s/^[[:space:]]+//')
if [ "${#commands[@]}" -ne 2 ]; then echo "The README does not start with two dotnet commands." >&2; exit 2; fi
echo "sample command: ${commands[0]}"
echo "test command:   ${commands[1]}"

run() { # name, count, command; each run's line on stderr, the count passed on stdout
  local passed=0
  for i in $(seq 1 "$2"); do
    local log="$work/$1-$i.log" start=$SECONDS
    if bash -c "$3" >"$log" 2>&1; then
      passed=$((passed + 1)); echo "  $1 run $i: passed ($((SECONDS - start)) s)" >&2; rm -f "$log"
    else
      echo "  $1 run $i: FAILED ($((SECONDS - start)) s), log kept: $log" >&2; grep -m 3 -E 'Exception|error|\[FAIL\]' "$log" | sed 's/^/    /' >&2
    fi
  done
  echo "$passed/$2"
}

sample_result=$(run sample "$samples" "${commands[0]}")
test_result=$(run tests "$tests" "${commands[1]}")
echo "soak: sample $sample_result passed, tests $test_result passed (clean clone of $(git rev-parse --short HEAD); logs of failed runs in $work)"
[ "$sample_result" = "$samples/$samples" ] && [ "$test_result" = "$tests/$tests" ]
