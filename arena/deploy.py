"""Several arena processes behind nginx: the configuration, and running it.

A voter's requests must stay on one process (Gradio's session and a turn's event
stream live there). nginx keeps them there by a first-party cookie it sets itself on
the first response (``arena_route``, a random id), never by the client's address: a
whole office can sit behind one. A process that dies is skipped at once; its voters
see a clear error for the battle in flight and play the next round on another.

``python run_arena.py deploy nginx --replica 127.0.0.1:7861 --replica 127.0.0.1:7862``
prints the site configuration; ``deploy/nginx.conf`` is that output for two replicas.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["ROUTE_COOKIE", "nginx_site", "run_nginx"]

ROUTE_COOKIE = "arena_route"

SITE = """\
# arena behind nginx: every voter sticks to one arena process by a first-party cookie
# (set here on the first response), event streams pass through unbuffered, and a
# process that is down is skipped. Made by: python run_arena.py deploy nginx
map $cookie_{cookie} $arena_route {{
    ""      $request_id;
    default $cookie_{cookie};
}}
map $cookie_{cookie} $arena_set_route {{
    ""      "{cookie}=$request_id; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000";
    default "";
}}

upstream arena {{
    hash $arena_route consistent;
{servers}
    keepalive 128;
    # Under uvicorn's own 5 s: nginx must never reuse a connection the arena has just
    # closed (a request sent on it fails, and a POST is not retried elsewhere).
    keepalive_timeout 4s;
}}

server {{
    listen {listen};
    client_max_body_size 4m;

    location / {{
        proxy_pass http://arena;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;  # with its port: the arena checks Origin against it
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        # Answers stream as server-sent events: pass each one on at once.
        proxy_buffering off;
        proxy_cache off;
        proxy_read_timeout 600s;
        proxy_send_timeout 600s;
        proxy_next_upstream error timeout;
        add_header Set-Cookie $arena_set_route always;
    }}
}}
"""

MAIN = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""


def nginx_site(replicas: Sequence[str], listen: str = "80") -> str:
    """The nginx site configuration for arena processes at ``replicas`` (host:port)."""
    servers = "\n".join(f"    server {r} max_fails=3 fail_timeout=5s;" for r in replicas)
    return SITE.format(cookie=ROUTE_COOKIE, servers=servers, listen=listen)


@contextlib.contextmanager
def run_nginx(
    folder: Path, port: int, replicas: Sequence[str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run nginx on 127.0.0.1:``port`` in front of ``replicas`` until the block ends
    (for tests and benchmarks; a deployment runs Debian's nginx service)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.conf").write_text(nginx_site(replicas, f"127.0.0.1:{port}"))
    (folder / "nginx.conf").write_text(MAIN.format(folder=folder))
    process = subprocess.Popen(
        [binary, "-c", str(folder / "nginx.conf"), "-p", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"nginx did not start: {error}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr:
            process.stderr.close()
