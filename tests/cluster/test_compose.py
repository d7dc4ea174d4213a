"""docker-compose.yml is valid Compose and its commands really run.

These machines have the Docker client but no engine, so the file is checked
against the Compose Specification schema (../shared/data/compose-spec.json)
and each service's command line is run locally, with ports and container
addresses mapped onto free 127.0.0.1 ports.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import jsonschema
import pytest
import yaml

from tests.cluster.conftest import consecutive_free_ports, env
from tests.procs import ROOT, Proc, free_port, wait_until

SCHEMA = os.path.join(os.path.dirname(ROOT), "shared", "data", "compose-spec.json")
SHARDIS = [sys.executable, "-m", "cluster.cli"]


def load_compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


def test_compose_file_matches_the_compose_schema():
    assert os.path.exists(SCHEMA), f"Compose schema not found at {SCHEMA}"
    with open(SCHEMA) as f:
        schema = json.load(f)
    doc = load_compose()
    jsonschema.Draft7Validator(schema).validate(doc)
    services = doc["services"]
    assert set(services) == {"cluster", "node1", "node2", "node3", "create"}
    # the default service publishes client ports 1:1 and has a health check
    assert services["cluster"]["ports"] == ["7000:7000", "7001:7001", "7002:7002"]
    assert "health" in services["cluster"]["healthcheck"]["test"]
    for name in ("node1", "node2", "node3", "create"):
        assert services[name]["profiles"] == ["per-node"]


def expand(arg: str) -> str:
    # ${VAR:-default} as compose interpolates it, with the environment empty
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", arg)


def health(port):
    return subprocess.run(SHARDIS + ["cluster", "health", "--port", str(port)], env=env(),
                          capture_output=True, timeout=10).returncode == 0


def test_default_service_command_starts_a_healthy_cluster(tmp_path):
    svc = load_compose()["services"]["cluster"]
    ports = consecutive_free_ports(3)
    mapping = {"7000": str(ports[0]), "/data": str(tmp_path), "0.0.0.0": "127.0.0.1"}
    cmd = [mapping.get(expand(a), expand(a)) for a in svc["command"]]
    assert cmd[:2] == ["cluster", "start"] and "127.0.0.1" in cmd
    proc = Proc(SHARDIS + cmd, ports[0], cwd=str(tmp_path), env=env())
    try:
        hc = [mapping.get(a, a) for a in svc["healthcheck"]["test"][1:]]
        wait_until(lambda: subprocess.run(SHARDIS + hc[1:], env=env(), capture_output=True,
                                          timeout=10).returncode == 0,
                   60, what="compose healthcheck")
        assert all(health(p) for p in ports)
    finally:
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(30) == 0, proc.output()
        proc.stop()


def test_per_node_profile_commands_form_a_cluster(tmp_path):
    services = load_compose()["services"]
    ports = [free_port() for _ in range(3)]
    ip_to_port = {}
    procs = []
    try:
        for name, port in zip(("node1", "node2", "node3"), ports):
            cmd = list(services[name]["command"])
            ip = cmd[cmd.index("--cluster-announce-ip") + 1]
            ip_to_port[ip] = port
            cmd = [{"7000": str(port), "0.0.0.0": "127.0.0.1", ip: "127.0.0.1"}.get(a, a)
                   for a in cmd]
            d = tmp_path / name
            d.mkdir()
            p = Proc(SHARDIS + cmd, port, cwd=str(d), env=env())
            procs.append(p)
            p.wait_ready()
        create = [a for a in services["create"]["command"]]
        create = [f"127.0.0.1:{ip_to_port[a.split(':')[0]]}" if a.split(":")[0] in ip_to_port
                  else a for a in create]
        out = subprocess.run(SHARDIS + create, env=env(), capture_output=True, text=True,
                             timeout=90)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "cluster ready" in out.stdout
        assert all(health(p) for p in ports)
    finally:
        for p in procs:
            p.stop()
