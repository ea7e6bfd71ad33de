"""A local HTTP server on 127.0.0.1 for download tests: plain files, HTTP Range, truncated answers,
and a mimic of Google Drive's large-file flow (virus-scan confirm page with ``confirm`` + ``uuid``,
then the file from ``/download?id=ID&export=download&confirm=t&uuid=...``)."""

from __future__ import annotations

import http.server
import threading
import uuid as uuidlib
from urllib.parse import parse_qs, urlsplit

CONFIRM_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>
<body><div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan
this file for viruses.</p><p class="uc-warning-subcaption"><span class="uc-name-size"><a
href="/open?id={id}">{name}</a> (1.2G)</span> is too large for Google to scan for viruses. Would you
still like to download this file?</p><form id="download-form" action="{action}" method="get"><input
type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action"
value="Download anyway"/><input type="hidden" name="id" value="{id}"><input type="hidden"
name="export" value="download"><input type="hidden" name="confirm" value="t"><input type="hidden"
name="uuid" value="{uuid}"></form></div></div></body></html>"""

QUOTA_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>
<p>Sorry, you can't view or download this file at this time.</p><p>Too many users have viewed or
downloaded this file recently. Please try accessing the file again later.</p></body></html>"""


class FileServer:
    """``files``: path -> bytes; ``drive``: id -> bytes. Switches: ``truncate`` (paths / ids whose
    next N answers stop half-way), ``quota`` (ids answered with the quota page), ``action``
    (override of the confirm form's action URL), ``no_range`` (ignore Range)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drive: dict[str, bytes] = {}
        self.truncate: dict[str, int] = {}
        self.quota: set[str] = set()
        self.action: str | None = None
        self.no_range = False
        self.ctypes: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.uuids: dict[str, str] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                server.requests.append((self.path, self.headers.get("Range")))
                u = urlsplit(self.path)
                if u.path == "/download":
                    q = {k: v[0] for k, v in parse_qs(u.query).items()}
                    fid = q.get("id", "")
                    if fid not in server.drive:
                        return self._send(404, b"not found", "text/plain")
                    if fid in server.quota:
                        return self._send(200, QUOTA_PAGE.encode(), "text/html; charset=utf-8")
                    if q.get("confirm") != "t" or q.get("uuid") != server.uuids.get(fid):
                        server.uuids[fid] = str(uuidlib.uuid4())
                        action = server.action or f"http://127.0.0.1:{server.port}/download"
                        page = CONFIRM_PAGE.format(id=fid, name=f"{fid}.pt", action=action,
                                                   uuid=server.uuids[fid])
                        return self._send(200, page.encode(), "text/html; charset=utf-8")
                    return self._file(fid, server.drive[fid])
                if u.path in server.files:
                    return self._file(u.path, server.files[u.path])
                return self._send(404, b"not found", "text/plain")

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _file(self, key, data):
                start = 0
                rng = self.headers.get("Range")
                if rng and not server.no_range:
                    start = int(rng.split("=", 1)[1].split("-", 1)[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", server.ctypes.get(key, "application/octet-stream"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate.get(key, 0) > 0:
                    server.truncate[key] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
