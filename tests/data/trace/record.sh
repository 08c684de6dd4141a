#!/bin/bash
# Records the test data of tests/unit/trace_test.cpp: real trace events and conntrack events of
# `netlab trace`, with `nft monitor trace` and `conntrack -L` in the lab host as independent
# witnesses of what the kernel sent. Root; uses its own lab ("rec") and state directory, and undoes
# the lab at the end. Usage: sudo tests/data/trace/record.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:?usage: record.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
export NETLAB_STATE_DIR=$(mktemp -d /tmp/netlab-record.XXXXXX)
export NETLAB_TUTORIALS="$here/../../../tutorials"
netlab() { "$build/netlab" --lab rec "$@"; }
cleanup() {
    [[ -n "${mon:-}" ]] && kill "$mon" 2>/dev/null || true
    netlab undo --all >/dev/null 2>&1 || netlab reset >/dev/null 2>&1 || true
    rm -rf "$NETLAB_STATE_DIR"
}
trap cleanup EXIT

# record NAME FROM URL: one traced request, the events netlab received and the witnesses' view.
record() {
    local dir="$here/$1" from=$2 url=$3
    rm -rf "$dir"
    mkdir -p "$dir"
    ip netns exec rec-netlab nft monitor trace > "$dir/nft-monitor.txt" 2>&1 &
    mon=$!
    sleep 0.5
    NETLAB_TRACE_RECORD="$dir" netlab trace --in "$from" "$url" > "$dir/netlab-trace.txt" || true
    sleep 0.3
    kill "$mon"; wait "$mon" 2>/dev/null || true
    mon=
    local port
    port=$(sed -n 's/.*(source port \([0-9]*\)).*/\1/p' "$dir/netlab-trace.txt")
    ip netns exec rec-netlab conntrack -L -p tcp --sport "$port" -o extended,id > "$dir/conntrack-L.txt" 2>/dev/null || true
}

netlab run --until hairpin > /dev/null
record hairpin netns_dustin 10.100.100.100:8080
netlab undo > /dev/null                      # back to br-netfilter: hairpin off
record br-netfilter netns_dustin 10.100.100.100:8080
netlab run > /dev/null
record host netlab 10.100.100.100:8080
echo "recorded into $here"
