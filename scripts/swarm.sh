#!/usr/bin/env bash
# A real 3-node Docker Swarm on this one machine, for the swarm end-to-end tests.
#
#   scripts/swarm.sh up     start it (idempotent: a running, healthy swarm is left as is)
#   scripts/swarm.sh down   stop the daemons and remove the namespaces, links and node data
#   scripts/swarm.sh env    print the variables the tests read (MCP_DOCKER_SWARM_HOST, node sockets)
#
# Each node is an extra dockerd (with its own managed containerd, data root, exec root, pidfile and socket under
# target/swarm/) in its own network namespace. The nodes' veths meet on a bridge in a separate "hub" namespace,
# because a bridge in the root namespace would be blocked by the main dockerd's FORWARD DROP policy. One more veth
# joins the root namespace to the hub, so tests here reach the node addresses. Daemons are started with nsenter +
# unshare, not `ip netns exec`, which remounts /sys, hides the cgroup mounts and makes dockerd exit ("Devices
# cgroup isn't mounted"). The nodes have no default route (registry lookups fail fast), so the local test image
# is copied to each with docker save | docker load. The main engine is never touched and never joins a swarm.
# Needs root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/swarm"
hub=mcpsw-hub
subnet_prefix=10.213.77
host_addr="$subnet_prefix.254"
image=mcp-docker-test/busybox:latest
# A registry the nodes reach (on the root namespace's leg into the hub), for building on the swarm: a node
# pulls what the manager built and pushed. Plain HTTP, so each node trusts it by --insecure-registry.
registry_addr="$host_addr:5000"
nodes=(1 2 3)

log() { printf '[swarm.sh] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

node_ns() { echo "mcpsw-n$1"; }
node_addr() { echo "$subnet_prefix.$1"; }
node_dir() { echo "$base/n$1"; }
node_sock() { echo "$(node_dir "$1")/docker.sock"; }
node_docker() { local n=$1; shift; docker -H "unix://$(node_sock "$n")" "$@"; }
node_answers() { node_docker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The hub namespace with its bridge, and the root namespace's leg into it.
net_up() {
  ip netns list | grep -qw "$hub" || ip netns add "$hub"
  ip -n "$hub" link show br0 >/dev/null 2>&1 || ip -n "$hub" link add br0 type bridge
  ip -n "$hub" link set lo up
  ip -n "$hub" link set br0 up
  if ! ip link show mcpsw-root >/dev/null 2>&1; then
    ip link add mcpsw-root type veth peer name root-leg netns "$hub"
    ip addr add "$host_addr/24" dev mcpsw-root
  fi
  ip link set mcpsw-root up
  ip -n "$hub" link set root-leg master br0 up
}

# One node's namespace and its veth onto the hub bridge.
node_net_up() {
  local n=$1 ns; ns=$(node_ns "$1")
  ip netns list | grep -qw "$ns" || ip netns add "$ns"
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip -n "$hub" link add "n$n-leg" type veth peer name eth0 netns "$ns"
    ip -n "$ns" addr add "$(node_addr "$n")/24" dev eth0
  fi
  ip -n "$ns" link set eth0 up
  ip -n "$hub" link set "n$n-leg" master br0 up
}

node_daemon_up() {
  local n=$1 dir; dir=$(node_dir "$1")
  node_answers "$n" && return 0
  mkdir -p "$dir/data" "$dir/exec"
  rm -f "$(node_sock "$n")"
  setsid nsenter --net="/run/netns/$(node_ns "$n")" \
    unshare --mount --uts --propagation slave \
    sh -c "hostname mcpsw-n$n && exec dockerd --data-root '$dir/data' --exec-root '$dir/exec' \
      --pidfile '$dir/dockerd.pid' -H 'unix://$(node_sock "$n")' --iptables=true \
      --bip 172.31.$n.1/24 --insecure-registry '$registry_addr' --log-level warn" \
    >"$dir/dockerd.log" 2>&1 </dev/null &
}

node_wait() {
  local n=$1
  for _ in $(seq 1 120); do node_answers "$n" && return 0; sleep 0.25; done
  tail -20 "$(node_dir "$n")/dockerd.log" >&2
  die "node $n did not answer; see $(node_dir "$n")/dockerd.log"
}

node_image() {
  node_docker "$1" image inspect "$image" >/dev/null 2>&1 && return 0
  docker save "$image" | node_docker "$1" load -q >/dev/null
}

swarm_state() { node_docker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

swarm_form() {
  if [ "$(swarm_state 1)" != active ]; then
    node_docker 1 swarm init --advertise-addr "$(node_addr 1)" --listen-addr "$(node_addr 1):2377" >/dev/null
  fi
  local token; token=$(node_docker 1 swarm join-token -q worker)
  for n in "${nodes[@]:1}"; do
    [ "$(swarm_state "$n")" = active ] && continue
    node_docker "$n" swarm join --advertise-addr "$(node_addr "$n")" --token "$token" "$(node_addr 1):2377" >/dev/null
  done
  for _ in $(seq 1 60); do
    [ "$(node_docker 1 node ls --filter role=worker -q | wc -l)" -ge 2 ] &&
      ! node_docker 1 node ls --format '{{.Status}}' | grep -qv Ready && return 0
    sleep 0.5
  done
  die "the workers did not become Ready"
}

registry_answers() { (exec 3<>"/dev/tcp/$host_addr/5000") 2>/dev/null; }

registry_up() {
  registry_answers && return 0
  if ! command -v docker-registry >/dev/null; then
    log "WARNING: docker-registry is missing: no registry for the nodes; the swarm build test will skip"
    return 0
  fi
  mkdir -p "$base/registry"
  cat >"$base/registry/config.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $base/registry/data
  delete:
    enabled: true
http:
  addr: $registry_addr
YML
  setsid docker-registry serve "$base/registry/config.yml" >"$base/registry/log" 2>&1 </dev/null &
  echo $! >"$base/registry/pid"
  for _ in $(seq 1 40); do registry_answers && return 0; sleep 0.25; done
  log "WARNING: the nodes' registry did not start; see $base/registry/log"
}

registry_down() {
  local pidfile="$base/registry/pid"
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces and extra dockerd)"
  docker image inspect "$image" >/dev/null 2>&1 || die "$image is missing: run scripts/test.sh once, or build it"
  mkdir -p "$base"
  net_up
  for n in "${nodes[@]}"; do node_net_up "$n"; node_daemon_up "$n"; done
  for n in "${nodes[@]}"; do node_wait "$n"; done
  local copies=()
  for n in "${nodes[@]}"; do node_image "$n" & copies+=($!); done
  wait "${copies[@]}"
  swarm_form
  registry_up
  cmd_env >"$base/env"
  log "3-node swarm up; manager at unix://$(node_sock 1) ($(node_addr 1))"
}

node_daemon_down() {
  local n=$1 pidfile pid; pidfile="$(node_dir "$1")/dockerd.pid"
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    node_docker "$n" ps -aq 2>/dev/null | xargs -r docker -H "unix://$(node_sock "$n")" rm -f >/dev/null 2>&1 || true
    kill "$pid"
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

cmd_down() {
  [ "$(id -u)" = 0 ] || die "needs root"
  local stops=()
  for n in "${nodes[@]}"; do node_daemon_down "$n" & stops+=($!); done
  wait "${stops[@]}"
  registry_down
  for n in "${nodes[@]}"; do ip netns del "$(node_ns "$n")" 2>/dev/null || true; done
  ip link del mcpsw-root 2>/dev/null || true
  ip netns del "$hub" 2>/dev/null || true
  # Only our own data: anything the daemons left under their roots (mounts are gone with the daemons).
  rm -rf "$base"
  log "swarm down"
}

cmd_env() {
  echo "MCP_DOCKER_SWARM_HOST=unix://$(node_sock 1)"
  for n in "${nodes[@]}"; do echo "MCP_DOCKER_SWARM_NODE$n=unix://$(node_sock "$n")"; done
  for n in "${nodes[@]}"; do echo "MCP_DOCKER_SWARM_ADDR$n=$(node_addr "$n")"; done
  registry_answers && echo "MCP_DOCKER_SWARM_REGISTRY=$registry_addr"
  return 0
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  *) die "usage: $0 up|down|env" ;;
esac
