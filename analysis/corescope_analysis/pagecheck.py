"""Renders a report page in headless Chromium and checks what a reader would see: the page
renders (a screenshot that is not blank), every <img> loads (naturalWidth > 0 after the load
event), and no section (an <h2 id=...> up to the next <h2>) is empty.

    /usr/bin/python3 -m corescope_analysis.pagecheck REPORT_DIR/index.html [--screenshot FILE]

Exit status 0 when the page passes, 1 with one line per problem when it does not, 2 when the
check cannot run (no such page, no chromium). Debian's `chromium` package provides the browser
(or set CORESCOPE_CHROMIUM).

The page itself has no script: a copy of it with a small script added is loaded from the same
directory (so that the images resolve as they do for the page), and Chromium's --dump-dom
gives back what that script found.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROG = "corescope-pagecheck"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 180

PROBE = """<script>
window.addEventListener('load', function () {
  var r = {images: [], empty: [], sections: []};
  document.querySelectorAll('img').forEach(function (img) {
    r.images.push({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0});
  });
  document.querySelectorAll('h2[id]').forEach(function (h) {
    var text = '', n = h.nextElementSibling, things = 0;
    while (n && n.tagName !== 'H2') {
      text += n.textContent; things += n.querySelectorAll('img,table').length + (n.matches('img,table') ? 1 : 0);
      n = n.nextElementSibling;
    }
    r.sections.push(h.id);
    if (text.trim().length === 0 && things === 0) r.empty.push(h.id);
  });
  r.height = document.body.scrollHeight;
  var pre = document.createElement('pre');
  pre.id = 'pagecheck-result';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


class CannotCheck(Exception):
    """The check cannot run (no page, no browser, the browser failed)."""


def find_browser() -> str:
    named = os.environ.get("CORESCOPE_CHROMIUM")
    if named:
        return named
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise CannotCheck("no chromium found (apt-get install chromium, or set CORESCOPE_CHROMIUM)")


def _chromium(browser: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--allow-file-access-from-files", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
               *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CannotCheck(f"{browser} took longer than {TIMEOUT_S} s") from exc


def probe(page: str, browser: str, profile: str) -> dict:
    """What the page shows once loaded: images (src, ok), empty sections, section ids, height."""
    try:
        with open(page, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeError) as exc:
        raise CannotCheck(f"{page}: cannot be read ({exc})") from exc
    copy = os.path.join(os.path.dirname(os.path.abspath(page)), ".pagecheck.html")
    marked = text.replace("</body>", PROBE + "</body>") if "</body>" in text else text + PROBE
    try:
        with open(copy, "w", encoding="utf-8") as f:
            f.write(marked)
    except OSError as exc:
        raise CannotCheck(f"cannot write {copy} beside the page: {exc.strerror or exc}") from exc
    try:
        done = _chromium(browser, profile, "--dump-dom", "file://" + copy)
    finally:
        os.unlink(copy)
    found = re.search(r'<pre id="pagecheck-result">(.*?)</pre>', done.stdout, re.S)
    if not found:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CannotCheck(f"the page did not finish loading in {browser} ({last})")
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: str, browser: str, profile: str, path: str, height: int) -> None:
    height = max(600, min(int(height or 0) + 20, 16000))
    _chromium(browser, profile, f"--screenshot={path}", f"--window-size=1200,{height}",
              "file://" + os.path.abspath(page))
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise CannotCheck(f"{browser} wrote no screenshot")


def blank(path: str) -> bool:
    """True when the screenshot is one colour (nothing rendered)."""
    import matplotlib.image as mpimg
    import numpy as np
    pixels = mpimg.imread(path)
    return bool(np.all(pixels == pixels[0, 0]))


def check(page: str, shot: str | None = None) -> list:
    """The problems of the page (an empty list when it passes). Raises CannotCheck."""
    if not os.path.isfile(page):
        raise CannotCheck(f"{page}: no such page")
    browser = find_browser()
    problems = []
    with tempfile.TemporaryDirectory(prefix="pagecheck-") as profile:
        found = probe(page, browser, profile)
        for image in found["images"]:
            if not image["ok"]:
                problems.append(f"image does not load: {image['src']}")
        for key in found["empty"]:
            problems.append(f"section is empty: #{key}")
        if not found["sections"]:
            problems.append("the page has no sections (<h2 id=...>)")
        path = shot or os.path.join(profile, "page.png")
        screenshot(page, browser, profile, path, found.get("height", 0))
        if blank(path):
            problems.append("the screenshot is blank: the page did not render")
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Render a corescope report in headless Chromium and check "
                                                       "that every image loads and no section is empty.")
    p.add_argument("page", metavar="INDEX_HTML", help="the report page (REPORT_DIR/index.html) or its directory")
    p.add_argument("--screenshot", metavar="FILE", help="keep the full-page screenshot here (PNG)")
    args = p.parse_args(argv)
    page = os.path.join(args.page, "index.html") if os.path.isdir(args.page) else args.page
    try:
        problems = check(page, args.screenshot)
    except CannotCheck as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(f"{PROG}: {page}: {line}")
    if not problems:
        print(f"{PROG}: {page}: renders, every image loads, no section is empty")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
