"""Offline data docs: the pinned npm assets are verified and shipped, no page loads or links anything
remote, and every page opens with the gate's own decision and quarantined count."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.manifest import to_frame, write_manifest
from tasks.validate import report
from tasks.validate.checks import GxRun
from tasks.validate.corpus import run_corpus_gate
from tasks.validate.report import ReportAssetError, load_pins, verified_cache
from tests.tasks.validate.gate_helpers import LABELS, clean_rows, corpus_params

LOCAL_REFERENCE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"'#][^"']*)["']""")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gate_report(corpus_root, tmp_path: Path, corrupt_rows: int) -> Path:
    root, durations = corpus_root
    rows = clean_rows(20, durations["audio/speech.wav"])
    for number in range(corrupt_rows):
        rows[2 * number] = dict(rows[2 * number], path="audio/corrupt.wav")
    manifest = tmp_path / "corpus" / "manifest.parquet"
    manifest.parent.mkdir()
    shutil.copytree(root / "audio", manifest.parent / "audio", symlinks=True)  # a link out would be refused
    write_manifest(to_frame(rows), str(manifest))
    params = corpus_params(manifest=str(manifest), clean=str(tmp_path / "clean.parquet"),
                           quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"),
                           max_failed_fraction=0.1)
    with GxRun() as gx_run:
        run_corpus_gate(params, LABELS, gx_run)
    return tmp_path / "report"


@pytest.fixture(scope="module")
def passing_report(corpus_root, tmp_path_factory):
    return gate_report(corpus_root, tmp_path_factory.mktemp("passing"), corrupt_rows=1)


def test_the_pinned_assets_exist_and_match_their_checksums():
    cache = verified_cache()
    packages, _ = load_pins()
    assert {p.name for p in packages} >= {"bootstrap", "jquery", "bootstrap-table", "@fortawesome/fontawesome-free"}
    for package in packages:
        assert set(package.replaces.values()) <= set(package.files)
        for name, digest in package.files.items():
            assert _sha256(cache / package.folder / name) == digest, f"{package.folder}/{name}"


def test_a_tampered_cache_file_is_fetched_again(tmp_path):
    cache = tmp_path / "assets"
    shutil.copytree(verified_cache(), cache)
    jquery = next(p for p in load_pins()[0] if p.name == "jquery")
    target = cache / jquery.folder / "dist" / "jquery.min.js"
    target.write_text("alert('not jquery')")
    assert report._problems(jquery, cache) == [f"{target}: sha256 differs from the pin"]
    verified_cache(cache)  # refetched from the npm registry and verified again
    assert _sha256(target) == jquery.files["dist/jquery.min.js"]


def test_a_tarball_that_does_not_match_its_pin_is_refused(tmp_path, monkeypatch):
    pins = json.loads(report.PINS_FILE.read_text())
    jquery = next(p for p in pins["packages"] if p["name"] == "jquery")
    jquery["integrity"] = "sha512-" + base64.b64encode(b"\0" * 64).decode()
    pins["packages"] = [jquery]
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    monkeypatch.setattr(report, "PINS_FILE", tmp_path / "pins.json")
    with pytest.raises(ReportAssetError, match="jquery@3.7.1: the tarball does not match the pinned integrity"):
        report.fetch(tmp_path / "cache")
    assert not (tmp_path / "cache" / "jquery@3.7.1").exists()


def test_the_copies_are_the_files_gx_asks_for(gx_run, tmp_path):
    """GX pins two of its CDN scripts by SRI hash: the npm copies hash the same."""
    gx_run.context.build_data_docs(site_names=["report"])
    page = (Path(gx_run._docs_dir) / "index.html").read_text()
    pinned = dict(re.findall(r'<script src="([^"]+)" integrity="([^"]+)"', page))
    assert len(pinned) == 2
    files = {url: (p, name) for p in load_pins()[0] for url, name in p.replaces.items()}
    for url, integrity in pinned.items():
        package, name = files[url]
        algorithm, digest = integrity.split("-", 1)
        data = (verified_cache() / package.folder / name).read_bytes()
        assert base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest


def test_the_report_references_no_remote_url_and_every_local_one_exists(passing_report):
    pages = sorted(passing_report.rglob("*.html"))
    assert len(pages) == 3  # index, expectation suite, validation result
    for path in pages + sorted(passing_report.rglob("*.css")):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not report.REMOTE.findall(text), path
        assert "integrity=" not in text and "crossorigin=" not in text
    for page in pages:  # (GX's own favicon link is one folder short on validation pages: not ours to fix)
        shipped = [ref for ref in LOCAL_REFERENCE.findall(page.read_text()) if report.VENDOR_DIR in ref]
        assert len(shipped) >= 10
        assert all((page.parent / reference).is_file() for reference in shipped), page
    assert json.loads((passing_report / "static" / "vendor" / "NOTICE.json").read_text())[0]["license"] == "MIT"


def test_every_page_starts_with_the_gates_decision(passing_report, corpus_root, tmp_path):
    for page in passing_report.rglob("*.html"):
        body = page.read_text().split("<body", 1)[1]
        banner = body[body.index(">") + 1:].split(report.BANNER_END)[0]
        assert banner.startswith(report.BANNER_START + '<div id="gate-decision"')
        assert "validate_corpus: PASSED" in banner and "<strong>1 quarantined</strong> (5.00%; limit 10.00%)" in banner
    failing = gate_report(corpus_root, tmp_path, corrupt_rows=3)
    banner = (failing / "index.html").read_text().split(report.BANNER_END)[0]
    assert "validate_corpus: FAILED" in banner and "<strong>3 quarantined</strong> (15.00%; limit 10.00%)" in banner
    assert "3 of 20 rows (15.00%) failed row-level checks" in banner


def test_an_asset_gx_adds_without_a_pin_is_an_error(tmp_path):
    page = tmp_path / "index.html"
    with pytest.raises(ReportAssetError, match=r"not pinned .*'https://cdn.example/new.js'"):
        report._localised('<script src="https://cdn.example/new.js"></script>', page, tmp_path, {})
    kept = report._localised('<a class="x" href="https://greatexpectations.io">GX</a>', page, tmp_path, {})
    assert kept == '<a class="x">GX</a>'
    once = report._with_banner("<body class='b'><p>page</p>", "<b>old</b>")
    assert report._with_banner(once, "<b>new</b>") == (
        f"<body class='b'>{report.BANNER_START}<b>new</b>{report.BANNER_END}<p>page</p>")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")
def test_the_index_renders_its_run_table_in_a_browser_without_network(passing_report):
    """bootstrap-table (jQuery) builds the run list: offline with CDN links it stayed empty."""
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000",
               "--dump-dom", (passing_report / "index.html").as_uri()]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]  # no network at all, not merely none reachable
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "Showing 1 to 1 of 1 rows" in dom and "validate_corpus: PASSED" in dom
