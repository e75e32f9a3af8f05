"""The report's HTML page as a real browser shows it: Chromium (Debian's `chromium`) loads the page headless, and the
test reads the DOM it built and the pixels it drew; and the page fetches nothing and runs no script."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest

from bot.answer.questionreport import build_report
from bot.cli.report_page import ANSWERED_COLOUR, DECLINED_COLOUR, render_page
from tests import questionlogs
from tests.questionlogs import BRIDGE, FOOTBALL, MEALS, RATED_DOWN, known_log

HOSTILE = '<script>alert("x")</script><img src="https://example.com/t.png"> & </section>'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture()
def page(fake_embedder, tmp_path: Path) -> Path:
    """The page of the known log, plus a declined question that tries to inject markup."""
    rows = known_log()
    rows.append(replace(rows[-2], question=HOSTILE, asked_at=rows[-1].asked_at))
    report = build_report(rows, fake_embedder, questionlogs.search, questionlogs.describe)
    path = tmp_path / "report.html"
    path.write_text(render_page(report), encoding="utf-8")
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=True)


@pytest.mark.fast
def test_the_page_fetches_nothing_and_runs_nothing(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in text
    document = lxml.html.fromstring(text)
    assert not document.xpath("//script | //iframe | //object | //embed | //link | //img")
    assert not document.xpath("//@src | //@href | //@srcset") and "url(" not in text
    # The one URL in markup is the SVG namespace, which names and never fetches; the question's is text.
    assert {v for v in document.xpath("//@*") if re.search(r"\w+://", v)} == {"http://www.w3.org/2000/svg"}
    assert "&lt;script&gt;alert" in text


@pytest.mark.slow
def test_chromium_shows_the_counts_the_groups_and_the_charts(page: Path, tmp_path: Path) -> None:
    dom = lxml.html.fromstring(chromium(tmp_path, "--dump-dom", page.as_uri()).stdout)
    assert dom.findtext(".//h1") == "What readers asked"
    assert [s.get("id") for s in dom.xpath("//section")] == [
        "totals", "per-day", "share", "declines", "gaps", "rated-down", "sources", "latency"]
    cards = {c.get("data-name"): c.findtext("b") for c in dom.xpath("//div[@class='card']")}
    assert cards["Asked"] == "13" and cards["Answered"] == "4 (31%)" and cards["Declined"] == "9 (69%)"
    days = dom.xpath("//section[@id='per-day']//*[local-name()='g'][@class='day']")
    assert [(d.get("data-day"), d.get("data-asked")) for d in days] == [
        ("2025-03-01", "7"), ("2025-03-02", "0"), ("2025-03-03", "6")]
    assert len(dom.xpath("//section[@id='share']//*[local-name()='circle']")) == 2  # no point on the empty day
    rules = dom.xpath("//section[@id='declines']//*[local-name()='g'][@class='rule']")
    assert [(r.get("data-label"), r.get("data-value")) for r in rules] == [
        ("never_mentioned", "5"), ("not_answered", "3"), ("wrong_kind", "1")]

    gaps = dom.xpath("//section[@id='gaps']//div[@class='gap']")
    assert [(g.get("data-size"), g.findtext("b")) for g in gaps] == [("4", BRIDGE), ("3", FOOTBALL), ("1", HOSTILE),
                                                                      ("1", MEALS)]
    assert "closest: 002_b Ferry timetable changes" in " ".join(gaps[0].text_content().split())
    [down] = dom.xpath("//tr[@class='rated-down']")
    assert RATED_DOWN in down.text_content() and "004_a Council votes on parking" in down.text_content()
    assert not dom.xpath("//script | //img")  # the hostile question is text, not markup


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes): width, height, channels, pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat = 8, bytearray()
    width = height = depth = kind = interlace = 0
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        name, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        at += 12 + length
        if name == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
            interlace = body[12]
        elif name == b"IDAT":
            idat += body
    assert depth == 8 and interlace == 0 and kind in (2, 6)
    channels = 3 if kind == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * channels
    out, previous = bytearray(), bytearray(stride)
    for y in range(height):
        kind_of_filter, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind_of_filter == 1:
                line[i] = (line[i] + left) & 255
            elif kind_of_filter == 2:
                line[i] = (line[i] + up) & 255
            elif kind_of_filter == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind_of_filter == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        out += line
        previous = line
    return width, height, channels, bytes(out)


@pytest.mark.slow
def test_chromium_draws_the_answered_and_declined_bars(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "top.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=820,620", "--hide-scrollbars", page.as_uri())
    width, height, channels, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (820, 620)

    def count(colour: str) -> int:
        rgb = bytes.fromhex(colour[1:])
        return sum(1 for at in range(0, len(pixels), channels) if pixels[at:at + 3] == rgb)

    # The per-day chart is in the first screen: both colours fill bars there, not just the legend's squares.
    assert count(ANSWERED_COLOUR) > 1000 and count(DECLINED_COLOUR) > 1000
