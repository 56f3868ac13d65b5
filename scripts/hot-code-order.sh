#!/usr/bin/env bash
# Regenerates hot-code.order: the server's functions that a session runs first (start-up, initialize, the
# tool list, list_containers, a plan), recorded by valgrind's callgrind. build.rs hands the file to the
# linker, which places those functions next to each other: the kernel maps a binary's pages 64 KiB at a time
# (fault-around), so scattered hot code keeps most of the binary resident, gathered hot code only its part.
#
# The names are mangled with each crate's build hash, which changes with Cargo.lock, features and profile
# (not with source edits), so both builds that ship or get measured are recorded: `cargo build --release`
# and the benchmark's. Rerun this after a dependency update. Needs valgrind, python3 and a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=target/release/mcp-docker-server

record() {
    local name=$1
    python3 scripts/hot_code_probe.py "$bin" valgrind --tool=callgrind --demangle=no \
        --callgrind-out-file="$work/$name.%p" --log-file="$work/$name.log"
    nm "$bin" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u > "$work/$name.symbols"
}

cargo build --release --bin mcp-docker-server
record release
cargo bench --bench mcp_bench --no-run
record bench

# Functions callgrind saw run, kept when the binary defines them (libc's are not ours to place).
cat "$work"/*.symbols | sort -u > "$work/defined"
sed -n 's/^c\?fn=([0-9]*) //p' "$work"/release.[0-9]* "$work"/bench.[0-9]* | sort -u > "$work/ran"
comm -12 "$work/ran" "$work/defined" > hot-code.order
echo "hot-code.order: $(wc -l < hot-code.order) functions"
