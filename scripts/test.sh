#!/usr/bin/env bash
# The project's test command: formatting, vet, staticcheck, the whole suite
# under the race detector, and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

echo "== bench/compare (a separate module: Brook against kfake and JetStream)"
(
  cd bench/compare
  go vet ./...
  go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
  go test -race -count=1 -timeout 5m ./...
)

echo "== fuzz (3s per target)"
# One target per invocation (go test -fuzz takes one). List new targets here.
fuzz() {
  echo "-- $1 $2"
  go test -run '^$' -fuzz "^$2\$" -fuzztime 3s "$1"
}
for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' ./*_test.go storage/*_test.go | cut -d' ' -f2); do
  grep -Eq "^fuzz [./a-z]+ $target\$" scripts/test.sh || { echo "fuzz target $target is not listed in scripts/test.sh"; exit 1; }
done
fuzz . FuzzKeyPartition
fuzz . FuzzDecodeOffsets
fuzz . FuzzValidName
fuzz . FuzzTopicMeta
fuzz ./storage FuzzDecodeEntry
fuzz ./storage FuzzRecover
