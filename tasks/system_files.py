"""Every file and tool the project reads from the operating system, with the Debian package that ships it.

The one list for the code (it reads these paths and runs these tools by their absolute path, never through a
link that only a package's maintainer script makes), for set-up (infra/system-packages.sh installs these
packages, then checks these files) and for the test that asks dpkg which package ships each path. Standard
library only: set-up runs it with the system Python before any venv exists.

    python3 -m tasks.system_files packages   # the Debian packages, one a line
    python3 -m tasks.system_files check      # exit 1, naming each missing path and the package that ships it
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class SystemFile:
    path: Path
    package: str  # the Debian package whose file list (`dpkg -L`) holds `path`
    kind: Literal["dir", "file", "tool"]
    use: str

    def present(self) -> bool:
        if self.kind == "dir":
            return self.path.is_dir()
        if self.kind == "tool":
            return self.path.is_file() and os.access(self.path, os.X_OK)
        return self.path.is_file()

    def missing_message(self) -> str:
        return (f"{self.path} is missing ({self.use}): install the Debian package {self.package} "
                f"(`make system`, or `sudo apt-get install {self.package}`)")


# The prompts' own directory: `sounds/en` is a link made by asterisk-core-sounds-en's maintainer script.
ASTERISK_PROMPTS = SystemFile(Path("/usr/share/asterisk/sounds/en_US_f_Allison"), "asterisk-core-sounds-en-wav",
                              "dir", "real speech: Asterisk telephone prompts")
ASTERISK_PROMPT_LIST = SystemFile(Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"),
                                  "asterisk-core-sounds-en", "file", "the Asterisk prompts' transcripts")
ASTERISK_MOH = SystemFile(Path("/usr/share/asterisk/moh"), "asterisk-moh-opsound-wav", "dir",
                          "recorded music: Asterisk music on hold")
ALSA_SOUNDS = SystemFile(Path("/usr/share/sounds/alsa"), "alsa-utils", "dir", "real speech: ALSA speaker test")
FREEDESKTOP_SOUNDS = SystemFile(Path("/usr/share/sounds/freedesktop/stereo"), "sound-theme-freedesktop", "dir",
                                "recorded sounds: freedesktop sound theme")
ESPEAK_NG = SystemFile(Path("/usr/bin/espeak-ng"), "espeak-ng", "tool", "synthetic speech")
FLITE = SystemFile(Path("/usr/bin/flite"), "flite", "tool", "synthetic speech")
SOX = SystemFile(Path("/usr/bin/sox"), "sox", "tool", "synthetic sounds and music")

REQUIRED = (ASTERISK_PROMPTS, ASTERISK_PROMPT_LIST, ASTERISK_MOH, ALSA_SOUNDS, FREEDESKTOP_SOUNDS,
            ESPEAK_NG, FLITE, SOX)


def packages() -> list[str]:
    return sorted({item.package for item in REQUIRED})


def missing() -> list[SystemFile]:
    return [item for item in REQUIRED if not item.present()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tasks.system_files", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["packages", "missing-packages", "check"])
    args = parser.parse_args(argv)
    if args.command == "packages":
        print("\n".join(packages()))
    elif args.command == "missing-packages":
        print("\n".join(sorted({item.package for item in missing()})))
    else:
        for item in missing():
            print(item.missing_message(), file=sys.stderr)
        return 1 if missing() else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
