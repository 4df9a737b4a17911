#!/usr/bin/env bash
# The URLFrontier load matrix of docs/serve.md, on loopback, with a release build: not in CI
# (it wants a quiet machine and takes a few minutes).
#
#   bash scripts/load-matrix.sh [CORPUS]      # default: $MEGURI_CORPUS, else ../shared/corpus
#
# For each durability (normal, full) it starts `meguri serve` on a fresh data root under
# /usr/bin/time -v and drives it with `meguri frontier`:
#   ingest   every corpus URL as discovered: PutURLs one item a URL, and PutDiscovered batches
#            of 256, on 1, 2 and 8 streams; the same with 45% of the items repeating earlier URLs
#   crawl    GetURLs (100 queues x 3 URLs a call, default lease) plus an ack for each URL, with
#            the whole corpus loaded
#   restart  SIGTERM (final checkpoint), then the time until the restarted server answers
# and prints one table row per run plus the server's peak RSS. Client and server share the
# machine's cores, so the rates are what one host does with its own load generator on it.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-${MEGURI_CORPUS:-../shared/corpus/urls.cdx.jsonl.zst}}
if [ ! -f "$corpus" ]; then
  echo "SKIPPED: no corpus at $corpus (pass a CDX file or set MEGURI_CORPUS)"
  exit 0
fi
crawl_limit=${MEGURI_CRAWL_LIMIT:-200000}
cargo build --release -q -p meguri
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/meguri
work=$(mktemp -d)
server=""
timer=""
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$timer" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the server on $data with durability $1; sets $server and $addr, and $ready_ms (from
# exec to the address line).
start_server() {
  : > "$work/serve.out"
  local t0
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$work/time.txt" "$bin" serve -d "$data" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --durability "$1" > "$work/serve.out" 2> "$work/serve.log" &
  timer=$!
  for _ in $(seq 1 100); do
    server=$(pgrep -P "$timer" || true)
    [ -n "$server" ] && break
    sleep 0.01
  done
  [ -n "$server" ] || { echo "the server did not start" >&2; return 1; }
  for _ in $(seq 1 3000); do
    addr=$(sed -n 's/^meguri serve: gRPC on \([^,]*\),.*/\1/p' "$work/serve.out")
    if [ -n "$addr" ]; then
      ready_ms=$((($(date +%s%N) - t0) / 1000000))
      return 0
    fi
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; return 1; }
    sleep 0.01
  done
  echo "the server did not start" >&2
  return 1
}

# Stops the server (SIGTERM: it checkpoints every crawl); sets $rss to its peak RSS in MiB.
stop_server() {
  # The signal goes to meguri itself; /usr/bin/time waits for it and writes its figures.
  kill -TERM "$server"
  wait "$timer" || true
  server=""
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
}

field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

printf '%-7s %-22s %7s %10s %12s %9s %9s %8s\n' durability case streams sent "URLs/s" "p50 ms" "p99 ms" "RSS MiB"
for durability in normal full; do
  for dup in 0 0.45; do
    for batch in 0 256; do
      for streams in 1 2 8; do
        data="$work/root"
        rm -rf "$data"
        start_server "$durability"
        rep=$("$bin" frontier --connect "$addr" --json put -i "$corpus" --streams "$streams" \
          --batch "$batch" --duplicates "$dup")
        stop_server
        how=$([ "$batch" = 0 ] && echo PutURLs || echo "PutDiscovered/256")
        [ "$dup" = 0 ] || how="$how +45%dup"
        echo "$rep" | field "'%-7s %-22s %7d %10d %12.0f %9.3f %9.3f %8s' % ('$durability', '$how', d['streams'], d['sent'], d['per_second'], d['latency']['p50_ms'], d['latency']['p99_ms'], '$rss')"
      done
    done
  done
  # The whole corpus loaded (batches of 256 on 2 streams), then a crawl against it.
  data="$work/root"
  rm -rf "$data"
  start_server "$durability"
  "$bin" frontier --connect "$addr" --json put -i "$corpus" --streams 2 --batch 256 > /dev/null
  rep=$("$bin" frontier --connect "$addr" --json crawl --max-queues 100 --per-queue 3 \
    --limit "$crawl_limit")
  stop_server
  echo "$rep" | field "'%-7s %-22s %7d %10d %12.0f %9.3f %9.3f %8s' % ('$durability', 'GetURLs 100x3 + acks', 1, d['handed_out'], d['per_second'], d['get_latency']['p50_ms'], d['get_latency']['p99_ms'], '$rss')"
  # A restart of the corpus-sized crawl: from exec to serving.
  start_server "$durability"
  stats=$("$bin" frontier --connect "$addr" --json stats)
  stop_server
  echo "$stats" | field "'%-7s %-22s %7s %10d %12s %9s %9s %8s' % ('$durability', 'restart: serving after', '', d['size'], '$ready_ms ms', '', '', '$rss')"
done
