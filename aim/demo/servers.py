"""Run the hub and the portal under uvicorn as child processes, wait until they answer, and stop them cleanly.

The apps are named by import string (the application layer does not import the API layer).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from aim.errors import ConfigError

HUB_APP = "api.hub.app:app_from_env"
PORTAL_APP = "api.portal.app:app_from_env"


@dataclass
class Server:
    """A child uvicorn process serving ``app`` at ``url``."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] | None = None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    name: str,
    app: str,
    *,
    env: dict[str, str],
    host: str,
    port: int,
    health: str,
    log: Path | None = None,
    timeout: float = 60.0,
) -> Server:
    """Start ``app`` (a factory) under uvicorn on ``host:port`` and wait until ``health`` answers 200."""
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", host, "--port", str(port)]
    command += ["--log-level", "warning"]
    out = log.open("ab") if log else None
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, env={**os.environ, **env}, stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    server = Server(name, f"http://{host}:{port}", process, out)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            where = f"; see {log}" if log else ""
            server.stop()
            raise ConfigError(f"the {name} stopped as it started (exit {process.returncode}){where}")
        try:
            if httpx.get(server.url + health, timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise ConfigError(f"the {name} did not answer on {server.url} within {timeout:.0f}s")
