"""Checks the built documentation site (docs/_site): every link and anchor resolves, every diagnostic has its anchor,
and the main pages and the models' pictures render in headless Chromium. Prints one "PASS ..." or "FAIL ..." line per
check and exits 1 on a failure. Standard library only; run by docs/check-site.sh.

  python3 docs/check_site.py docs/_site [--chromium /usr/bin/chromium]
"""

import html.parser
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

# Every page of the table of contents (checked below) and two of the API reference, each with a text its rendered page
# must show (the title the reader came for).
MAIN_PAGES = {
    "index.html": "MtlDsl",
    "getting-started.html": "Getting started",
    "declaring-models.html": "Declaring models",
    "architectures.html": "Architectures",
    "training.html": "Training",
    "weighting.html": "Task weighting",
    "export.html": "Export and serving",
    "scale-out.html": "Scale-out with torchrun",
    "diagnostics.html": "MTL001",
    "performance.html": "Performance",
    "samples.html": "Samples",
    "benchmarks.html": "Benchmarks",
    "known-issues/README.html": "Known issues",
    "design-notes.html": "Design notes",
    "contributing.html": "Contributing",
    "api/MtlDsl.html": "Namespace MtlDsl",
    "api/MtlDsl.Training.FitOptions.html": "FitOptions",
}

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail), flush=True)


class Page(html.parser.HTMLParser):
    """The links (href, src) and the ids of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append((tag, attrs[key]))


def parse(path, cache={}):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def check_links(site):
    pages = [os.path.join(root, f) for root, _, files in os.walk(site) for f in files if f.endswith(".html")]
    broken, external, internal = [], 0, 0
    for path in sorted(pages):
        for tag, link in parse(path).links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or link.startswith("//"):
                external += 1  # no network here: external addresses are not fetched
                continue
            if not parts.path and not parts.fragment:
                continue
            internal += 1
            target = path if not parts.path else os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(parts.path)))
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            where = os.path.relpath(path, site)
            if not os.path.exists(target):
                broken.append(f"{where}: {link} (no file {os.path.relpath(target, site)})")
            elif parts.fragment and target.endswith(".html") and urllib.parse.unquote(parts.fragment) not in parse(target).ids:
                broken.append(f"{where}: {link} (no anchor #{parts.fragment} in {os.path.relpath(target, site)})")
    check(f"every link and anchor of the site's {len(pages)} pages resolves ({internal} internal links; {external} external ones not fetched)",
          not broken, "; ".join(broken[:20]) + (f"; and {len(broken) - 20} more" if len(broken) > 20 else ""))


def check_diagnostic_anchors(site, repository):
    releases = ""
    for name in ("AnalyzerReleases.Shipped.md", "AnalyzerReleases.Unshipped.md"):
        with open(os.path.join(repository, "generators", "MtlDsl.Generators", name), encoding="utf-8") as f:
            releases += f.read()
    ids = sorted(set(re.findall(r"^(MTL\d{3})\s*\|", releases, re.M)))
    anchors = parse(os.path.join(site, "diagnostics.html")).ids
    missing = [i for i in ids if i.lower() not in anchors]
    check(f"diagnostics.html has an anchor for each of the {len(ids)} diagnostic ids the generator ships (its help links)",
          len(ids) > 30 and not missing, "missing: " + ", ".join(missing) if missing else f"only {len(ids)} ids found")


def read_png(path):
    """Width, height and rows of RGB(A) pixels of an 8-bit PNG (what Chromium writes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError(f"unexpected PNG format (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1: line[x] = (line[x] + a) & 255
            elif kind == 2: line[x] = (line[x] + b) & 255
            elif kind == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def ink(path):
    """The fraction of pixels that differ from the page's background (its most common colour), and the distinct colours."""
    width, height, channels, rows = read_png(path)
    counts = {}
    for row in rows[::2]:
        for x in range(0, width * channels, channels * 2):
            pixel = row[x:x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    background = max(counts.values())
    return (total - background) / total, len(counts)


def chromium(binary, url, screenshot=None, size="1280,1000"):
    """The page's document after its scripts ran (--dump-dom), or a screenshot; a fresh profile each time (a profile
    still held by a Chromium that has not quite exited makes the next one wait). One retry after a timeout."""
    action = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    for attempt in range(2):
        with tempfile.TemporaryDirectory() as profile:
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
                     "--virtual-time-budget=2000", f"--window-size={size}"]
            try:
                return subprocess.run([binary, *flags, *action, url], capture_output=True, text=True, timeout=60).stdout
            except subprocess.TimeoutExpired:
                print(f"(Chromium did not finish {url} in 60 s{'; again' if attempt == 0 else ''})", flush=True)
    return ""


def check_every_page_is_rendered(site):
    """The rendering check covers every page the table of contents lists: a page added to the site is added there too."""
    import json
    with open(os.path.join(site, "toc.json"), encoding="utf-8") as f:
        toc = json.load(f)
    def pages(items):
        for item in items:
            if item.get("href") and not item["href"].startswith("api/"):
                yield item["href"]
            yield from pages(item.get("items", []))
    listed = sorted(set(pages(toc["items"])))
    missing = [p for p in listed if p not in MAIN_PAGES]
    check(f"the rendering check covers the {len(listed)} pages of the table of contents", not missing, "not covered: " + ", ".join(missing))


def check_rendering(site, binary, shots):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        for page, title in MAIN_PAGES.items():
            dom = chromium(binary, base + page)
            text = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", dom))
            words = len(text.split())
            png = os.path.join(shots, page.replace("/", "_") + ".png")
            chromium(binary, base + page, screenshot=png)
            covered, colours = ink(png) if os.path.exists(png) else (0.0, 0)
            # The rendered document (after its scripts ran) shows the title, the navigation and real content, and the
            # screenshot is not a blank or one-colour page.
            shown, navigation = title in text, 'class="navbar' in dom
            ok = shown and navigation and words > 150 and covered > 0.03 and colours > 8
            check(f"{page} renders in Chromium ('{title}' shown, {words} words, {covered:.0%} of the screenshot drawn, {colours} colours)", ok,
                  f"title shown: {shown}, navigation: {navigation}")
        pictures = sorted(os.path.join(root, f) for root, _, files in os.walk(os.path.join(site, "images", "models")) for f in files if f.endswith(".svg"))
        for picture in pictures:
            relative = os.path.relpath(picture, site).replace(os.sep, "/")
            png = os.path.join(shots, relative.replace("/", "_") + ".png")
            dom = chromium(binary, base + relative)
            chromium(binary, base + relative, screenshot=png, size="1400,1400")
            covered, colours = ink(png) if os.path.exists(png) else (0.0, 0)
            # A malformed SVG still draws something (Chromium's "This page contains the following errors" box): the
            # document must be the picture, with no parser error in it.
            parsed = "<svg" in dom and "parsererror" not in dom
            check(f"{relative} renders in Chromium ({covered:.0%} drawn, {colours} colours)", parsed and covered > 0.01 and colours > 4,
                  "Chromium could not parse it" if not parsed else "")
        check("the models' pictures are on the site", len(pictures) >= 7, f"{len(pictures)} found under images/models")
    finally:
        server.shutdown()


def main():
    site = sys.argv[1]
    binary = sys.argv[sys.argv.index("--chromium") + 1] if "--chromium" in sys.argv else "/usr/bin/chromium"
    shots = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else tempfile.mkdtemp()
    os.makedirs(shots, exist_ok=True)
    repository = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    check_links(site)
    check_diagnostic_anchors(site, repository)
    check_every_page_is_rendered(site)
    check_rendering(site, binary, shots)
    print(f"screenshots in {shots}")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
