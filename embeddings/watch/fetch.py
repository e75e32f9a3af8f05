"""One bounded HTTP GET with the standard library: conditional (ETag / Last-Modified), at most so many bytes and
seconds, redirects followed by hand within a limit, and every failure one line (FetchError)."""

from __future__ import annotations

import email.utils
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urljoin, urlsplit

USER_AGENT = "newsbot-watch/1 (conditional requests, backs off on errors)"
REDIRECTS = (301, 302, 303, 307, 308)
# Answers that say the resource is gone: an article that answers so is removed from the archive.
GONE = (404, 410)
_READ = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """How far one request may go: seconds in all, bytes of body, redirects."""

    timeout: float = 20.0
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Fetched:
    """A response: 200 with its body, or 304 (not modified) with none."""

    url: str
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True for a 304: what was fetched last time is current."""
        return self.status == 304


class FetchError(Exception):
    """A request that gave no usable answer, said in one line; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        """True when the server says the resource does not exist (404, 410)."""
        return self.status in GONE


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand every redirect back to fetch, which follows it within its limits."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def fetch(url: str, limits: FetchLimits, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """GET a URL: 200 with its body or 304; FetchError for anything else (status, size, time, redirects, network)."""
    deadline = time.monotonic() + limits.timeout
    opener = urllib.request.build_opener(_NoRedirects())
    seen = {url}
    current = url
    for _ in range(limits.max_redirects + 1):
        _check_scheme(current)
        request = urllib.request.Request(current, headers=_headers(limits, etag, last_modified))
        try:
            response = opener.open(request, timeout=_left(deadline, limits))
        except urllib.error.HTTPError as error:
            with error:
                if error.code == 304:
                    return Fetched(current, 304, etag=etag, last_modified=last_modified)
                if error.code in REDIRECTS and error.headers.get("Location"):
                    target = urljoin(current, error.headers["Location"].strip())
                    if target in seen:
                        raise FetchError(f"redirect loop at {_short(target)}") from None
                    seen.add(target)
                    current = target
                    continue
                retry = _retry_after(error.headers.get("Retry-After")) if error.code in (429, 503) else None
                raise FetchError(f"HTTP {error.code} {error.reason or ''}".strip(), error.code, retry) from None
        except (urllib.error.URLError, OSError, HTTPException, ValueError) as error:
            raise FetchError(_network(error, limits)) from None
        with response:
            body = _read(response, deadline, limits)
            return Fetched(current, response.status, body, response.headers.get("ETag"),
                           response.headers.get("Last-Modified"))
    raise FetchError(f"more than {limits.max_redirects} redirects")


def _headers(limits: FetchLimits, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": limits.user_agent, "Accept-Encoding": "identity",
               "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml, text/html;q=0.9, "
                         "*/*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read(response, deadline: float, limits: FetchLimits) -> bytes:  # response: http.client.HTTPResponse
    """Read a body in pieces, never past max_bytes nor past the deadline (a server that trickles is cut off)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(f"{int(declared):,} bytes, over the {limits.max_bytes:,} limit (NEWSBOT_WATCH_MAX_BYTES)")
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            _left(deadline, limits)  # each read waits at most the socket's timeout; the whole body, the deadline
            piece = response.read1(_READ)
            if not piece:
                return b"".join(parts)
            size += len(piece)
            if size > limits.max_bytes:
                raise FetchError(f"over {limits.max_bytes:,} bytes (NEWSBOT_WATCH_MAX_BYTES), cut off")
            parts.append(piece)
    except FetchError:
        raise
    except (OSError, HTTPException, ValueError) as error:
        raise FetchError(_network(error, limits)) from None


def _left(deadline: float, limits: FetchLimits) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"no complete answer in {limits.timeout:g} s (NEWSBOT_WATCH_TIMEOUT)")
    return left


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchError(f"not a URL: {_short(url)}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {_short(url)}")


def _network(error: BaseException, limits: FetchLimits) -> str:
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, socket.timeout | TimeoutError):
        return f"no complete answer in {limits.timeout:g} s (NEWSBOT_WATCH_TIMEOUT)"
    text = " ".join(str(reason).split()) or type(reason).__name__
    return f"cannot connect ({text[:160]})"


def _retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value) if email.utils.parsedate_tz(value) else None
    return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
