"""Lessons as notebooks and the HTML book: ``tinygen lesson notebook``, ``execute_lesson`` on
small fake lessons (settings through TINYGEN_*, figures attached to the cell that drew them,
a failed check named), ``tinygen book build``, and the built book in headless Chromium."""

import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlparse

import pytest

from tinygen import book, cli

nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra")
for _module in ("jupytext", "nbclient", "nbconvert", "ipykernel"):
    pytest.importorskip(_module, reason="needs the notebooks extra")

FAKE = '''# %% [markdown]
# # Lesson 90: a fake lesson for the book test
#
# It draws a line and writes what it was told.

# %%
import json, os, sys
from pathlib import Path

import matplotlib.pyplot as plt

out = Path(os.environ["TINYGEN_OUT"])

# %%
fig = plt.figure(figsize=(3, 2))
plt.plot([0, 1], [0, 1])
fig.savefig(out / "line.png")
plt.close(fig)

# %%
record = {"quick": os.environ["TINYGEN_QUICK"] == "1", "cwd": os.getcwd(),
          "python": sys.executable, "seed": os.environ.get("TINYGEN_SEED"),
          "scores": {"a|b": 0.123456789, "list": [1, 2.5]}}
(out / "metrics.json").write_text(json.dumps(record))
print("check passed: the fake lesson ran")
'''

BROKEN = '''# %% [markdown]
# # Lesson 91: a broken lesson

# %%
print("one")

# %%
raise SystemExit("check failed: the number is wrong")
'''


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A repository whose lessons are 90_fake (runs) and 91_broken (fails a check)."""
    repo = tmp_path / "repo"
    (repo / "lessons").mkdir(parents=True)
    (repo / "lessons" / "90_fake.py").write_text(FAKE, encoding="utf-8")
    (repo / "lessons" / "91_broken.py").write_text(BROKEN, encoding="utf-8")
    monkeypatch.setattr(cli, "REPO_ROOT", repo)
    monkeypatch.setattr(book, "_exercises", lambda: [])
    return repo


def _image_outputs(cell) -> list[str]:
    return [o.metadata["tinygen"]["figure"] for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})]


def test_lesson_notebook_command_writes_the_lesson_as_a_notebook(tmp_path, capsys):
    assert cli.main(["lesson", "notebook", "01", "--out", str(tmp_path)]) == 0
    assert "TINYGEN_QUICK=1" in capsys.readouterr().out
    nb = nbformat.read(tmp_path / "01_autodiff.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and "Lesson 1" in nb.cells[0].source
    assert sum(c.cell_type == "code" for c in nb.cells) > 3
    assert not any(c.get("outputs") for c in nb.cells)  # written, not executed


@pytest.mark.parametrize("module, argv", [
    ("jupytext", ["lesson", "notebook", "90"]),
    ("nbclient", ["book", "build", "90", "--quick"]),
    ("nbconvert", ["book", "build", "90", "--quick"]),
])
def test_a_missing_notebooks_extra_is_named(fake_repo, monkeypatch, tmp_path, capsys, module,
                                            argv):
    monkeypatch.setitem(sys.modules, module, None)  # import fails
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err
    assert f"needs {module}" in err and 'pip install -e ".[notebooks]"' in err


def test_execute_lesson_passes_settings_and_attaches_figures(fake_repo, tmp_path, monkeypatch):
    # a user's own Jupyter whose "python3" kernel is some other Python: not the one used
    spec = tmp_path / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [str(tmp_path / "no-python"), "-f", "{connection_file}"],
                                "display_name": "elsewhere", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "out"
    executed = book.execute_lesson("90", out, quick=True, seed=7)
    assert executed == out / "90_fake.ipynb"
    record = json.loads((out / "metrics.json").read_text())
    assert record["python"] == sys.executable
    assert record["quick"] is True and record["seed"] == "7"
    assert record["cwd"] == str(fake_repo)  # like `tinygen lesson run`
    nb = nbformat.read(executed, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]  # no setup
    assert [_image_outputs(c) for c in nb.cells] == [[], [], ["line.png"], []]

    book.execute_lesson("90", out, quick=False)
    assert json.loads((out / "metrics.json").read_text())["quick"] is False


def test_a_failed_check_names_the_lesson_and_the_cell(fake_repo, tmp_path):
    with pytest.raises(book.TinygenError, match=r"lesson 91_broken failed as a notebook, "
                       r"cell 3: SystemExit: check failed: the number is wrong"):
        book.execute_lesson("91", tmp_path)
    nb = nbformat.read(tmp_path / "91_broken.ipynb", as_version=4)  # kept for reading
    assert nb.cells[1].outputs[0].text == "one\n"


def test_book_build_renders_pages_and_reports_failures(fake_repo, tmp_path, capsys):
    out = tmp_path / "book"
    assert cli.main(["book", "build", "--quick", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "1 lesson(s) failed: 91_broken" in printed
    index = (out / "index.html").read_text()
    assert '<a href="90_fake.html">Lesson 90: a fake lesson for the book test</a>' in index
    assert "More lessons" in index and "The engine" in index and "Lessons to come." in index
    assert "failed" in index
    page = (out / "90_fake.html").read_text()
    assert "Key numbers" in page and "0.1235" in page and "a\\|b" not in page
    assert 'href="91_broken.html"' in page and 'href="index.html"' in page
    assert "data:image/png;base64," in page
    assert "<script src=" not in page  # nothing fetched from the network
    broken = (out / "91_broken.html").read_text()
    assert "This lesson failed when the book was built" in broken
    assert "check failed: the number is wrong" in broken


def test_no_exercises_package_means_no_exercises(monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygen.exercises", None)
    assert book._exercises() == []


def test_key_numbers_flattens_metrics(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"acc": {"CRF": 0.94912, "n": 3}, "curve": list(range(20)),
                                "ok": True}))
    table = book.key_numbers(path)
    assert "| acc › CRF | 0.9491 |" in table and "| acc › n | 3 |" in table
    assert "| curve | (20 values) |" in table and "| ok | True |" in table


def test_every_lesson_has_a_topic():
    """The index groups lessons by topic; a new lesson gets its line in book.TOPICS."""
    missing = [p.stem for p in cli._lessons() if book._topic(p.stem) == "More lessons"]
    assert not missing, f"add these lessons to tinygen.book.TOPICS: {missing}"


# -- the book in a real browser ----------------------------------------------------------------

BROWSER_LESSONS = ("01_autodiff", "05_function_smoothing")  # fast, and on bundled data


def _chrome():
    """A headless Chromium driven by Selenium, or a skip that says what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="needs selenium (pip install selenium)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("needs Chromium and its driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1400"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver),
                            options=options)


def _check_page(browser, path: Path) -> list[Path]:
    """Open ``path``: every image loaded, no console error, every internal link resolves.
    Returns the pages it links to."""
    browser.get(path.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);")
    assert all(done and width > 0 for done, width in images), (path.name, images)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, (path.name, errors)
    linked = []
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
    for href in hrefs:
        url = urlparse(href)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        assert target.is_file(), (path.name, href)
        if url.fragment and target == path:  # an anchor on this page (ids may be %-encoded)
            assert browser.execute_script(
                "return document.getElementById(arguments[0]) || "
                "document.getElementById(arguments[1]);",
                url.fragment, unquote(url.fragment)), (path.name, href)
        if target != path:
            linked.append(target)
    return linked


def test_the_book_in_chromium(tmp_path, monkeypatch):
    browser = _chrome()
    stub = tmp_path / "stub.py"
    stub.write_text('"""Write tanh\'\'."""\n\ndef d2_tanh(x):\n    raise NotImplementedError\n')
    exercise = SimpleNamespace(name="tanh_by_hand", title="The second derivative of tanh",
                               topic="backward rules", difficulty=1, lesson="01_autodiff",
                               stub=stub)
    monkeypatch.setattr(book, "_exercises", lambda: [exercise])
    out = tmp_path / "book"
    try:
        index, failed = book.build_book(out, list(BROWSER_LESSONS), quick=True)
        assert not failed
        browser.get(index.as_uri())
        browser.save_screenshot(str(tmp_path / "index.png"))
        links = {a.text: a.get_attribute("href") for a in
                 browser.find_elements("css selector", "main a:not(.anchor-link)")}
        for name in BROWSER_LESSONS:
            title = cli._title(cli.find_lesson(name))
            assert links[title].endswith(f"/{name}.html")
        assert links["The second derivative of tanh"].endswith("/exercises/tanh_by_hand.html")
        seen, todo = set(), [index]
        while todo:
            page = todo.pop()
            if page not in seen:
                seen.add(page)
                todo += _check_page(browser, page)
        expected = {index, out / "exercises" / "tanh_by_hand.html"}
        expected |= {out / f"{name}.html" for name in BROWSER_LESSONS}
        assert seen == expected
        for name in BROWSER_LESSONS:
            browser.get((out / f"{name}.html").as_uri())
            shown = browser.execute_script("return document.images.length;")
            assert shown == len(list((out / name).glob("*.png"))) > 0
            assert "Key numbers" in browser.page_source
        browser.get((out / "01_autodiff.html").as_uri())
        assert "exercises/tanh_by_hand.html" in browser.page_source
        browser.get((out / "exercises" / "tanh_by_hand.html").as_uri())
        assert "tinygen exercise start tanh_by_hand" in browser.page_source
        assert "NotImplementedError" in browser.page_source
    finally:
        browser.quit()
    assert (tmp_path / "index.png").stat().st_size > 10_000
