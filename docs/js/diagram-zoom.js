// Zoom and pan for every drawing of the site (Graphviz SVG drawn at build time, Mermaid drawn in the browser).
// Our own few lines rather than a library: buttons, Ctrl + wheel, double click, drag, keyboard, full screen.
// The drawing's viewBox is what moves; the SVG always fills the full width of the page's content.
(function () {
  var MIN = 0.05, MAX = 3; // visible share of the drawing's width: 5 % (×20) to 300 % (÷3)

  function button(text, title, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", action);
    return b;
  }

  function setup(box) {
    var svg = box.querySelector(":scope > svg");
    if (!svg || box.dataset.zoom) return;
    box.dataset.zoom = "pret";
    var vb = svg.viewBox && svg.viewBox.baseVal;
    var full;
    if (vb && vb.width && vb.height) full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    else { var bb = svg.getBBox(); full = { x: bb.x, y: bb.y, w: bb.width, h: bb.height }; }
    var view = { x: full.x, y: full.y, w: full.w, h: full.h };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.style.maxWidth = "none";
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

    var frame = document.createElement("div");
    frame.className = "sw-zoom-vue";
    frame.tabIndex = 0;
    frame.setAttribute("aria-label", "Diagramme : Ctrl + molette ou + / − pour zoomer, flèches pour se déplacer");
    var tools = document.createElement("div");
    tools.className = "sw-zoom-outils";
    box.insertBefore(tools, svg);
    box.insertBefore(frame, svg);
    frame.appendChild(svg);

    function height() {
      var width = frame.clientWidth || box.clientWidth || 800;
      var natural = width * full.h / full.w;
      frame.style.height = Math.round(Math.max(260, Math.min(natural, window.innerHeight * 0.8))) + "px";
    }
    function apply() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }
    function fit() { view = { x: full.x, y: full.y, w: full.w, h: full.h }; apply(); }
    function toSvg(clientX, clientY) {
      var ctm = svg.getScreenCTM();
      if (!ctm) return { x: view.x + view.w / 2, y: view.y + view.h / 2 };
      var p = svg.createSVGPoint();
      p.x = clientX; p.y = clientY;
      return p.matrixTransform(ctm.inverse());
    }
    function zoom(factor, cx, cy) {
      var w = Math.min(Math.max(view.w * factor, full.w * MIN), full.w * MAX);
      var f = w / view.w;
      if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
      view = { x: cx - (cx - view.x) * f, y: cy - (cy - view.y) * f, w: w, h: view.h * f };
      apply();
    }
    function pan(dxUnits, dyUnits) { view.x += dxUnits; view.y += dyUnits; apply(); }

    tools.appendChild(button("+", "Zoomer", function () { zoom(1 / 1.4); }));
    tools.appendChild(button("-", "Dézoomer", function () { zoom(1.4); }));
    tools.appendChild(button("Ajuster", "Voir le diagramme entier", fit));
    if (frame.requestFullscreen) {
      tools.appendChild(button("Plein écran", "Afficher en plein écran", function () { box.requestFullscreen(); }));
    }
    if (box.dataset.svg) { // set by the docs build: the drawing's own file
      var real = document.createElement("a");
      real.href = box.dataset.svg;
      real.target = "_blank";
      real.rel = "noopener";
      real.textContent = "Taille réelle (SVG)";
      real.title = "Ouvrir le dessin seul, à sa taille réelle";
      tools.appendChild(real);
    }
    var hint = document.createElement("span");
    hint.className = "sw-zoom-aide";
    hint.textContent = "Ctrl + molette ou double clic pour zoomer, glisser pour se déplacer";
    tools.appendChild(hint);

    frame.addEventListener("wheel", function (e) {
      if (!e.ctrlKey && !e.metaKey) return; // the plain wheel scrolls the page
      e.preventDefault();
      var p = toSvg(e.clientX, e.clientY);
      zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
    }, { passive: false });
    frame.addEventListener("dblclick", function (e) {
      var p = toSvg(e.clientX, e.clientY);
      zoom(e.shiftKey ? 1.6 : 1 / 1.6, p.x, p.y);
    });
    var drag = null;
    frame.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, scale: 1 / ((svg.getScreenCTM() || { a: 1 }).a || 1) };
      frame.setPointerCapture(e.pointerId);
      frame.classList.add("sw-glisse");
    });
    frame.addEventListener("pointermove", function (e) {
      if (!drag) return;
      pan((drag.x - e.clientX) * drag.scale, (drag.y - e.clientY) * drag.scale);
      drag.x = e.clientX; drag.y = e.clientY;
    });
    function stop() { drag = null; frame.classList.remove("sw-glisse"); }
    frame.addEventListener("pointerup", stop);
    frame.addEventListener("pointercancel", stop);
    frame.addEventListener("keydown", function (e) {
      var step = view.w * 0.1;
      var keys = {
        "+": function () { zoom(1 / 1.4); }, "=": function () { zoom(1 / 1.4); }, "-": function () { zoom(1.4); },
        "0": fit, ArrowLeft: function () { pan(-step, 0); }, ArrowRight: function () { pan(step, 0); },
        ArrowUp: function () { pan(0, -step); }, ArrowDown: function () { pan(0, step); },
      };
      if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
    });
    window.addEventListener("resize", height);
    document.addEventListener("fullscreenchange", function () {
      frame.style.height = document.fullscreenElement === box ? "calc(100vh - 3em)" : "";
      if (document.fullscreenElement !== box) height();
    });
    height();
    apply();
    box.dataset.zoom = "actif";
  }

  function all() { document.querySelectorAll(".sw-diagramme").forEach(setup); }
  document.addEventListener("sw:diagrammes", all);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
})();
