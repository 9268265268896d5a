// Parses Mermaid files with the real `mermaid` package, once per release asked for, and prints one JSON line
// per (release, file): {release, version, file, ok, diagramType, states: [{id, description, parent}],
// relations: [{from, to, label, parent}]} (read from the state diagram's document tree), or {…, ok: false, error}.
//
//   node check-mermaid.mjs [--release=mermaid-10,mermaid-11-4,mermaid] FILE…
//
// Releases are the npm aliases of package.json (pinned by package-lock.json): forges and editors embed older
// Mermaid releases than the newest, so every text is parsed by each. Default: every alias installed.
// Mermaid expects a browser: jsdom provides the window/document it (and DOMPurify) reads at import.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { JSDOM } from "jsdom";

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
const known = Object.keys(pkg.dependencies).filter((n) => n === "mermaid" || n.startsWith("mermaid-"));

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
for (const key of ["window", "document", "navigator", "Element", "HTMLElement", "SVGElement", "DOMParser", "Node"]) {
  if (globalThis[key] === undefined) globalThis[key] = key === "window" ? dom.window : dom.window[key];
}

const args = process.argv.slice(2);
const releaseArg = args.find((a) => a.startsWith("--release="));
const releases = releaseArg ? releaseArg.slice("--release=".length).split(",").filter(Boolean) : known;
const files = args.filter((a) => !a.startsWith("--"));
for (const r of releases) {
  if (!known.includes(r)) {
    console.error(`release inconnue : ${r} (connues : ${known.join(", ")})`);
    process.exit(2);
  }
}

function walker(states, relations) {
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
  return walk;
}

let failed = 0;
for (const release of releases) {
  const version = JSON.parse(readFileSync(require.resolve(`${release}/package.json`), "utf8")).version;
  const { default: mermaid } = await import(release);
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const base = { release, version, file };
    try {
      const result = await mermaid.parse(text);
      const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
      const states = [];
      const relations = [];
      if (typeof diagram.db.getRootDocV2 === "function") walker(states, relations)(diagram.db.getRootDocV2().doc, null);
      console.log(JSON.stringify({ ...base, ok: true, diagramType: (result && result.diagramType) || diagram.type, states, relations }));
    } catch (err) {
      failed += 1;
      console.log(JSON.stringify({ ...base, ok: false, error: String(err && err.message ? err.message : err) }));
    }
  }
}
process.exit(failed ? 1 : 0);
