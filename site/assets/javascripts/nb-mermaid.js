/* Draw the notebooks' mermaid diagrams with the vendored mermaid, as inline SVG, with no network.
 *
 * site/hooks.py renames nbconvert's <pre class="mermaid"> to <pre class="nb-mermaid"> so that neither
 * nbconvert's CDN module nor mkdocs-material's unpkg loader touches them. This script loads
 * assets/vendor/mermaid/mermaid.min.js only on pages that have a diagram, renders each block and puts the
 * <svg> in its place. A diagram mermaid cannot parse stays on the page as text, marked, and the error goes
 * to the console (the site's browser tests treat console errors as failures).
 */
(function () {
  "use strict";

  var here = document.currentScript && document.currentScript.src;
  var mermaidUrl = new URL("../vendor/mermaid/mermaid.min.js", here || document.baseURI).href;

  function loadMermaid() {
    if (window.mermaid) {
      return Promise.resolve(window.mermaid);
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = mermaidUrl;
      script.onload = function () { resolve(window.mermaid); };
      script.onerror = function () { reject(new Error("could not load " + mermaidUrl)); };
      document.head.appendChild(script);
    });
  }

  function darkScheme() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }

  async function drawAll() {
    var blocks = Array.prototype.slice.call(document.querySelectorAll("pre.nb-mermaid:not([data-nb-drawn])"));
    if (blocks.length === 0) {
      return;
    }
    var mermaid = await loadMermaid();
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: darkScheme() ? "dark" : "default",
      flowchart: { htmlLabels: false },
    });
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      block.setAttribute("data-nb-drawn", "");
      var holder = block.closest(".jp-Mermaid") || block.parentNode;
      try {
        var result = await mermaid.render("nb-mermaid-" + i, block.textContent);
        var figure = document.createElement("div");
        figure.className = "nb-mermaid-diagram";
        figure.innerHTML = result.svg;
        holder.parentNode.insertBefore(figure, holder);
        holder.hidden = true;
      } catch (error) {
        block.classList.add("nb-mermaid-error");
        console.error("mermaid could not draw diagram " + (i + 1) + ":", error);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
