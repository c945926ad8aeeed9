"""Offline by construction.

- The whole test suite runs with outbound connections blocked: pytest-socket is enabled in
  pyproject's addopts with ``--allow-hosts=127.0.0.1,::1,localhost --allow-unix-socket``
  (local servers such as a browser test's, and multiprocessing's unix sockets, still work).
- A real `run` with the e5 model and --redact (spaCy) in a fresh interpreter whose every
  non-local connection and name lookup is refused and recorded: nothing is even attempted.
- No module of the package uses a network or model-hub API.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

GUARD = '''
import os, socket
_LOG = os.environ["CRITERIA_NLP_NETWORK_LOG"]
_LOCAL = {"127.0.0.1", "::1", "localhost", None}
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

def _record(what):
    with open(_LOG, "a") as log:
        log.write(repr(what) + "\\n")

def _allowed(sock, address):
    return sock.family == getattr(socket, "AF_UNIX", None) or (isinstance(address, tuple) and address[0] in _LOCAL)

def connect(self, address):
    if not _allowed(self, address):
        _record(("connect", address))
        raise OSError("network blocked by the offline test")
    return _connect(self, address)

def connect_ex(self, address):
    if not _allowed(self, address):
        _record(("connect_ex", address))
        return 111
    return _connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL:
        _record(("getaddrinfo", host))
        raise socket.gaierror("name lookup blocked by the offline test")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''


def test_outbound_connections_are_blocked_in_the_suite():
    from pytest_socket import SocketBlockedError, SocketConnectBlockedError

    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1, never routed


def test_local_connections_still_work():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            connection, _ = server.accept()
            connection.close()


def test_unix_sockets_still_work(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)


NETWORK_APIS = re.compile(
    r"\b(hf_hub_download|snapshot_download|HfApi|urlopen|urllib\.request|requests\.|httpx|http\.client|"
    r"aiohttp|socket\.|from_pretrained\(\s*['\"][\w.-]+/[\w.-]+['\"])"
)


def test_no_module_uses_a_network_or_hub_api():
    offenders = []
    for path in (SRC / "criteria_nlp").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if NETWORK_APIS.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.model
def test_a_full_e5_run_attempts_no_network_access(tmp_path, e5_embedder):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "network.log"
    answers = tmp_path / "answers.csv"
    pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "text": ["avoir un logement décent", "Marie Dupont m'aide, marie@example.fr", "een job hebben", "la paix"],
    }).to_csv(answers, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "CRITERIA_NLP_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(guard), str(SRC)]), CRITERIA_NLP_NETWORK_LOG=str(log))
    done = subprocess.run(
        [sys.executable, "-m", "criteria_nlp.cli", "run", str(answers), "-o", str(tmp_path / "out"),
         "--embedder", "e5", "--cache-dir", str(e5_embedder.cache_dir), "--redact", "-q"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not log.exists(), log.read_text()
    assert (tmp_path / "out" / "answers.csv").exists()
