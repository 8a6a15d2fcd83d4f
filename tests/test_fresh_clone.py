"""The README's first command on a fresh clone, with no ``../shared`` beside it.

The repository's tracked files are copied to an empty folder and ``warmline chat`` is
started there (the README's command after ``pip install -e .``) with a shop question in
Chinese and one in English piped in. Both must be answered from the demo shop's knowledge
base, which therefore has to ship in the repository. The first start builds the index from
scratch, so this takes the better part of a minute on two cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_readme import quick_start_commands

REPO = Path(__file__).resolve().parent.parent


def tracked_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no tracked files to copy")
    return [name for name in listed.decode().split("\0") if name]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "warmline"
    for name in tracked_files():
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not in a clone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target.parent / "shared").exists()
    return target


@pytest.mark.timeout(600)
def test_first_readme_command_answers_in_chinese_and_english(clone: Path) -> None:
    assert quick_start_commands()[0] == "pip install -e . && warmline chat"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WARMLINE_", "TELEGRAM_"))
    }
    env["PYTHONPATH"] = str(clone)  # the clone's code, as `pip install -e .` there would give
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],  # what the `warmline` script runs
        cwd=clone,
        input="满多少包邮\nhow long does shipping take?\n:quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    # the Chinese question gets the Chinese FAQ answer, cited
    assert "实付满199元包邮" in out.replace(" ", ""), out
    assert "faq.yaml#free-shipping" in out
    # the English one the English answer, cited
    assert "SF Express" in out and "faq.yaml#shipping-time" in out, out
    assert "Traceback" not in result.stderr
    assert "DEBUG" not in result.stderr, result.stderr
    assert (clone / ".warmline-kb").is_dir(), "the index lives next to the config file"
