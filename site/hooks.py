"""mkdocs hooks for the self-study site: make notebook pages work offline and link correctly.

mkdocs-jupyter renders each notebook with nbconvert's template, which embeds a module script importing
mermaid from cdnjs, a MathJax loader and a ``<pre class="mermaid">`` block per diagram that
mkdocs-material would also pick up (and load mermaid from unpkg for). For every notebook page this hook:

- removes nbconvert's mermaid and MathJax scripts (no lesson uses LaTeX);
- renames ``pre.mermaid`` to ``pre.nb-mermaid``, which ``assets/javascripts/nb-mermaid.js`` draws with the
  vendored mermaid as inline ``<svg>``;
- rewrites links to notebooks (``../exercises/05_x/05_x.ipynb``) to the built pages' URLs, resolved against
  the page's own source path;
- rebuilds the table of contents from the rendered headings (mkdocs-jupyter's drops inline code);
- appends the tasks' hints (from course.toml, passed in as ``extra.course_hints``) to exercise pages;
- adds a link to download the notebook file (mkdocs-jupyter's ``include_source`` copies it next to the page).

After rendering, every page is checked: a ``<script src>`` or stylesheet ``<link>`` that points off the site
fails the build, so a theme update that starts loading from a CDN is caught here, not by a reader.
"""

from __future__ import annotations

import html
import json
import logging
import posixpath
import re
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.toc import get_toc

log = logging.getLogger("mkdocs.hooks.course_site")

_NBCONVERT_MERMAID = re.compile(
    r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*?</script>", re.DOTALL
)
_MATHJAX_CONFIG = re.compile(
    r"<script type=\"text/x-mathjax-config\">.*?</script>|<script>\s*window\.MathJax\s*=.*?</script>",
    re.DOTALL,
)
_MATHJAX_LOADER = re.compile(r"<script[^>]*\bsrc=\"[^\"]*(?:mathjax|MathJax)[^\"]*\"[^>]*>\s*</script>")
_EMPTY_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"\"[^>]*>\s*</script>")
_PRE_MERMAID = re.compile(r"<pre class=\"mermaid\">(.*?)</pre>", re.DOTALL)
_MERMAID_FENCE = re.compile(r"^```mermaid[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_NOTEBOOK_HREF = re.compile(r"href=\"([^\"#:?]+\.ipynb)(#[^\"]*)?\"")
_HEADING = re.compile(r"<h([1-6]) id=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.DOTALL)
_ANCHOR_LINK = re.compile(r"<a class=\"(?:anchor-link|headerlink)\"[^>]*>.*?</a>", re.DOTALL)
_REMOTE_ASSET = re.compile(
    r"<script[^>]*\bsrc=\"((?:https?:)?//[^\"]+)\"|<link[^>]*\bhref=\"((?:https?:)?//[^\"]+)\"[^>]*>",
    re.IGNORECASE,
)


#: Inside inline scripts and styles: a dynamic import or a CSS url()/@import of another site.
_INLINE_BLOCK = re.compile(r"<(script|style)\b[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
_INLINE_REMOTE = re.compile(
    r"""(?:\bimport\s*\(\s*|@import\s+|\burl\(\s*)["']?((?:https?:)?//[^"')\s]+)""", re.IGNORECASE
)
_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon"}


def _is_notebook(page: Any) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def mermaid_sources(notebook: dict[str, Any]) -> list[str]:
    """The notebook's ```mermaid blocks, in order, exactly as written in its markdown cells."""
    sources: list[str] = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            sources += [block.strip() for block in _MERMAID_FENCE.findall(text)]
    return sources


def clean_notebook_html(content: str, diagrams: list[str] | None = None) -> str:
    """Remove nbconvert's CDN scripts and hand mermaid blocks to the site's own renderer.

    nbconvert pastes a diagram's source into the HTML unescaped, so ``<br/>`` becomes an element and
    ``&quot;`` a bare quote, which mermaid then cannot parse. With ``diagrams`` (the sources from the
    notebook, see :func:`mermaid_sources`) each block is replaced by its exact source, HTML-escaped.
    """
    content = _NBCONVERT_MERMAID.sub("", content)
    content = _MATHJAX_CONFIG.sub("", content)
    content = _MATHJAX_LOADER.sub("", content)
    content = _EMPTY_SCRIPT.sub("", content)
    found = len(_PRE_MERMAID.findall(content))
    if diagrams is not None and found != len(diagrams):
        raise PluginError(f"found {found} mermaid blocks in the HTML but {len(diagrams)} in the notebook")
    numbered = iter(diagrams or [])

    def replace(match: re.Match[str]) -> str:
        if diagrams is None:
            return f'<pre class="nb-mermaid">{match.group(1)}</pre>'
        return f'<pre class="nb-mermaid">\n{html.escape(next(numbered), quote=False)}\n</pre>'

    return _PRE_MERMAID.sub(replace, content)


def rewrite_notebook_links(content: str, page: Any, files: Any) -> str:
    """Point links to ``*.ipynb`` files at the pages built from them (relative to this page's URL)."""

    def replace(match: re.Match[str]) -> str:
        target, anchor = html.unescape(match.group(1)), match.group(2) or ""
        source_dir = posixpath.dirname(page.file.src_uri)
        resolved = posixpath.normpath(posixpath.join(source_dir, target))
        found = files.get_file_from_path(resolved)
        if found is None and resolved.startswith("exercises/"):
            # A lesson may link its exercise before the assignment is released: no link rather than a 404.
            log.info("%s links to %s, which is not released yet", page.file.src_uri, target)
            return 'href="#" title="not published yet" aria-disabled="true"'
        if found is None:
            log.warning("%s links to %s, which is not a page of the site", page.file.src_uri, target)
            return match.group(0)
        return f'href="{html.escape(found.url_relative_to(page.file))}{anchor}"'

    return _NOTEBOOK_HREF.sub(replace, content)


def toc_tokens(content: str, *, depth: int = 3) -> list[dict[str, Any]]:
    """The page's table of contents, nested, from the headings nbconvert wrote (their ids and full text).

    mkdocs-jupyter builds its table of contents from a markdown copy of the notebook, which drops inline
    code from titles and so gives ``#is-silent-by-default`` for the heading nbconvert calls
    ``#grade_predictor-is-silent-by-default``: that link would lead nowhere.
    """
    root: dict[str, Any] = {"level": 0, "children": []}
    stack = [root]
    for match in _HEADING.finditer(content):
        level, anchor, inner = int(match.group(1)), match.group(2), match.group(3)
        if level > depth or not ("anchor-link" in inner or "headerlink" in inner):
            continue  # deeper than the toc shows, or a heading inside a cell's output
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", _ANCHOR_LINK.sub("", inner))).split())
        token = {"level": level, "id": anchor, "name": html.escape(text), "children": []}
        while stack[-1]["level"] >= level:
            stack.pop()
        stack[-1]["children"].append(token)
        stack.append(token)
    return root["children"]


def hints_html(tasks: list[dict[str, Any]]) -> str:
    """A "Hints" section for an exercise page: one folded box per task, as ``course hint`` prints them."""
    if not tasks:
        return ""
    import markdown

    boxes = [
        f'<details class="tip"><summary>Task {html.escape(t["id"])}: {html.escape(t["title"])} '
        f"({t['points']:g} points)</summary>\n{markdown.markdown(t['hint'])}\n</details>"
        for t in tasks
    ]
    return (
        '\n<div class="nb-hints">\n'
        '<h2 id="hints">Hints<a class="headerlink" href="#hints" title="Permanent link">¶</a></h2>\n'
        f"<p>Stuck on a task? Open its hint (the same text as "
        f"<code>uv run course hint {html.escape(tasks[0]['id'])}</code> in the repository).</p>\n"
        + "\n".join(boxes)
        + "\n</div>\n"
    )


def on_page_content(html_content: str, page: Any, config: Any, files: Any) -> str:
    """Clean a notebook page's body, fix its links and add its download link."""
    if not _is_notebook(page):
        return html_content
    with open(page.file.abs_src_path, encoding="utf-8") as source:
        diagrams = mermaid_sources(json.load(source))
    try:
        content = clean_notebook_html(html_content, diagrams)
    except PluginError as error:
        raise PluginError(f"{page.file.src_uri}: {error}") from None
    content = rewrite_notebook_links(content, page, files)
    content += hints_html(config["extra"].get("course_hints", {}).get(page.file.src_uri, []))
    page.toc = get_toc(toc_tokens(content))
    name = posixpath.basename(page.file.src_uri)
    download = (
        f'<p class="nb-download"><a href="{html.escape(name)}" download>'
        f"Download this notebook ({html.escape(name)})</a></p>\n"
    )
    return download + content


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Fail the build if the finished page would load a script or stylesheet from another site."""
    remote = [a or b for a, b in _REMOTE_ASSET.findall(output)]
    remote = [url for url in remote if not _is_harmless_link(url, output)]
    for _, body in _INLINE_BLOCK.findall(output):
        remote += _INLINE_REMOTE.findall(body)
    if remote:
        raise PluginError(f"{page.file.src_uri} would load from the internet: {sorted(set(remote))}")
    return output


def _is_harmless_link(url: str, output: str) -> bool:
    """``<link rel="canonical">`` and similar point elsewhere without loading anything."""
    for match in re.finditer(r"<link[^>]*>", output):
        tag = match.group(0)
        if url in tag:
            rel = re.search(r"\brel=\"([^\"]+)\"", tag)
            return bool(rel) and rel.group(1) not in _LOADING_RELS
    return False
