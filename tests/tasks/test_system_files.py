"""Every path the code reads from the system is shipped, at that very path, by a package set-up installs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks import system_files
from tasks.system_files import REQUIRED, SystemFile

REPO_ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["tasks", "flows", "model", "infra", "benchmarks", "tests"]
SYSTEM_PATH_LITERAL = re.compile(r"""["'](/(?:usr|etc|opt|bin|sbin|lib|var)/[^"']*)["']""")
# A command line starting with a tool's bare name (found on PATH, whoever shipped it): ["sox", "-n", ...]
BARE_TOOL_COMMAND = re.compile(r"""\[\s*["'](espeak-ng|flite|sox|play|aplay|ffmpeg)["']\s*,\s*["']-""")
# A literal that looks like a system path but is data the code never reads (a test's bad value).
NOT_READ = "system-path: test data"


def dpkg_owners(path: Path) -> set[str]:
    """The packages whose file lists (`dpkg -L`) hold exactly `path`."""
    if shutil.which("dpkg-query") is None:
        pytest.fail("dpkg-query not found: the project's system files come from Debian packages (Debian/Ubuntu)")
    listed = subprocess.run(["dpkg-query", "-S", str(path)], capture_output=True, text=True).stdout
    owners = set()
    for line in listed.splitlines():
        packages, _, listed_path = line.rpartition(": ")
        if listed_path == str(path):
            owners |= {package.split(":")[0].strip() for package in packages.split(",")}
    return owners


@pytest.mark.parametrize("item", REQUIRED, ids=lambda item: str(item.path))
def test_each_system_path_is_shipped_by_its_package_which_set_up_installs(item):
    listed = subprocess.run([sys.executable, "-m", "tasks.system_files", "packages"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    assert item.package in dpkg_owners(item.path), f"{item.path} is not in `dpkg -L {item.package}`"
    assert item.package in listed  # what infra/system-packages.sh installs
    # Reached without a link: a maintainer script's link (like sounds/en) is made only on some machines.
    assert item.path.resolve() == item.path


def test_no_system_path_or_bare_tool_name_outside_the_one_list():
    offenders = []
    for folder in SCANNED:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".sh", ".yaml"} or path in {Path(system_files.__file__), Path(__file__)}:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if (SYSTEM_PATH_LITERAL.search(line) or BARE_TOOL_COMMAND.search(line)) and NOT_READ not in line:
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "use tasks/system_files.py for system paths and tools:\n" + "\n".join(offenders)


def test_check_names_each_missing_path_and_its_package(tmp_path, monkeypatch, capsys):
    present = SystemFile(Path(sys.executable).resolve(), "python3", "tool", "the interpreter")
    absent = SystemFile(tmp_path / "prompts", "asterisk-core-sounds-en-wav", "dir", "real speech")
    monkeypatch.setattr(system_files, "REQUIRED", (present, absent))
    assert system_files.main(["check"]) == 1
    assert capsys.readouterr().err.strip() == absent.missing_message()
    assert system_files.main(["missing-packages"]) == 0
    assert capsys.readouterr().out.split() == ["asterisk-core-sounds-en-wav"]


def test_this_machine_has_every_system_file():
    assert system_files.main(["check"]) == 0, "run `make system`"
