"""Lessons as notebooks, and the lessons together as a static HTML book.

A lesson script (percent format: ``# %%`` cells) becomes a notebook with jupytext.
:func:`execute_lesson` runs that notebook in a Jupyter kernel with nbclient; the kernel's own
command line is not the lesson's, so its settings travel in the environment variables that
``tinygen.lesson`` reads inside a notebook: ``TINYGEN_QUICK=1``, ``TINYGEN_OUT``,
``TINYGEN_DEVICE`` and ``TINYGEN_SEED``. Every PNG a cell writes into the output folder is
attached to that cell as an image output, so the executed notebook shows each figure where it
is made. :func:`build_book` executes every lesson this way and renders the notebooks with
nbconvert's HTML exporter: an index grouped by topic, one page per lesson (its text, code,
outputs, figures and the key numbers of its ``metrics.json``) linked to its neighbours and to
its exercises. The pages load nothing from the network.

    tinygen lesson notebook NAME [--out DIR]
    tinygen book build [NAME ...] [--out DIR] [--quick] [--device cuda]

jupytext, nbclient, nbconvert and ipykernel come with the ``notebooks`` extra.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import sys
import time
from pathlib import Path

from . import cli
from .errors import TinygenError
from .fileio import atomic_write_text

EXTRA = 'pip install -e ".[notebooks]"'
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
SETTINGS_TAG = "tinygen-settings"

# The book's chapters, in order; a lesson is placed by its number. A lesson missing here is
# listed under "More lessons" at the end of the index.
TOPICS = {
    "The engine": ("01",),
    "Training tricks": ("02", "03", "04", "05"),
    "CNNs and OCR": ("06",),
    "CRFs and tagging": ("07", "08", "09"),
    "GANs": ("10", "11", "12", "13", "21", "22", "23", "24", "25", "26", "27", "29", "30"),
    "VAEs and flows": ("14", "15", "16", "17", "18", "19", "20", "28"),
    "Words": ("31", "32", "33"),
    "Sequence models": ("34", "35"),
    "Simulation": ("36",),
}

# A small nbconvert template: the JupyterLab page without the scripts it would fetch from the
# network (RequireJS, MathJax, Mermaid; the lessons write their formulas in Unicode), figures
# named by their file in the alt text, and a navigation bar at the top and bottom of every page.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- macro nav(links) -%}
<nav class="tinygen-nav">{% for label, href in links %}<a href="{{ href }}">{{ label | e }}</a>
{%- if not loop.last %} · {% endif %}{% endfor %}</nav>
{%- endmacro -%}
{% block html_head_js_requirejs %}{% endblock html_head_js_requirejs %}
{% block html_head_js_mathjax %}{% endblock html_head_js_mathjax %}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
{% block extra_css %}<style>
.tinygen-nav { max-width: 1000px; margin: 1em auto; padding: 0.5em 1em;
  border-top: 1px solid #ccc; border-bottom: 1px solid #ccc; font-family: sans-serif; }
.tinygen-nav a { color: #1a5fb4; text-decoration: none; }
main { max-width: 1000px; margin: auto; }
</style>{% endblock extra_css %}
{% block data_png scoped %}<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output.metadata.get('tinygen', {}).get('figure', 'a figure') | escape_html }}">
</div>{% endblock data_png %}
{% block body_header %}{{ super() }}{% if resources.tinygen_nav %}{{ nav(resources.tinygen_nav) }}
{%- endif %}{% endblock body_header %}
{% block body_footer %}{% if resources.tinygen_nav %}{{ nav(resources.tinygen_nav) }}{% endif %}
{{- super() }}{% endblock body_footer %}
"""


def _require(module: str, purpose: str):
    """Import ``module`` from the notebooks extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TinygenError(f"{purpose} needs {module}, which comes with the notebooks extra: "
                           f"{EXTRA}") from exc


def notebook(name: str):
    """The lesson ``name`` (as :func:`tinygen.cli.find_lesson` finds it) as a notebook."""
    jupytext = _require("jupytext", "a lesson as a notebook")
    nb = jupytext.read(cli.find_lesson(name))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def write_notebook(name: str, out: str | os.PathLike = ".") -> Path:
    """Write the lesson ``name`` as ``out/NAME.ipynb`` (not executed) and return its path."""
    nb = notebook(name)
    nbformat = _require("nbformat", "writing a notebook")
    path = Path(out).expanduser() / f"{cli.find_lesson(name).stem}.ipynb"
    return atomic_write_text(path, nbformat.writes(nb))


class _FigureAttacher:
    """nbclient's ``on_cell_executed`` hook: the PNGs a cell wrote (new or changed files in the
    lesson's output folder) become image outputs of that cell."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.seen = self._scan()

    def _scan(self) -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in self.folder.glob("*.png")}

    def __call__(self, cell, cell_index: int, execute_reply: dict) -> None:
        from nbformat.v4 import new_output

        now = self._scan()
        written = sorted((p for p in now if self.seen.get(p) != now[p]), key=now.get)
        self.seen = now
        for path in written:
            png = base64.b64encode(path.read_bytes()).decode("ascii")
            cell.outputs.append(new_output("display_data", data={"image/png": png},
                                           metadata={"tinygen": {"figure": path.name}}))


def _this_python_kernel():
    """nbclient's kernel manager class, starting the kernel with the Python that runs tinygen:
    the "python3" kernel spec of a user's own Jupyter may name another Python, without it."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class ThisPythonKernel(AsyncKernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher",
                                    "-f", "{connection_file}"],
                              display_name=KERNELSPEC["display_name"], language="python")

    return ThisPythonKernel


def _settings_cell():
    """A first, hidden cell: hides tqdm's note that ipywidgets is missing (plain bars work).
    The lesson's settings come from the TINYGEN_* variables (tinygen.lesson's notebook mode)."""
    from nbformat.v4 import new_code_cell

    source = 'import warnings\nwarnings.filterwarnings("ignore", message="IProgress not found")'
    return new_code_cell(source, metadata={"tags": [SETTINGS_TAG]})


def _failure(nb) -> str:
    """The first error in an executed notebook: ``cell N: Name: value``."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                return f"cell {index + 1}: {output.ename}: {output.evalue}"
    return "the kernel stopped (killed or out of time)"


def execute_lesson(name: str, out: str | os.PathLike, quick: bool = True,
                   device: str | None = None, seed: int | None = None,
                   timeout: int = 1800) -> Path:
    """Run the lesson ``name`` as a notebook in a fresh Jupyter kernel of this Python
    (working folder: the repository, as ``tinygen lesson run``), with its figures and
    ``metrics.json`` written to ``out``; save the executed notebook as ``out/NAME.ipynb`` (also
    when a cell fails) and return its path. A failing cell (a failed check, an exception) or a
    cell running longer than ``timeout`` seconds raises a :class:`TinygenError` naming the
    cell and the error."""
    nbclient = _require("nbclient", "running a lesson as a notebook")
    nbformat = _require("nbformat", "running a lesson as a notebook")
    _require("ipykernel", "running a lesson as a notebook")
    stem = cli.find_lesson(name).stem
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    nb = notebook(stem)
    nb.cells.insert(0, _settings_cell())
    env = {**os.environ, "TINYGEN_QUICK": "1" if quick else "0", "TINYGEN_OUT": str(out),
           "MPLBACKEND": "Agg"}
    env.update({"TINYGEN_DEVICE": device} if device else {})
    env.update({"TINYGEN_SEED": str(seed)} if seed is not None else {})
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name=KERNELSPEC["name"], coalesce_streams=True,
        kernel_manager_class=_this_python_kernel(),
        # the kernel's log: errors only (not its note that local TCP is unencrypted)
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(cli.REPO_ROOT)}}, on_cell_executed=_FigureAttacher(out))
    error = None
    try:
        client.execute(env=env)
    except (nbclient.exceptions.CellExecutionError, nbclient.exceptions.CellTimeoutError,
            nbclient.exceptions.DeadKernelError) as exc:
        error = exc
    finally:
        nb.cells.pop(0)
        target = atomic_write_text(out / f"{stem}.ipynb", nbformat.writes(nb))
    if error is not None:
        what = (f"cell timed out after {timeout} s"
                if isinstance(error, nbclient.exceptions.CellTimeoutError) else _failure(nb))
        raise TinygenError(f"lesson {stem} failed as a notebook, {what}; "
                           f"the executed notebook is {target}") from error
    return target


# -- the book ----------------------------------------------------------------------------------

def _exercises() -> list:
    """The classroom exercises of ``tinygen.exercises`` (each with ``name``, ``title``,
    ``lesson``, ``topic``, ``difficulty`` and its ``stub`` file), or none where that package is
    not there."""
    try:
        from .exercises import all_exercises
    except ImportError:
        return []
    return all_exercises()


def _exercise_page(exercise, lesson_title: str | None):
    """An exercise as a notebook: what it is, how to work on it, and the stub to complete
    (the stub's docstring states the task). The hints stay in ``tinygen exercise hint``."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    after = (f"After [{lesson_title}](../{exercise.lesson}.html)." if lesson_title else "")
    text = (f"# Exercise {exercise.name}: {exercise.title}\n\n{after} Topic: {exercise.topic}; "
            f"difficulty {exercise.difficulty} of 3.\n\n"
            f"Start with `tinygen exercise start {exercise.name}` (your copy of the stub below), "
            f"run the checker with `tinygen exercise check {exercise.name}`, and ask for one "
            f"hint at a time with `tinygen exercise hint {exercise.name}`.")
    cells = [new_markdown_cell(text),
             new_code_cell(Path(exercise.stub).read_text(encoding="utf-8"))]
    return new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})


def _cell_text(value) -> str:
    """A metrics value for a Markdown table cell."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list) and len(value) <= 8 and all(
            isinstance(v, int | float) for v in value):
        text = ", ".join(_cell_text(v) for v in value)
    elif isinstance(value, list):
        text = f"({len(value)} values)"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _flatten(record: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, f"{name} › ")
        else:
            rows.append((name, value))
    return rows


def key_numbers(metrics_path: Path) -> str:
    """``metrics.json`` as a Markdown table, nested keys joined by ``›``."""
    record = json.loads(metrics_path.read_text(encoding="utf-8"))
    rows = "\n".join(f"| {_cell_text(k)} | {_cell_text(v)} |" for k, v in _flatten(record))
    return f"## Key numbers\n\nFrom `metrics.json`:\n\n| quantity | value |\n|---|---|\n{rows}\n"


def _topic(stem: str) -> str:
    number = stem.split("_", 1)[0]
    return next((t for t, numbers in TOPICS.items() if number in numbers), "More lessons")


def _exporter():
    nbconvert = _require("nbconvert", "building the book")
    from jinja2 import DictLoader

    return nbconvert.HTMLExporter(
        template_name="lab", template_file="tinygen_page.html.j2",
        extra_loaders=[DictLoader({"tinygen_page.html.j2": PAGE_TEMPLATE})],
        exclude_input_prompt=True, exclude_output_prompt=True)


def _render(exporter, nb, title: str, nav: list[tuple[str, str]], path: Path) -> Path:
    resources = {"metadata": {"name": title}, "tinygen_nav": nav}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return atomic_write_text(path, html)


def build_book(out: str | os.PathLike = "runs/book", names: list[str] | None = None,
               quick: bool = False, device: str | None = None) -> tuple[Path, dict[str, str]]:
    """Execute the lessons ``names`` (default: all) as notebooks into ``out/NAME/`` and render
    ``out/index.html``, ``out/NAME.html`` and ``out/exercises/EXERCISE.html``. Returns the
    index's path and the lessons that failed, each with its error (their pages show it)."""
    for module in ("jupytext", "nbformat", "nbclient", "ipykernel"):
        _require(module, "building the book")
    exporter = _exporter()
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    out = Path(out).expanduser().resolve()
    lessons = [cli.find_lesson(n) for n in names] if names else cli._lessons()
    failed: dict[str, str] = {}
    for path in lessons:
        print(f"book: running {path.stem} as a notebook{' (quick)' if quick else ''} ...",
              flush=True)
        started = time.perf_counter()
        try:
            execute_lesson(path.stem, out / path.stem, quick=quick, device=device)
        except TinygenError as exc:
            failed[path.stem] = str(exc)
            print(f"book: {exc}", flush=True)
        print(f"book: {path.stem} done in {time.perf_counter() - started:.1f} s", flush=True)

    exercises = _exercises()
    titles = {p.stem: cli._title(p) or p.stem for p in lessons}
    for i, path in enumerate(lessons):
        stem, folder = path.stem, out / path.stem
        executed = folder / f"{stem}.ipynb"
        nb = nbformat.read(executed, as_version=4) if executed.is_file() else new_notebook()
        if stem in failed:
            nb.cells.insert(0, new_markdown_cell(
                f"**This lesson failed when the book was built:** `{failed[stem]}`"))
        elif (folder / "metrics.json").is_file():
            nb.cells.append(new_markdown_cell(key_numbers(folder / "metrics.json")))
        linked = [e for e in exercises if e.lesson == stem]
        if linked:
            nb.cells.append(new_markdown_cell("## Exercises\n\n" + "\n".join(
                f"* [{e.title}](exercises/{e.name}.html)" for e in linked)))
        nav = [("Index", "index.html")]
        if i > 0:
            nav.append((f"← {titles[lessons[i - 1].stem]}", f"{lessons[i - 1].stem}.html"))
        if i + 1 < len(lessons):
            nav.append((f"{titles[lessons[i + 1].stem]} →", f"{lessons[i + 1].stem}.html"))
        _render(exporter, nb, titles[stem], nav, out / f"{stem}.html")
    for exercise in exercises:
        nav = [("Index", "../index.html")]
        if exercise.lesson in titles:
            nav.append((titles[exercise.lesson], f"../{exercise.lesson}.html"))
        _render(exporter, _exercise_page(exercise, titles.get(exercise.lesson)),
                f"Exercise {exercise.name}", nav, out / "exercises" / f"{exercise.name}.html")

    mode = "in quick mode (small runs, for checking)" if quick else "in full"
    lines = ["# tinygen: the lessons\n",
             "Each lesson is a short chapter: why, the code, a figure, the number. They were "
             f"run {mode} as notebooks on {time.strftime('%Y-%m-%d')}; every page shows what "
             "its cells printed and drew, and its key numbers."]
    cells = [new_markdown_cell("\n".join(lines))]
    planned = {_topic(p.stem) for p in cli._lessons()}
    for topic in [*TOPICS, "More lessons"]:
        members = [p.stem for p in lessons if _topic(p.stem) == topic]
        if not members and (topic in planned or topic == "More lessons"):
            continue  # not built this time, or no lesson outside the topics
        items = [f"* [{titles[s]}]({s}.html)" + (" — **failed**" if s in failed else "")
                 for s in members] or ["*Lessons to come.*"]
        cells.append(new_markdown_cell(f"## {topic}\n\n" + "\n".join(items)))
    if exercises:
        cells.append(new_markdown_cell("## Exercises\n\n" + "\n".join(
            f"* [{e.title}](exercises/{e.name}.html)"
            + (f" — after {titles[e.lesson]}" if e.lesson in titles else "")
            for e in exercises)))
    index = _render(exporter, new_notebook(cells=cells), "tinygen: the lessons", [],
                    out / "index.html")
    return index, failed


# -- commands (registered by tinygen.cli) ------------------------------------------------------

def _notebook_command(args: argparse.Namespace) -> int:
    path = write_notebook(args.name, args.out)
    print(f"wrote {path}\nIn Jupyter a lesson takes its settings from the environment: "
          "TINYGEN_QUICK=1, TINYGEN_OUT=DIR, TINYGEN_DEVICE=cuda, TINYGEN_SEED=N.")
    return 0


def _book_command(args: argparse.Namespace) -> int:
    index, failed = build_book(args.out, args.names, quick=args.quick, device=args.device)
    print(f"book: {index}")
    if failed:
        print(f"book: {len(failed)} lesson(s) failed: {', '.join(failed)}")
        return 1
    return 0


def add_commands(groups, lesson_commands, parents: list | None = None) -> None:
    """Add ``tinygen lesson notebook`` to the lesson commands and the ``tinygen book`` group
    (``parents``: parsers whose options every command takes)."""
    parents = parents or []
    lesson_commands.metavar = "{list,run,notebook}"
    nb = lesson_commands.add_parser("notebook", parents=parents,
                                    help="write a lesson as a Jupyter notebook")
    nb.add_argument("name", help="lesson name, with or without .py, or a unique prefix")
    nb.add_argument("--out", default=".", help="folder for NAME.ipynb (default: here)")
    nb.set_defaults(func=_notebook_command)

    groups.metavar = "{lesson,data,book}"
    book = groups.add_parser("book", help="build the lessons as an HTML book")
    book_commands = book.add_subparsers(dest="command", metavar="{build}")
    build = book_commands.add_parser("build", parents=parents,
                                     help="run every lesson as a notebook and render the book "
                                     "(index.html, one page per lesson)")
    build.add_argument("names", nargs="*", metavar="NAME", help="only these lessons")
    build.add_argument("--out", default="runs/book", help="folder of the book (runs/book)")
    build.add_argument("--quick", action="store_true", help="the lessons' small runs")
    build.add_argument("--device", help="cpu or cuda (passed to the lessons)")
    build.set_defaults(func=_book_command)
    book.set_defaults(func=lambda args: book.print_help() or 2)
