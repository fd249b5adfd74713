"""The self-study site: generated from the manifest, built offline, and checked in a real Chromium.

Fast tests check the navigation, the hooks and the vendored mermaid without building. The slow tests build
the site once per session (every lesson executed) into a temporary folder, inspect the files, then serve
it on 127.0.0.1 and drive Debian's Chromium headless with Playwright: pages load cleanly and never leave
127.0.0.1, the "next" links walk the course in order, search finds NullHandler, diagrams are drawn as SVG,
Rich output keeps its colours, and no solution text appears. A screenshot of lesson 04 goes to artifacts/.
"""

from __future__ import annotations

import functools
import hashlib
import html
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import nbformat
import pytest

from course.manifest import REPO_ROOT, load_manifest
from course.site import SiteBuildError, SiteResult, build_site, nav_pages, site_config, site_nav

MANIFEST = load_manifest()
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "artifacts"
VENDOR = REPO_ROOT / "site" / "assets" / "vendor" / "mermaid"
#: Solution lines shorter than this (``return logger``) are too generic to prove a leak.
MIN_SECRET_LENGTH = 16
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def lesson_url(slug: str) -> str:
    return f"lessons/{slug}/"


def exercise_url(slug: str) -> str:
    return f"exercises/{slug}/{slug}/"


def lesson_pages() -> list[str]:
    return [lesson_url(lesson.slug) for lesson in MANIFEST.lessons if lesson.path().exists()]


def all_pages() -> list[str]:
    """Every page of the site in course order, as URLs relative to the site root ("" is the home page)."""
    urls = [""]
    for page in nav_pages(MANIFEST):
        parts = page.removesuffix(".ipynb").split("/")
        urls.append(lesson_url(parts[1]) if parts[0] == "lessons" else exercise_url(parts[1]))
    return urls


# --- solution text --------------------------------------------------------------------------------


def _regions(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"^\s*### {begin}\s*$(.*?)^\s*### {end}\s*$", source, re.MULTILINE | re.DOTALL)


def normalise(text: str) -> str:
    return " ".join(text.split())


def secret_lines(root: Path = REPO_ROOT, *, also_public: str = "") -> set[str]:
    """Lines of solutions and hidden tests in solutions/ that appear nowhere in the published notebooks.

    The tasks' hints in course.toml are public too (``course hint``, and the exercise pages show them).

    ``also_public`` is more text readers may see (the executed lessons' outputs): a lesson that prints
    ``"backupCount": 5,`` does not make that line a leaked solution.
    """
    secrets: set[str] = set()
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            nbgrader = cell.get("metadata", {}).get("nbgrader", {})
            regions = _regions(cell.source, "BEGIN SOLUTION", "END SOLUTION")
            regions += _regions(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
            if nbgrader.get("solution") and not regions:
                regions = [cell.source]  # nbgrader replaces a solution cell without markers as a whole
            secrets.update(normalise(line) for region in regions for line in region.splitlines())
    published: set[str] = set()
    for path in [*(root / "lessons").glob("*.ipynb"), *(root / "exercises").glob("*/*.ipynb")]:
        for cell in nbformat.read(path, as_version=4).cells:
            published.update(normalise(line) for line in cell.source.splitlines())
    hints = [
        task.hint
        for assignment in load_manifest(root / "course.toml").assignments
        for task in assignment.tasks
    ]
    published_text = "\n".join([*published, normalise(also_public), *map(normalise, hints)])
    return {
        line
        for line in secrets - published
        if len(line) >= MIN_SECRET_LENGTH and line not in published_text  # inside a longer public line
    }


def json_strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON document (a search index, a notebook), decoded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def output_text(notebook: Path) -> str:
    """The text of an executed notebook's outputs (streams, plain text and HTML with tags removed)."""
    parts: list[str] = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(html_text(data.get("text/html", "")))
            parts.extend(ANSI.sub("", line) for line in output.get("traceback", []))
    return "\n".join(parts)


def notebook_text(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)


def leaked(text: str, secrets: set[str]) -> list[str]:
    flat = normalise(text)
    return sorted(line for line in secrets if line in flat)


def html_text(markup: str) -> str:
    """The text of an HTML page, tags removed and entities decoded (close to what a reader sees)."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# --- fast: navigation, configuration, hooks, vendored files ---------------------------------------


class TestNavigation:
    """The navigation is generated from course.toml, in course order, never hand-edited."""

    def test_pages_follow_the_manifest(self) -> None:
        """Each listed lesson, then its released exercise, in the order course.toml lists the lessons."""
        released = {a.lesson: a for a in MANIFEST.assignments if a.release_path().exists()}
        expected: list[str] = []
        for lesson in MANIFEST.lessons:
            if lesson.path().exists():
                expected.append(f"lessons/{lesson.slug}.ipynb")
                if lesson.slug in released:
                    expected.append(f"exercises/{lesson.slug}/{lesson.slug}.ipynb")
        assert nav_pages(MANIFEST) == expected
        assert len(expected) >= len(MANIFEST.lessons), "some lessons listed in course.toml have no notebook"

    def test_nav_sections_are_the_lessons_in_order(self, tmp_path: Path) -> None:
        """The config mkdocs reads has Home, then one section per lesson titled 'NN · title', in order."""
        config = site_config(docs_dir=tmp_path / "docs", site_dir=tmp_path / "out", manifest=MANIFEST)
        nav = config["nav"]
        assert nav[0] == {"Home": "index.md"}
        titles = [next(iter(section)) for section in nav[1:]]
        assert titles == [f"{lesson.number:02d} · {lesson.title}" for lesson in MANIFEST.lessons]
        flattened = [
            page for section in nav[1:] for entry in next(iter(section.values())) for page in entry.values()
        ]
        assert flattened == nav_pages(MANIFEST)

    def test_order_comes_from_the_manifest_not_the_file_names(self, tmp_path: Path) -> None:
        """A manifest listing b before a gives b first, and an unlisted notebook is not published."""
        for slug in ("01_a", "02_b", "03_unlisted"):
            (tmp_path / "lessons").mkdir(exist_ok=True)
            nbformat.write(nbformat.v4.new_notebook(), tmp_path / "lessons" / f"{slug}.ipynb")
        (tmp_path / "course.toml").write_text(
            '[[lesson]]\nslug = "02_b"\ntitle = "B"\n\n[[lesson]]\nslug = "01_a"\ntitle = "A"\n',
            encoding="utf-8",
        )
        manifest = load_manifest(tmp_path / "course.toml")
        assert nav_pages(manifest, root=tmp_path) == ["lessons/02_b.ipynb", "lessons/01_a.ipynb"]
        assert [next(iter(s)) for s in site_nav(manifest, root=tmp_path)] == ["Home", "02 · B", "01 · A"]


class TestOfflineConfiguration:
    """The theme loads no fonts from Google, and the mermaid it would fetch from unpkg is vendored."""

    def test_theme_fonts_are_off_and_notebooks_are_not_executed_twice(self, tmp_path: Path) -> None:
        """theme.font is false; mkdocs-jupyter renders the lessons the build already executed."""
        config = site_config(docs_dir=tmp_path / "docs", site_dir=tmp_path / "out", manifest=MANIFEST)
        assert config["theme"]["font"] is False
        jupyter = next(
            p["mkdocs-jupyter"] for p in config["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p
        )
        assert jupyter["execute"] is False
        assert "search" in config["plugins"]

    def test_vendored_mermaid_is_the_recorded_release(self) -> None:
        """mermaid.min.js matches the sha256 in the vendor README; its MIT licence sits next to it."""
        recorded = re.search(r"sha256 `([0-9a-f]{64})`", (VENDOR / "README.md").read_text(encoding="utf-8"))
        assert recorded, "site/assets/vendor/mermaid/README.md should record the file's sha256"
        digest = hashlib.sha256((VENDOR / "mermaid.min.js").read_bytes()).hexdigest()
        assert digest == recorded.group(1), "mermaid.min.js changed; update the README (version and sha256)"
        assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")


class TestHooks:
    """site/hooks.py removes nbconvert's CDN scripts, fixes notebook links and refuses remote assets."""

    @pytest.fixture(scope="class")
    def hooks(self) -> Any:
        import importlib.util

        spec = importlib.util.spec_from_file_location("course_site_hooks", REPO_ROOT / "site" / "hooks.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_cdn_scripts_are_removed_and_mermaid_renamed(self, hooks: Any) -> None:
        """nbconvert's mermaid import and MathJax loader go; pre.mermaid becomes pre.nb-mermaid."""
        body = (
            '<script type="module">\nconst { default: mermaid } = await import('
            '"https://cdnjs.cloudflare.com/ajax/libs/mermaid/11.10.0/mermaid.esm.min.mjs");\n</script>\n'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"> </script>\n'
            '<script src=""> </script>\n'
            '<div class="jp-Mermaid"><pre class="mermaid">\nflowchart LR\n  A --&gt; B\n</pre></div>'
        )
        cleaned = hooks.clean_notebook_html(body)
        assert "cdnjs" not in cleaned and 'src=""' not in cleaned
        assert '<pre class="nb-mermaid">' in cleaned and 'class="mermaid"' not in cleaned
        assert "A --&gt; B" in cleaned

    def test_diagrams_get_their_exact_source_back(self, hooks: Any) -> None:
        """nbconvert's lossy copy is replaced by the notebook's source, escaped: &quot; and <br/> survive."""
        source = 'flowchart LR\n    A["one<br/>two"] --> B["{&quot;event&quot;: 1}"]'
        notebook = {"cells": [{"cell_type": "markdown", "source": f"Text\n\n```mermaid\n{source}\n```\n"}]}
        assert hooks.mermaid_sources(notebook) == [source]
        as_nbconvert_writes_it = source.replace("&quot;", '"')
        lossy = f'<div class="jp-Mermaid"><pre class="mermaid">\n{as_nbconvert_writes_it}\n</pre></div>'
        cleaned = hooks.clean_notebook_html(lossy, hooks.mermaid_sources(notebook))
        block = re.search(r'<pre class="nb-mermaid">\n(.*?)\n</pre>', cleaned, re.DOTALL)
        assert block and html.unescape(block.group(1)) == source
        assert "<br/>" not in block.group(1), "an unescaped <br/> would become an element, not text"

    def test_toc_comes_from_the_rendered_headings(self, hooks: Any) -> None:
        """Titles keep their inline code, ids are nbconvert's, levels nest, output headings are left out."""
        anchor = '<a class="anchor-link" href="#{0}">¶</a>'
        content = (
            f'<h1 id="lesson">Lesson{anchor.format("lesson")}</h1>'
            f'<h2 id="gp-is-silent"><code>gp</code> is silent{anchor.format("gp-is-silent")}</h2>'
            f'<h3 id="why">Why &amp; how{anchor.format("why")}</h3>'
            '<div class="jp-OutputArea"><h2 id="from-output">printed by a cell</h2></div>'
            f'<h2 id="summary">Summary{anchor.format("summary")}</h2>'
        )
        (lesson,) = hooks.toc_tokens(content)
        assert (lesson["id"], lesson["name"]) == ("lesson", "Lesson")
        assert [(t["id"], t["name"]) for t in lesson["children"]] == [
            ("gp-is-silent", "gp is silent"),
            ("summary", "Summary"),
        ]
        assert [(t["id"], t["name"]) for t in lesson["children"][0]["children"]] == [("why", "Why &amp; how")]

    def test_exercise_pages_get_their_hints(self, hooks: Any) -> None:
        """Each task's hint becomes a folded box under a Hints heading that the table of contents lists."""
        tasks = [
            {
                "id": "5.1",
                "title": "Console <and> file",
                "points": 3.0,
                "hint": "Use `basicConfig(force=True)`.",
            },
            {"id": "5.2", "title": "Colours", "points": 2.5, "hint": "Format a copy of the record."},
        ]
        section = hooks.hints_html(tasks)
        assert section.count("<details") == 2
        assert "Task 5.1: Console &lt;and&gt; file (3 points)" in section and "(2.5 points)" in section
        assert "<code>basicConfig(force=True)</code>" in section and "Format a copy of the record." in section
        assert [t["id"] for t in hooks.toc_tokens(section)] == ["hints"]
        assert hooks.hints_html([]) == ""

    def test_a_diagram_count_mismatch_fails(self, hooks: Any) -> None:
        """If the HTML and the notebook disagree on the number of diagrams, the build stops."""
        from mkdocs.exceptions import PluginError

        with pytest.raises(PluginError, match="mermaid"):
            hooks.clean_notebook_html('<pre class="mermaid">\nflowchart LR\n</pre>', [])

    def test_notebook_links_point_at_built_pages(self, hooks: Any, tmp_path: Path) -> None:
        """A lesson's ../exercises/.../x.ipynb link becomes the exercise page's URL, relative to it."""
        from mkdocs.structure.files import File, Files

        def file(path: str) -> File:
            """A notebook page as mkdocs-jupyter registers it: built to <path without .ipynb>/index.html."""
            dest = path.removesuffix(".ipynb") + "/index.html"
            return File(path, str(tmp_path), str(tmp_path / "out"), use_directory_urls=True, dest_uri=dest)

        lesson, exercise, other = (
            file("lessons/04_b.ipynb"),
            file("exercises/04_b/04_b.ipynb"),
            file("lessons/05_c.ipynb"),
        )
        page = type("Page", (), {"file": lesson})()
        body = (
            '<a href="../exercises/04_b/04_b.ipynb">ex</a> <a href="05_c.ipynb#top">next</a> '
            '<a href="missing.ipynb">gone</a> <a href="https://example.org/x.ipynb">web</a> '
            '<a href="../exercises/09_z/09_z.ipynb">not released</a>'
        )
        rewritten = hooks.rewrite_notebook_links(body, page, Files([lesson, exercise, other]))
        assert 'href="../../exercises/04_b/04_b/"' in rewritten
        assert 'href="../05_c/#top"' in rewritten
        assert 'href="missing.ipynb"' in rewritten and 'href="https://example.org/x.ipynb"' in rewritten
        assert 'href="#" title="not published yet"' in rewritten and "09_z" not in rewritten

    @pytest.mark.parametrize(
        "tag",
        [
            '<script src="https://unpkg.com/mermaid@11/dist/mermaid.min.js"></script>',
            '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
            '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>',
            '<script type="module">const m = await import("https://cdnjs.example/mermaid.mjs");</script>',
            "<style>@import url('https://fonts.example/css');</style>",
        ],
    )
    def test_a_page_that_loads_from_the_internet_fails_the_build(self, hooks: Any, tag: str) -> None:
        """on_post_page raises for a remote script, stylesheet, preconnect, dynamic import or CSS import."""
        from mkdocs.exceptions import PluginError

        page = type("Page", (), {"file": type("F", (), {"src_uri": "lessons/01_a.ipynb"})()})()
        with pytest.raises(PluginError, match="internet"):
            hooks.on_post_page(f"<html><head>{tag}</head></html>", page, None)

    def test_local_assets_and_plain_links_pass(self, hooks: Any) -> None:
        """Local scripts and a canonical link to the public site are fine."""
        page = type("Page", (), {"file": type("F", (), {"src_uri": "index.md"})()})()
        output = (
            '<link rel="canonical" href="https://example.org/">'
            '<link rel="stylesheet" href="assets/site.css"><script src="assets/x.js"></script>'
        )
        assert hooks.on_post_page(output, page, None) == output


class TestSolutionDetector:
    """The leak detector used on the built site would notice solution text."""

    def test_it_sees_the_solutions_in_the_solution_notebooks(self) -> None:
        """Every solution notebook's own text contains secrets, so a site built from solutions/ would fail."""
        secrets = secret_lines()
        assert secrets, "no solution lines found in solutions/ (has the BEGIN SOLUTION format changed?)"
        for assignment in MANIFEST.assignments:
            if assignment.source_path().exists():
                text = notebook_text(assignment.source_path())
                assert leaked(text, secrets), f"no secret line detected in {assignment.source_path().name}"

    def test_it_is_quiet_on_the_released_exercises(self) -> None:
        """The released exercises (what the site shows) contain none of those lines."""
        secrets = secret_lines()
        for assignment in MANIFEST.assignments:
            if assignment.release_path().exists():
                text = notebook_text(assignment.release_path())
                assert not leaked(text, secrets), assignment.release_path().name


class TestCommand:
    """`course site` is registered on the course command and refuses to clobber an unrelated folder."""

    def test_course_site_refuses_a_folder_that_is_not_a_site(self, tmp_path: Path) -> None:
        """A non-empty folder without an earlier build is left alone, with a message and exit code 1."""
        from typer.testing import CliRunner

        from course.cli import app

        (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
        result = CliRunner().invoke(app, ["site", "--output", str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert "refusing to overwrite" in result.output
        assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


# --- slow: the build ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def site_staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the build's staged docs (the executed lessons) are kept for the tests."""
    return tmp_path_factory.mktemp("staging")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, site_staging: Path) -> SiteResult:
    """The whole site, built once per session into a temporary folder (every lesson executed)."""
    result = build_site(output=tmp_path_factory.mktemp("site") / "site", keep_staging=site_staging)
    print(
        f"site: {result.pages} pages, lessons executed in {result.execute_seconds:.1f} s, "
        f"rendered in {result.render_seconds:.1f} s"
    )
    return result


@pytest.fixture(scope="session")
def site_secrets(built_site: SiteResult, site_staging: Path) -> set[str]:
    """Solution lines that must not appear on the site (lesson outputs are public text)."""
    executed = sorted((site_staging / "docs" / "lessons").glob("*.ipynb"))
    outputs = "\n".join(output_text(path) for path in executed)
    secrets = secret_lines(also_public=outputs)
    assert secrets, "no solution lines to look for"
    return secrets


@pytest.mark.slow
@pytest.mark.timeout(900)
class TestBuiltFiles:
    """The built files: every page exists, nothing points off the site, no solution text anywhere."""

    def test_every_page_was_built(self, built_site: SiteResult) -> None:
        """One index.html per lesson and released exercise, plus the home page, and the search index."""
        for url in all_pages():
            assert (built_site.output / url / "index.html").exists(), f"missing page {url or 'home'}"
        assert built_site.lessons == len(lesson_pages())
        assert (built_site.output / "search" / "search_index.json").exists()

    def test_no_page_references_the_internet(self, built_site: SiteResult) -> None:
        """No script, stylesheet or font is loaded from another host (checked in the files themselves)."""
        remote = re.compile(r"""(?:src|href)=["'](?:https?:)?//(?!127\.0\.0\.1)[^"']+["'][^>]*>""")
        for path in built_site.output.rglob("*.html"):
            markup = path.read_text(encoding="utf-8")
            for match in remote.finditer(markup):
                tag = markup[markup.rfind("<", 0, match.start()) : match.end()]
                assert tag.startswith(("<a ", "<a\n")) or 'rel="canonical"' in tag, f"{path}: {tag[:160]}"

    def test_internal_links_resolve(self, built_site: SiteResult) -> None:
        """Every relative link on every page leads to a file of the site (notebook links were rewritten)."""
        broken: list[str] = []
        for url in all_pages():
            page = built_site.output / url / "index.html"
            for href in re.findall(r'href="([^"#?]+)[^"]*"', page.read_text(encoding="utf-8")):
                if re.match(r"^[a-z]+:|^//", href):
                    continue
                target = (page.parent / href).resolve()
                if not (target.is_file() or (target / "index.html").is_file()):
                    broken.append(f"{url or 'home'} -> {href}")
        assert not broken, f"links that lead nowhere: {broken[:10]}"

    def test_exercise_pages_show_every_hint(self, built_site: SiteResult) -> None:
        """Every task of every released exercise has its hint, from course.toml, on the exercise page."""
        import markdown

        checked = 0
        for assignment in MANIFEST.assignments:
            if not assignment.release_path().exists():
                continue
            page = html_text(
                (built_site.output / exercise_url(assignment.slug) / "index.html").read_text("utf-8")
            )
            for task in assignment.tasks:
                assert normalise(html_text(markdown.markdown(task.hint))) in normalise(page), (
                    f"hint {task.id} missing"
                )
                checked += 1
        assert checked > 0

    def test_in_page_links_reach_a_heading(self, built_site: SiteResult) -> None:
        """Every #anchor link (the table of contents, the permalinks) names an id on its own page."""
        broken: list[str] = []
        for url in all_pages():
            markup = (built_site.output / url / "index.html").read_text(encoding="utf-8")
            ids = set(re.findall(r'\bid="([^"]+)"', markup))
            broken += [f"{url or 'home'}#{a}" for a in re.findall(r'href="#([^"]+)"', markup) if a not in ids]
        assert not broken, f"anchors with no target: {broken[:10]}"

    def test_no_solution_text_in_any_file(self, built_site: SiteResult, site_secrets: set[str]) -> None:
        """No line of a solution or hidden test appears in a page, the search index or a copied notebook."""
        secrets = site_secrets
        for path in built_site.output.rglob("*"):
            if path.suffix == ".html":
                text = html_text(path.read_text(encoding="utf-8"))
            elif path.suffix in {".json", ".ipynb"}:
                text = html_text("\n".join(json_strings(json.loads(path.read_text(encoding="utf-8")))))
            else:
                continue
            found = leaked(text, secrets)
            assert not found, f"{path.relative_to(built_site.output)} shows solution text: {found[:3]}"

    def test_lesson_outputs_are_current(self, built_site: SiteResult) -> None:
        """The lessons were executed for the build: every lesson page shows cell outputs."""
        for url in lesson_pages():
            text = (built_site.output / url / "index.html").read_text(encoding="utf-8")
            assert "jp-OutputArea-output" in text, f"{url} has no outputs: was it executed?"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_failing_lesson_fails_the_build(tmp_path: Path) -> None:
    """An untagged error or a dead kernel stops the build, naming each failed lesson; tagged errors pass."""
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "site", root / "site")
    (root / "course.toml").write_text(
        '[[lesson]]\nslug = "01_broken"\ntitle = "Broken"\n\n[[lesson]]\nslug = "02_dies"\ntitle = "Dies"\n',
        encoding="utf-8",
    )
    broken = nbformat.v4.new_notebook()
    tagged = nbformat.v4.new_code_cell("raise ValueError('shown on purpose')")
    tagged.metadata["tags"] = ["raises-exception"]
    broken.cells = [tagged, nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(broken, root / "lessons" / "01_broken.ipynb")
    dies = nbformat.v4.new_notebook()
    dying = "import os, sys\nprint('kernel going down', file=sys.__stderr__, flush=True)\nos._exit(3)"
    dies.cells = [nbformat.v4.new_code_cell(dying)]
    nbformat.write(dies, root / "lessons" / "02_dies.ipynb")
    with pytest.raises(SiteBuildError) as raised:
        build_site(root=root, output=tmp_path / "out", workers=2)
    message = str(raised.value)
    assert re.search(r"01_broken\.ipynb failed(?s:.*)ZeroDivisionError", message), message
    assert "ValueError" not in message, "the tagged cell's error is part of the lesson, not a failure"
    assert re.search(r"02_dies\.ipynb failed: DeadKernelError(?s:.*)kernel going down", message), message
    assert not (tmp_path / "out" / "index.html").exists()


# --- slow: in the browser -------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope="session")
def site_url(built_site: SiteResult) -> Iterator[str]:
    """The built site served on 127.0.0.1 from a thread, on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(built_site.output))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: the site's browser tests need Debian's chromium (apt install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProbe:
    """A browser tab that records console errors, failed requests and every attempt to leave 127.0.0.1."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("requestfailed", lambda req: self.failed.append(f"{req.url} ({req.failure})"))
        self.page.on(
            "response", lambda res: res.status >= 400 and self.failed.append(f"{res.url} ({res.status})")
        )

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} ({response.status})")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlparse(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def goto(self, url: str) -> None:
        self.page.goto(url, wait_until="load")
        # Diagrams are drawn after load; wait until every one is drawn or marked as failed.
        self.page.wait_for_function(
            "document.querySelectorAll('pre.nb-mermaid:not([data-nb-drawn])').length === 0"
            " && document.querySelectorAll('pre.nb-mermaid').length"
            " === document.querySelectorAll('.nb-mermaid-diagram').length"
            " + document.querySelectorAll('pre.nb-mermaid-error').length",
            timeout=30_000,
        )
        # Let the search worker and index finish loading, or leaving the page aborts them (ERR_ABORTED).
        self.page.wait_for_load_state("networkidle")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def probe(browser: Any) -> Iterator[PageProbe]:
    tab = PageProbe(browser)
    try:
        yield tab
    finally:
        tab.close()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(900)
class TestInTheBrowser:
    """The served site, as a reader's Chromium shows it."""

    def test_every_page_loads_cleanly_and_offline(
        self, probe: PageProbe, site_url: str, site_secrets: set[str]
    ) -> None:
        """Each page: no console error or failed request, nothing fetched off 127.0.0.1, no solution."""
        secrets = site_secrets
        for url in all_pages():
            probe.goto(urljoin(site_url, url))
            name = url or "home"
            assert not probe.errors, f"{name}: console errors {probe.errors}"
            assert not probe.failed, f"{name}: failed requests {probe.failed}"
            assert not probe.outside, f"{name}: requests left 127.0.0.1: {probe.outside}"
            assert not leaked(probe.page.inner_text("body"), secrets), f"{name} shows solution text"
            assert probe.page.locator("pre.nb-mermaid-error").count() == 0, f"{name}: a diagram failed"

    def test_next_links_walk_every_lesson_in_order(self, probe: PageProbe, site_url: str) -> None:
        """From the first lesson, the footer's "next" links reach every page, lessons in course order."""
        pages = all_pages()
        probe.page.goto(urljoin(site_url, pages[1]), wait_until="load")
        visited = [pages[1]]
        for _ in range(len(pages) + 2):
            next_link = probe.page.locator("a.md-footer__link--next")
            if next_link.count() == 0:
                break
            with probe.page.expect_navigation(wait_until="load"):
                next_link.first.click()
            visited.append(probe.page.url.removeprefix(site_url))
        assert visited == pages[1:], f"the next links visit {visited}"
        lessons = [url for url in visited if url.startswith("lessons/")]
        assert lessons == lesson_pages()

    def test_search_finds_the_boundary_lesson(self, probe: PageProbe, site_url: str) -> None:
        """Typing NullHandler into the search box lists lesson 04, from the static index alone."""
        probe.goto(site_url)
        probe.page.locator("input.md-search__input").click()
        probe.page.keyboard.type("NullHandler", delay=30)
        results = probe.page.locator(".md-search-result__item a")
        results.first.wait_for(timeout=20_000)
        hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
        assert any(lesson_url("04_library_boundary") in href for href in hrefs), hrefs
        assert not probe.outside and not probe.errors

    def test_diagrams_are_drawn_as_svg(self, probe: PageProbe, site_url: str) -> None:
        """Lesson 04's diagrams are inline <svg> elements with a real size; a screenshot is saved."""
        probe.goto(urljoin(site_url, lesson_url("04_library_boundary")))
        sources = probe.page.locator("pre.nb-mermaid").count()
        svgs = probe.page.locator(".nb-mermaid-diagram svg")
        assert sources >= 1 and svgs.count() == sources
        for i in range(svgs.count()):
            svgs.nth(i).scroll_into_view_if_needed()
            box = svgs.nth(i).bounding_box()
            assert box and box["width"] > 100 and box["height"] > 50, f"diagram {i + 1} box {box}"
            assert svgs.nth(i).locator("g").count() > 3, f"diagram {i + 1} has nothing drawn in it"
        ARTIFACTS.mkdir(exist_ok=True)
        probe.page.locator(".nb-mermaid-diagram").first.scroll_into_view_if_needed()
        probe.page.screenshot(path=str(ARTIFACTS / "site_lesson_04.png"))
        assert (ARTIFACTS / "site_lesson_04.png").stat().st_size > 10_000

    def test_rich_output_keeps_its_colours(self, probe: PageProbe, site_url: str) -> None:
        """In the Rich lesson's output, coloured spans are drawn in colour, not the output's text colour."""
        probe.goto(urljoin(site_url, lesson_url("12_rich")))
        colours = probe.page.evaluate(
            """() => {
                const text = getComputedStyle(document.querySelector('.jp-OutputArea-output')).color;
                const spans = [...document.querySelectorAll('.jp-OutputArea-output span[style*="color"]')];
                return {text, drawn: [...new Set(spans.map(s => getComputedStyle(s).color))]};
            }"""
        )
        coloured = [c for c in colours["drawn"] if c != colours["text"]]
        assert len(coloured) >= 3, f"Rich output shows colours {colours['drawn']} (text is {colours['text']})"
