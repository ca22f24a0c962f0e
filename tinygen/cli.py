"""The ``tinygen`` command: run lessons, do the exercises and manage the data cache.

    tinygen lesson list
    tinygen lesson run NAME [--quick] [--device cuda] [--out DIR] [--seed N]
    tinygen lesson notebook NAME [--out DIR]
    tinygen exercise list|start|check|hint|solution ...   (see tinygen.exercises.cli)
    tinygen book build [NAME ...] [--quick] [--out DIR]
    tinygen data list
    tinygen data fetch NAME|all

A lesson is a script ``lessons/NAME.py`` in the repository that holds the ``tinygen``
package; ``NAME`` may be written with or without ``.py`` or as a unique prefix (``01``). It
runs in its own Python process with the flags passed through and writes its figures and
``metrics.json`` into the out folder (default ``runs/NAME``).

A mistake (an unknown lesson, an unavailable device, a folder that cannot be created) prints
one line, ``tinygen: error: ...``, and exits with status 2; ``--debug`` (or
``TINYGEN_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .errors import DEBUG_ENV, TinygenError, debug_enabled
from .exercises import cli as exercise_cli
from .fileio import make_dir

REPO_ROOT = Path(__file__).resolve().parent.parent


def _size(n: int) -> str:
    """Bytes in decimal units: 1355323 → "1.4 MB"."""
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


# -- data --------------------------------------------------------------------------------------

def _data_list(args: argparse.Namespace) -> int:
    from .data import images, sources

    rows = [("NAME", "PACKAGE", "CLIENT", "STATUS", "SIZE", "LOADERS")]
    for src in sources.SOURCES.values():
        if src.client == "bundled":
            from sklearn import __version__ as version

            package, status, size = f"{src.package}=={version}", "bundled", "-"
        else:
            package = f"{src.package}=={src.version}"
            path = sources.archive_path(src)
            if path.is_file():
                status, size = "cached", _size(path.stat().st_size)
            elif src.name == "fashion-mnist" and images.FASHION_SYSTEM_DIR.is_dir():
                status, size = "installed", "-"
            else:
                status, size = "not cached", f"({_size(src.size)})"
        rows.append((src.name, package, src.client, status, size, ", ".join(src.loaders)))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    print(f"\ncache: {sources.cache_dir()}  (set ${sources.DATA_ENV} to move it; sizes in "
          "parentheses are what a fetch downloads)")
    return 0


def _data_fetch(args: argparse.Namespace) -> int:
    from .data import sources

    if args.name == "all":
        names = [s.name for s in sources.SOURCES.values() if s.client != "bundled"]
    else:
        names = [sources.get_source(args.name).name]
    failed = []
    for name in names:
        src = sources.SOURCES[name]
        if src.client == "bundled":
            print(f"{name}: bundled with {src.package}; nothing to fetch")
            continue
        was_cached = sources.is_cached(src)
        if not was_cached:
            print(f"{name}: fetching {src.spec} ({src.client}, {_size(src.size)}) ...",
                  flush=True)
        try:
            path = sources.fetch(src)
        except TinygenError as exc:
            print(f"{name}: failed\n{exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{name}: {'already cached' if was_cached else 'ok'}, sha256 checked: {path}")
    if failed:
        print(f"could not fetch: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# -- lessons -----------------------------------------------------------------------------------

def lessons_dir() -> Path:
    """``lessons/`` next to the ``tinygen`` package (a checkout of the repository)."""
    return REPO_ROOT / "lessons"


def _lessons() -> list[Path]:
    folder = lessons_dir()
    if not folder.is_dir():
        raise TinygenError(f"no lessons folder at {folder}: lessons ship with the repository, "
                           "so run tinygen from a checkout (pip install -e .)")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _title(path: Path) -> str:
    """The lesson's heading: its first Markdown ``# # ...`` line and the ``# # ...`` lines
    that continue it, without the hashes."""
    parts: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# #") and not line.startswith("# ##"):
                parts.append(line.lstrip("# ").strip())
            elif parts:
                break
    return " ".join(parts)


def find_lesson(name: str) -> Path:
    """The lesson called ``name``: exact, without ``.py``, or a unique prefix of one."""
    lessons = _lessons()
    stem = name[:-3] if name.endswith(".py") else name
    exact = [p for p in lessons if p.stem == stem]
    matches = exact or [p for p in lessons if p.stem.startswith(stem)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in lessons) or "none"
    if not matches:
        raise TinygenError(f"no lesson called {name!r}; lessons: {known}")
    raise TinygenError(f"{name!r} matches several lessons: "
                       f"{', '.join(p.stem for p in matches)}")


def _lesson_list(args: argparse.Namespace) -> int:
    lessons = _lessons()
    width = max((len(p.stem) for p in lessons), default=0)
    for p in lessons:
        print(f"{p.stem.ljust(width)}  {_title(p)}")
    if not lessons:
        print(f"no lessons in {lessons_dir()}")
    return 0


def _files(folder: Path) -> dict[Path, int]:
    """Every file under ``folder`` with its modification time in nanoseconds."""
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _lesson_run(args: argparse.Namespace) -> int:
    from . import backend

    path = find_lesson(args.name)
    if args.device:
        backend.check_device(args.device)  # before starting a process that would fail on it
    out = Path(args.out or Path("runs") / path.stem).expanduser().resolve()
    make_dir(out, "--out", "pass --out a folder you can write to")
    before = _files(out)
    cmd = [sys.executable, str(path), "--out", str(out)]
    if args.quick:
        cmd.append("--quick")
    if args.device:
        cmd += ["--device", args.device]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    print(f"running {path.name}: {subprocess.list2cmdline(cmd[1:])}", flush=True)
    env = {**os.environ, DEBUG_ENV: "1"} if args.debug else None
    code = subprocess.call(cmd, cwd=REPO_ROOT, env=env)
    if code != 0:
        written = _files(out).items() - before.items()  # new or changed by this run
        print(f"{path.stem} failed with exit code {code}"
              + (f"; outputs so far in {out}" if written else ""), file=sys.stderr)
        return code
    print(f"outputs in {out}")
    if (out / "metrics.json").is_file():
        print(f"metrics: {out / 'metrics.json'}")
    return 0


# -- entry point -------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    debug_help = "show tracebacks instead of one-line errors (or set TINYGEN_DEBUG=1)"
    parser = argparse.ArgumentParser(
        prog="tinygen", description="Run the lessons, do the exercises and manage the data cache.")
    parser.add_argument("--debug", action="store_true", help=debug_help)
    common = argparse.ArgumentParser(add_help=False)  # --debug after the command works too
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    groups = parser.add_subparsers(dest="group", metavar="{lesson,data,exercise}")

    lesson = groups.add_parser("lesson", help="list and run the lessons")
    lesson_cmds = lesson.add_subparsers(dest="command", metavar="{list,run}")
    lesson_cmds.add_parser("list", parents=[common], help="list the lessons"
                           ).set_defaults(func=_lesson_list)
    run = lesson_cmds.add_parser("run", parents=[common], help="run one lesson")
    run.add_argument("name", help="lesson name, with or without .py, or a unique prefix")
    run.add_argument("--quick", action="store_true", help="the small, fast version")
    run.add_argument("--device", help="cpu or cuda (passed to the lesson)")
    run.add_argument("--out", help="folder for figures and metrics.json (default runs/NAME)")
    run.add_argument("--seed", type=int, help="random seed (passed to the lesson)")
    run.set_defaults(func=_lesson_run)

    data = groups.add_parser("data", help="list and fetch datasets")
    data_cmds = data.add_subparsers(dest="command", metavar="{list,fetch}")
    data_cmds.add_parser("list", parents=[common],
                         help="each data source: cached or not, size, package"
                         ).set_defaults(func=_data_list)
    fetch = data_cmds.add_parser("fetch", parents=[common],
                                 help="download a source into the cache")
    fetch.add_argument("name", help="a source name from `tinygen data list`, or all")
    fetch.set_defaults(func=_data_fetch)
    exercise = exercise_cli.add_parser(groups)

    from . import book  # `tinygen lesson notebook` and `tinygen book build`
    book.add_commands(groups, lesson_cmds, parents=[common])
    groups.metavar = "{lesson,exercise,book,data}"
    parser.set_defaults(subparsers={"lesson": lesson, "data": data, "exercise": exercise})
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``tinygen`` command with ``argv`` (default: the process's arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        (args.subparsers.get(args.group) or parser).print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TinygenError as exc:
        if args.debug or debug_enabled():
            raise
        print(f"tinygen: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
