// Draws the ```mermaid blocks of the pages with the mermaid package the docs build adds (scripts/mkdocs_hooks.py).
// The class is sw-mermaid, not "mermaid": the theme would otherwise fetch its own Mermaid from the network.
// When done, <html data-mermaid="fait"> and the "sw:diagrammes" event tell the zoom script (and the browser tests).
(function () {
  function done(state) {
    document.documentElement.dataset.mermaid = state;
    document.dispatchEvent(new CustomEvent("sw:diagrammes"));
  }
  function draw() {
    var blocks = document.querySelectorAll("pre > code.language-mermaid");
    if (!blocks.length) return done("fait");
    if (!window.mermaid) {
      console.error("Mermaid absent (js/mermaid.min.js) : les diagrammes restent du texte.");
      return done("absent");
    }
    var nodes = [];
    blocks.forEach(function (code) {
      var div = document.createElement("div");
      div.className = "sw-mermaid sw-diagramme";
      div.textContent = code.textContent;
      div.setAttribute("data-texte", code.textContent); // the source, kept for "copy" and for the checks
      code.parentElement.replaceWith(div);
      nodes.push(div);
    });
    // Our labels carry their own line breaks: no extra wrapping into narrow boxes (unreadable on the dossier).
    window.mermaid.initialize({
      startOnLoad: false, securityLevel: "strict", maxTextSize: 500000,
      markdownAutoWrap: false, flowchart: { wrappingWidth: 420 }, state: { useMaxWidth: false },
    });
    window.mermaid.run({ nodes: nodes }).then(function () { done("fait"); }, function (err) {
      console.error("Mermaid n'a pas pu dessiner un diagramme : " + err);
      done("erreur");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
