// Loads an SCXML document with SCION (an independent SCXML interpreter) and prints one JSON object:
// the states and transitions SCION read, and, for each run given in RUNS.json (a list of event-name
// lists), the configuration after the start and after every event.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const scxml = require("@scion-scxml/scxml");

const [file, runsFile] = process.argv.slice(2);
const runs = runsFile ? JSON.parse(fs.readFileSync(runsFile, "utf8")) : [];

function fail(stage, err) {
  console.log(JSON.stringify({ ok: false, stage, error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}

function walk(node, parent, states, transitions) {
  for (const child of node.states || []) {
    const attrs = Object.fromEntries(Object.entries(child).filter(([k]) => k.startsWith("{")));
    states.push({ id: child.id, type: child.$type, parent, attrs });
    for (const t of child.transitions || []) {
      const tattrs = Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith("{")));
      transitions.push({ source: child.id, event: t.event, target: t.target || null, type: t.type || null, attrs: tattrs });
    }
    walk(child, child.id, states, transitions);
  }
}

scxml.documentStringToModel(path.resolve(file), fs.readFileSync(file, "utf8"), (err, model) => {
  if (err) fail("lecture", err);
  model.prepare((err2, fnModel) => {
    if (err2) fail("compilation", err2);
    const states = [];
    const transitions = [];
    walk(fnModel({}), null, states, transitions);
    let results;
    try {
      results = runs.map((events) => {
        const sc = new scxml.core.Statechart(fnModel);
        const configurations = [sc.start()];
        for (const name of events) configurations.push(sc.gen({ name }));
        return { events, configurations, final: sc.isFinal() };
      });
    } catch (err3) {
      fail("execution", err3);
    }
    console.log(JSON.stringify({ ok: true, states, transitions, runs: results }));
  });
});
