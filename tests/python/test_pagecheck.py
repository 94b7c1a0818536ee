"""The screenshot check: the report rendered in headless Chromium (Debian's chromium package)
renders, every image loads and no section is empty; and the check fails on a page with a broken
image or an empty section."""
import os
import shutil

import pytest

from corescope_analysis import pagecheck

pytestmark = pytest.mark.skipif(
    not (os.environ.get("CORESCOPE_CHROMIUM") or any(shutil.which(b) for b in pagecheck.BROWSERS)),
    reason="no chromium (apt-get install chromium; .ci/install-deps.sh installs it)")


@pytest.fixture(scope="module")
def copied_report(demo_report, tmp_path_factory):
    """A private copy of the demo report that the tests may damage."""
    target = tmp_path_factory.mktemp("pagecheck") / "report"
    shutil.copytree(demo_report[0], target)
    return target


def test_demo_report_renders_and_every_image_loads(demo_report, tmp_path):
    shot = tmp_path / "page.png"
    assert pagecheck.check(os.path.join(demo_report[0], "index.html"), str(shot)) == []
    assert shot.stat().st_size > 10_000
    assert not pagecheck.blank(str(shot))


def test_a_broken_image_fails(copied_report, capsys):
    os.unlink(copied_report / "pingpong.png")
    assert pagecheck.main([str(copied_report)]) == 1
    out = capsys.readouterr().out
    assert "image does not load: pingpong.png" in out


def test_an_empty_section_fails(tmp_path):
    page = tmp_path / "index.html"
    page.write_text('<!DOCTYPE html><html><body><h2 id="full">A</h2><p>text</p>'
                    '<h2 id="hollow">B</h2><h2 id="last">C</h2><table><tr><td>1</td></tr></table>'
                    "</body></html>", encoding="utf-8")
    assert pagecheck.check(str(page)) == ["section is empty: #hollow"]


def test_missing_page_is_exit_2(tmp_path, capsys):
    assert pagecheck.main([str(tmp_path / "nothing.html")]) == 2
    assert "no such page" in capsys.readouterr().err
