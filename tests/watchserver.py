"""A real HTTP server on 127.0.0.1 for the watcher's tests: routes that answer 200/304/404/500, redirect, trickle
slowly or send too much, and that a test changes between polls; every request is recorded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds between pieces of the body (a slow server), and how big each piece is.
    trickle: float = 0.0
    piece: int = 64
    # False: answer 200 with the body even to a conditional request (a server that ignores validators).
    conditional: bool = True


class LoopbackServer:
    """A threaded HTTP server on an ephemeral port of 127.0.0.1, serving `routes` (a path not in it: 404)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    self._answer(404, b"not found")
                    return
                if route.location:
                    self._answer(route.status, b"", {"Location": route.location})
                    return
                if route.status != 200:
                    self._answer(route.status, route.body or b"error", route.headers)
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                if route.conditional and (
                        (route.etag and self.headers.get("If-None-Match") == route.etag)
                        or (route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified)):
                    self._answer(304, b"", headers)
                    return
                self._answer(200, route.body, headers, route)

            def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                        route: Route | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if route is not None and route.trickle:
                        for start in range(0, len(body), route.piece):
                            self.wfile.write(body[start : start + route.piece])
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    elif body and status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        """Return the full URL of a path."""
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        """Return the headers of every request made for a path."""
        return [headers for requested, headers in self.requests if requested == path]


def http_date(seconds: float) -> str:
    """Return an HTTP date."""
    return formatdate(seconds, usegmt=True)


def rss(title: str, link: str, items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 feed: each item a dict of guid, title, link, date (RFC 822) and text (full content)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
             f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{escape(title)}</title>'
             f"<link>{escape(link)}</link><description>news</description>"]
    for item in items:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item["text"].split("\n\n"))
        parts.append(f"<item><guid>{escape(item['guid'])}</guid><title>{escape(item['title'])}</title>"
                     f"<link>{escape(item['link'])}</link><pubDate>{item['date']}</pubDate>"
                     f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def page(title: str, site: str, date: str, text: str, url: str) -> bytes:
    """A news page with its article, metadata and some site chrome."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)} | {escape(site)}</title>'
            f'<meta property="og:site_name" content="{escape(site)}"><meta property="og:title" '
            f'content="{escape(title)}"><link rel="canonical" href="{escape(url)}">'
            f'<meta property="article:published_time" content="{date}T08:00:00Z"></head><body>'
            f'<nav><a href="/">Home</a> <a href="/news">News</a></nav><article><h1>{escape(title)}</h1>'
            f"{paragraphs}</article><footer>Copyright {escape(site)}. All rights reserved.</footer></body></html>"
            ).encode()


def sitemap(entries: list[tuple[str, str | None]]) -> bytes:
    """A sitemap urlset of (url, lastmod)."""
    urls = "".join(f"<url><loc>{escape(url)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"
                   for url, lastmod in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()
