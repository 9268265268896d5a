// Parses Mermaid files with the real `mermaid` package and prints, per file, one JSON line:
// {file, ok, diagramType, states: [{id, description, parent}], relations: [{from, to, label, parent}]}
// (read from the state diagram's document tree), or {file, ok: false, error}.
// Mermaid expects a browser: jsdom provides the window/document it (and DOMPurify) reads at import.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
for (const key of ["window", "document", "navigator", "Element", "HTMLElement", "SVGElement", "DOMParser", "Node"]) {
  if (globalThis[key] === undefined) globalThis[key] = key === "window" ? dom.window : dom.window[key];
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  try {
    const result = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const states = [];
    const relations = [];
    const walk = (doc, parent) => {
      for (const stmt of doc || []) {
        if (stmt.stmt === "state") {
          states.push({ id: stmt.id, description: stmt.description ?? null, parent });
          walk(stmt.doc, stmt.id);
        } else if (stmt.stmt === "relation") {
          relations.push({ from: stmt.state1.id, to: stmt.state2.id, label: stmt.description ?? null, parent });
        }
      }
    };
    if (typeof diagram.db.getRootDocV2 === "function") walk(diagram.db.getRootDocV2().doc, null);
    console.log(JSON.stringify({ file, ok: true, diagramType: result.diagramType, states, relations }));
  } catch (err) {
    failed += 1;
    console.log(JSON.stringify({ file, ok: false, error: String(err && err.message ? err.message : err) }));
  }
}
process.exit(failed ? 1 : 0);
