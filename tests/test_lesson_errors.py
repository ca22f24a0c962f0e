"""A lesson script that meets a TinygenError (no GPU, an --out that cannot be made, an
unwritable data cache) prints one line, not a traceback; TINYGEN_DEBUG=1 brings it back."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen import TinygenError, lesson

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "from tinygen import lesson\nlesson.parse('fake', 'a fake lesson')\nprint('ran')\n"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TINYGEN_DEBUG"}
    return {**env, **extra}


def run_script(tmp_path, *flags, **extra):
    script = tmp_path / "fake.py"
    script.write_text(SCRIPT)
    env = clean_env(TINYGEN_DISABLE_CUDA="1", **extra)
    return subprocess.run([sys.executable, str(script), *flags], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


@pytest.fixture
def blocked(tmp_path):
    """A path no folder can be made at: below a regular file (works as root too)."""
    (tmp_path / "a_file").write_text("x")
    return tmp_path / "a_file" / "sub"


def test_parse_names_an_out_folder_it_cannot_create(blocked):
    with pytest.raises(TinygenError, match=r"--out: cannot create the folder .*a_file/sub "
                                           r"\(Not a directory\); pass --out a folder"):
        lesson.parse("fake", "a fake lesson", ["--out", str(blocked)])


@pytest.mark.parametrize("flags, message", [
    (["--device", "cuda"], "lessons/fake.py: error: device 'cuda' is not available: install"),
    (["--out", "a_file/sub"], "lessons/fake.py: error: --out: cannot create the folder"),
])
def test_a_lesson_prints_one_line_for_a_tinygen_error(tmp_path, blocked, flags, message):
    done = run_script(tmp_path, *flags)
    assert done.returncode == 1 and "ran" not in done.stdout
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    debug = run_script(tmp_path, *flags, TINYGEN_DEBUG="1")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_lesson_06_with_an_unwritable_cache_says_which_folder(blocked):
    env = clean_env(TINYGEN_DATA=str(blocked), TINYGEN_OFFLINE="1")
    done = subprocess.run([sys.executable, "lessons/06_ocr_cnn.py", "--quick", "--out",
                           str(blocked.parent.parent / "out")], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"lessons/06_ocr_cnn.py: error: cannot write the data cache folder {blocked}/mnist5k "
        f"(Not a directory; $TINYGEN_DATA is {blocked}); set TINYGEN_DATA to a folder you can "
        "write to, e.g. export TINYGEN_DATA=~/tinygen-data"]
