#!/bin/sh
# The kill -9 soak (not run in CI): builds the frontier tests in release and runs
# `kill_9_under_full_loses_no_acked_put_and_keeps_politeness` for many kill cycles. Each cycle
# starts `meguri serve --durability full --handout-log`, checks that every put acked before
# the last kill is stored, puts and takes (checking leases and queue delays against everything
# seen before the crashes) for a random while, then kills the server with SIGKILL. At the end
# the hand-out log of every run is audited for politeness.
#
# Prints: kills done, acked puts and URLs checked, re-serves of leased URLs checked (an early
# one fails the run), restart times p50/p99/max, and the audit's counts.
#
#   scripts/soak-kill9.sh                                  1000 kills
#   MEGURI_KILLS=100000 MEGURI_KILL_SECS=1800 scripts/soak-kill9.sh   as many as 30 min allow
#
# Settings (environment): MEGURI_KILLS (1000); MEGURI_KILL_SECS, time after which no new cycle
# starts (0: no limit); MEGURI_KILL_FEED, URLs put per 10 ms at most (8: the data grows by
# about 800 URLs a second served, so restarts stay short); MEGURI_KILL_ROUND_MS, least time
# served before a kill (400; up to 2.25 times that); MEGURI_KILL_LEASE, lease seconds (3, so
# leases end and URLs are served again across the kills). CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS are passed to cargo as usual.
set -eu
cd "$(dirname "$0")/.."
export MEGURI_KILLS="${MEGURI_KILLS:-1000}"
export MEGURI_KILL_SECS="${MEGURI_KILL_SECS:-0}"
export MEGURI_KILL_FEED="${MEGURI_KILL_FEED:-8}"
export MEGURI_KILL_ROUND_MS="${MEGURI_KILL_ROUND_MS:-400}"
export MEGURI_KILL_LEASE="${MEGURI_KILL_LEASE:-3}"
echo "soak: $MEGURI_KILLS kills (time limit ${MEGURI_KILL_SECS}s, 0: none), feed $MEGURI_KILL_FEED/10 ms, rounds from $MEGURI_KILL_ROUND_MS ms, leases $MEGURI_KILL_LEASE s"
start=$(date +%s)
cargo test --release -p meguri --test frontier \
    kill_9_under_full_loses_no_acked_put_and_keeps_politeness -- --exact --nocapture
echo "soak: done in $(( $(date +%s) - start )) s (build included)"
