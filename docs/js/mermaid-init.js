// Draws the ```mermaid blocks of the pages with the mermaid package copied by scripts/mkdocs_hooks.py.
window.addEventListener("load", function () {
  if (!window.mermaid) return; // renderer absent: the diagram stays readable as text
  document.querySelectorAll("pre > code.language-mermaid").forEach(function (code) {
    var div = document.createElement("div");
    div.className = "mermaid";
    div.textContent = code.textContent;
    code.parentElement.replaceWith(div);
  });
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  window.mermaid.run({ querySelector: "div.mermaid" });
});
