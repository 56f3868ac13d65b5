#!/usr/bin/env python3
"""Drives one server through what a session does first, for scripts/hot-code-order.sh to record.

Usage: hot_code_probe.py SERVER_BINARY [WRAPPER ...]
Starts the server over stdio (under WRAPPER, such as valgrind), initializes, lists the tools, lists the
containers, plans a small project and reads its status, then closes stdin so the server exits cleanly (and
the wrapper writes its profile). Needs a running Docker engine; touches nothing (the plan is not applied).
"""
import json
import os
import subprocess
import sys
import tempfile

binary, wrapper = sys.argv[1], sys.argv[2:]
state = tempfile.mkdtemp(prefix="hot-code-state-")
env = dict(os.environ, MCP_DOCKER_STATE_DIR=state)
server = subprocess.Popen(
    wrapper + [binary],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
    env=env,
)
next_id = 0


def call(method, params=None):
    global next_id
    next_id += 1
    message = {"jsonrpc": "2.0", "id": next_id, "method": method, "params": params or {}}
    server.stdin.write((json.dumps(message) + "\n").encode())
    server.stdin.flush()
    while True:
        line = server.stdout.readline()
        if not line:
            sys.exit(f"the server closed its output during {method}")
        answer = json.loads(line)
        if answer.get("id") == next_id:
            return answer


def tool(name, arguments):
    return call("tools/call", {"name": name, "arguments": arguments})


call(
    "initialize",
    {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "hot-code-probe", "version": "1"},
    },
)
server.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
server.stdin.flush()
call("tools/list")
tool("list_containers", {})
spec = "services:\n  web:\n    image: busybox\n    command: [sleep, '60']\n    ports: ['127.0.0.1::80']\n"
tool("plan", {"project": "hot-code-probe", "compose_yaml": spec})
tool("list_projects", {})
server.stdin.close()
server.wait(timeout=120)
