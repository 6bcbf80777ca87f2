"""Real git servers on 127.0.0.1 for tests and benchmarks: a bare repository served over
``file://``, by ``git daemon``, and by ``git http-backend`` behind nginx + fcgiwrap.

Each server is a context manager yielding the URL of one bare repository it serves; it
stops its processes on exit. The HTTP server needs Debian's ``nginx`` (or nginx-light) and
``fcgiwrap``; :func:`available` says which transports this machine can run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
TRANSPORTS = ("file", "daemon", "http")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))


def fcgiwrap_binary() -> str | None:
    return shutil.which("fcgiwrap") or shutil.which("fcgiwrap", path="/usr/sbin:/sbin")


def available(transport: str) -> bool:
    """Whether this machine can run ``transport`` (file, daemon, http)."""
    if transport == "file":
        return True
    if transport == "daemon":
        return subprocess.run(["git", "daemon", "-h"], capture_output=True).returncode in (0, 129)
    return bool(nginx_binary() and fcgiwrap_binary() and os.path.exists(HTTP_BACKEND))


def bare_repo(root: Path, name: str = "origin.git") -> Path:
    """A new bare repository ``root/name`` that accepts pushes over any transport."""
    path = root / name
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "config", "http.receivepack", "true"], check=True)
    subprocess.run(["git", "-C", str(path), "config", "daemon.receivepack", "true"], check=True)
    return path


@contextlib.contextmanager
def serve(transport: str, root: Path) -> Iterator[str]:
    """Serve a new bare repository under ``root`` over ``transport``; yields its URL."""
    root.mkdir(parents=True, exist_ok=True)
    bare = bare_repo(root)
    if transport == "file":
        yield f"file://{bare}"
    elif transport == "daemon":
        port = _free_port()
        proc = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                                 f"--base-path={root}", "--listen=127.0.0.1", f"--port={port}", str(root)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(port, proc, "git daemon")
            yield f"git://127.0.0.1:{port}/{bare.name}"
        finally:
            _stop(proc)
    elif transport == "http":
        with _http(root, bare) as url:
            yield url
    else:
        raise ValueError(f"unknown transport {transport!r}")


@contextlib.contextmanager
def _http(root: Path, bare: Path) -> Iterator[str]:
    nginx, fcgiwrap = nginx_binary(), fcgiwrap_binary()
    if not (nginx and fcgiwrap):
        raise RuntimeError("nginx and fcgiwrap are needed for the HTTP server (apt-get install nginx-light fcgiwrap)")
    conf_dir = root / "nginx"
    (conf_dir / "logs").mkdir(parents=True, exist_ok=True)
    sock = conf_dir / "fcgiwrap.sock"
    port = _free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (conf_dir / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {conf_dir}/nginx.pid;
error_log {conf_dir}/logs/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {conf_dir}/body;
  fastcgi_temp_path {conf_dir}/fastcgi;
  proxy_temp_path {conf_dir}/proxy;
  uwsgi_temp_path {conf_dir}/uwsgi;
  scgi_temp_path {conf_dir}/scgi;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      fastcgi_pass unix:{sock};
      fastcgi_param SCRIPT_FILENAME {HTTP_BACKEND};
      fastcgi_param GIT_PROJECT_ROOT {root};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param REMOTE_USER tester;
    }}
  }}
}}
""")
    wrap = subprocess.Popen([fcgiwrap, "-s", f"unix:{sock}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    web = None
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline or wrap.poll() is not None:
                raise RuntimeError("fcgiwrap did not create its socket")
            time.sleep(0.02)
        web = subprocess.Popen([nginx, "-p", str(conf_dir), "-c", str(conf_dir / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(port, web, "nginx")
        yield f"http://127.0.0.1:{port}/{bare.name}"
    finally:
        if web is not None:
            _stop(web)
        _stop(wrap)
