"""A second reference, in C: nginx with the nchan pub/sub module, the mature
server the issue's figures compare against. As many worker processes as the
scenario runs livecomments replicas (S3's 3: a process may hold 20,000 files
here; one otherwise); it serves the same paths the benchmark uses, as nchan
does them: a POST publishes its body to the video's channel, a stream
subscribes by EventSource. It has no users, tokens or store: register and
login answer fixed JSON, and the token the posters send is not checked.
Debian packages it:

    apt-get install nginx-light libnginx-mod-nchan
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
INSTALL = "apt-get install nginx-light libnginx-mod-nchan"
# A ping on every idle stream as often as livecomments' default heartbeat
# (and the reference's sse-starlette ping): S3 measures streams kept alive.
HEARTBEAT_S = 15

CONFIG = """\
load_module {module};
worker_processes {workers};
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  server {{
    listen 127.0.0.1:{port} backlog=4096 reuseport;
    default_type application/json;
    location ~ ^/api/posts/([^/]+)/comments/stream$ {{
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_subscriber_first_message newest;
      nchan_eventsource_ping_interval {heartbeat_s};
    }}
    location ~ ^/api/posts/([^/]+)/comments$ {{
      nchan_publisher;
      nchan_channel_id $1;
    }}
    location = /api/auth/register {{
      return 201 '{{"userId":"nchan","username":"nchan","role":"user"}}';
    }}
    location = /api/auth/login {{
      return 200 '{{"token":"not-checked","userId":"nchan","role":"user"}}';
    }}
    location = /healthz {{ return 200 '{{"status":"ok"}}'; }}
  }}
}}
"""


def nginx() -> str:
    """The nginx binary, or a clear error naming the packages to install."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                       else None)
    if binary is None or not os.path.exists(MODULE):
        raise SystemExit(f"--nchan needs nginx and its nchan module: {INSTALL}")
    return binary


def config(prefix: str, port: int, workers: int) -> str:
    return CONFIG.format(module=MODULE, prefix=prefix, port=port, workers=workers,
                         heartbeat_s=HEARTBEAT_S)


def start(port: int, workers: int) -> tuple[subprocess.Popen, tempfile.TemporaryDirectory]:
    """nginx in the foreground (its master is the process returned; the
    workers are its children), with its files in a directory of its own."""
    binary = nginx()
    prefix = tempfile.TemporaryDirectory(prefix="livecomments-bench-nchan-")
    os.chmod(prefix.name, 0o755)  # started as root, the workers run as nobody
    path = os.path.join(prefix.name, "nginx.conf")
    with open(path, "w") as out:
        out.write(config(prefix.name, port, workers))
    process = subprocess.Popen([binary, "-p", prefix.name, "-c", path, "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, prefix
