"""Google Drive downloads: the "can't scan for viruses" confirm page of large files.

For a file above Drive's scan limit, ``https://drive.usercontent.google.com/download?id=ID&export=
download`` answers with an HTML page (HTTP 200, ``text/html``) whose form ``download-form`` carries
hidden ``id``, ``export``, ``confirm`` and ``uuid`` inputs; the file itself then comes from the
form's action with those fields (``...&confirm=t&uuid=...``). Older pages carried a
``/uc?export=download&confirm=XXXX&id=ID`` link instead; both are understood. A page without either
(quota exceeded, no access, file deleted) is a :class:`DownloadError` that says so.
Nothing from the page is executed; only the form's fields are read, and the confirmed URL must stay
on Google's download hosts (or on the host that served the page, for local test servers).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

from .errors import DownloadError

DOWNLOAD_URL = "https://drive.usercontent.google.com/download"
TRUSTED_HOSTS = {"drive.usercontent.google.com", "drive.google.com", "docs.google.com"}
MAX_PAGE_BYTES = 1 << 20


def file_url(file_id: str) -> str:
    """First URL to ask for a Drive file (module attribute DOWNLOAD_URL: tests point it locally)."""
    return f"{DOWNLOAD_URL}?{urlencode({'id': file_id, 'export': 'download'})}"


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self.title = ""
        self._in_title = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"id": a.get("id", ""), "action": a.get("action", ""), "fields": {}}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            if a.get("type", "text").lower() in ("hidden", "text"):
                self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif data.strip():
            self.text.append(data.strip())


def _host_ok(url: str, page_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in TRUSTED_HOSTS or host == (urlsplit(page_url).hostname or "")


def confirm_url(page: bytes | str, page_url: str) -> str:
    """The URL that downloads the file, read from Drive's confirm page. Raises DownloadError."""
    text = page.decode("utf-8", "replace") if isinstance(page, bytes) else page
    p = _FormParser()
    try:
        p.feed(text)
    except Exception:  # noqa: BLE001 - malformed HTML: fall through to the messages below
        pass
    forms = sorted(p.forms, key=lambda f: f["id"] != "download-form")
    for form in forms:
        fields = form["fields"]
        if "confirm" in fields and "id" in fields:
            action = urljoin(page_url, form["action"] or page_url.split("?", 1)[0])
            if not _host_ok(action, page_url):
                raise DownloadError(f"Google Drive's confirm page points to an unexpected host "
                                    f"({urlsplit(action).hostname}); not followed")
            return f"{action}?{urlencode(fields)}"
    m = re.search(r'href="(/uc\?export=download[^"]*?confirm=[^"]+)"', text)
    if m:
        return urljoin(page_url, html.unescape(m.group(1)))
    why = " ".join(p.text)[:300]
    if re.search(r"quota|too many users", text, re.I):
        raise DownloadError("Google Drive refuses the download for now: the file's download quota "
                            "is exceeded (too many users); try again later")
    raise DownloadError("Google Drive answered with a web page instead of the file (no access, "
                        f"deleted file or a changed page): {(p.title.strip() or why)!r}")


def is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")
