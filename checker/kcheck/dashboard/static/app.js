// kcheck explore: draws the JSON of /api/view (kcheck/dashboard/session.py) and sends the
// user's clicks back. Plain DOM, no build step, nothing from outside the package.
"use strict";

let view = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
  return e;
}

function show(value) {
  if (value === null) return "none";
  if (Array.isArray(value)) return "{" + value.map(show).join(", ") + "}";
  return String(value);
}

function fieldsText(fields) {
  return Object.entries(fields).map(([k, v]) => k + "=" + show(v)).join(" ");
}

function argsText(args) {
  return Object.entries(args || {}).map(([k, v]) => k + "=" + show(v)).join(", ");
}

function message(text, info) {
  const m = document.getElementById("message");
  m.hidden = !text;
  m.textContent = text || "";
  m.className = info ? "info" : "";
}

async function call(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  let answer;
  try {
    const r = await fetch(path, opts);
    answer = await r.json();
  } catch (err) {
    message("the dashboard's server did not answer: " + err);
    return false;
  }
  if (answer.error && !answer.steps) {
    message(answer.error);
    return false;
  }
  message("");
  draw(answer);
  return true;
}

function draw(v) {
  view = v;
  if (v.version !== undefined) shownVersion = v.version;
  document.getElementById("model").textContent = v.model;
  document.body.classList.toggle("broken", !!v.broken);
  document.getElementById("broken").hidden = !v.broken;
  if (v.broken) {
    // textContent: the diagnostics are text, never markup
    document.getElementById("broken-path").textContent = v.path;
    document.getElementById("diagnostics").textContent = v.diagnostics;
    if (v.note) message(v.note);
    return;
  }
  document.getElementById("origin").textContent = v.origin && v.origin !== "manual" ? v.origin : "";
  if (v.error) {
    message(v.error);
    return;
  }
  drawSteps(v);
  const last = v.steps[v.cursor];
  document.getElementById("step-title").textContent =
    "— step " + v.cursor + (last.action ? ": " + last.action + "(" + argsText(last.args) + ")" : ": initial state");
  document.getElementById("changes").textContent = v.changes.length ? "changed: " + v.changes.join(", ") : "";
  drawPicture(v.picture, new Set(v.changes.map((c) => c.split(/[. ]/)[0])));
  drawInvariants(v.invariants);
  drawEnabled(v.enabled);
  if (v.coverage) drawCoverage(v.coverage);
  if (v.simulated) drawSimulated(v.simulated);
  drawLive(v.live);
}

let polling = null;
let shownVersion = null;

// the model file is watched: the server reloads it when it was saved, and the page draws the
// new load (the dashboard, or the diagnostics of a file saved with errors)
async function pollModel() {
  try {
    const m = await (await fetch("/api/model")).json();
    if (shownVersion !== null && m.version !== shownVersion) {
      if (await call("/api/view") && view.note) message(view.note, !view.broken);
    }
  } catch (err) {
    // the server stopped: say so once the next call fails
  }
}
setInterval(pollModel, 1000);

function drawLive(live) {
  const box = document.getElementById("live");
  box.hidden = !live;
  if (!live) return;
  const status = live.problem ? "stopped following: " + live.problem
    : live.ended ? "run ended: " + live.ended
    : live.waiting ? "waiting for " + live.path + "…" : "following " + live.path + ", step " + live.steps;
  document.getElementById("live-status").textContent = status;
  if (live.fired) {
    const never = Object.keys(live.fired).filter((a) => !live.fired[a]);
    document.getElementById("live-status").append(el("div", { id: "live-coverage" },
      "fired in the run: " + Object.entries(live.fired).filter(([, n]) => n).map(([a, n]) => a + " ×" + n).join(", ")
      + (never.length ? "; never: " + never.join(", ") : "")));
  }
  const ol = document.getElementById("events");
  ol.replaceChildren(...live.events.map((e) => el("li", { class: e.type, value: e.step },
    e.time.toFixed(2) + "s " + e.reason + " " + e.from + " " + e.object + " " + e.message)));
  ol.scrollTop = ol.scrollHeight;
  const active = !live.problem && !live.ended;
  if (active && polling === null) polling = setInterval(() => call("/api/view"), 1000);
  if (!active && polling !== null) { clearInterval(polling); polling = null; }
}

function drawCoverage(c) {
  const root = document.getElementById("coverage");
  root.className = "";
  const head = c.complete
    ? "all " + c.states + " reachable states (up to symmetry)"
    : "the first " + c.states + " states only (" + c.limit + ")";
  root.replaceChildren(el("div", {}, head + (c.never.length ? "; never fired: " + c.never.join(", ") : "; every action fired")),
    el("table", {}, el("tr", {}, el("th", {}, "action"), el("th", {}, "fired"), el("th", {}, "failed")),
      ...c.actions.map((a) => el("tr", { class: a.fired ? "" : "never", "data-action": a.action },
        el("td", {}, a.action), el("td", {}, a.fired), el("td", {}, a.failed)))));
}

// the coverage of an opened `kcheck simulate --format json` report (spec/simulate.md)
function drawSimulated(c) {
  const root = document.getElementById("simulated");
  root.hidden = false;
  const head = c.traces + " simulated traces of up to " + c.depth + " steps (seed " + show(c.seed) + ")";
  root.replaceChildren(el("h2", {}, "Simulated coverage"),
    el("div", {}, head + (c.never.length ? "; never fired: " + c.never.join(", ") : "; every action fired")),
    el("table", {}, el("tr", {}, el("th", {}, "action"), el("th", {}, "fired"), el("th", {}, "enabled, not taken"), el("th", {}, "deepest step")),
      ...c.actions.map((a) => el("tr", { class: a.fired ? "" : "never", "data-action": a.action },
        el("td", {}, a.action), el("td", {}, a.fired), el("td", {}, a.enabled_not_taken), el("td", {}, a.fired ? a.max_depth : "-")))));
}

function drawSteps(v) {
  const ol = document.getElementById("steps");
  ol.replaceChildren();
  v.steps.forEach((s, i) => {
    const label = s.action ? s.action + "(" + argsText(s.args) + ")" : "initial state";
    const li = el("li", { "data-index": i }, el("button", { class: "step", onclick: () => call("/api/jump", { step: i }) }, label));
    if (i === v.cursor) li.classList.add("current");
    if (v.loop_start !== null && i >= v.loop_start) li.classList.add("loop");
    if (v.loop_start !== null && i === v.loop_start && v.loop_start < v.steps.length - 1) li.classList.add("loop-start");
    ol.append(li);
  });
  const end = document.getElementById("ending");
  end.replaceChildren();
  if (v.ending) end.append("then " + v.ending.action + "(" + argsText(v.ending.args) + ") fails: " + v.ending.error);
  if (v.loop_start !== null) {
    end.append(el("div", {}, v.loop_start < v.steps.length - 1
      ? "↻ the last state is step " + v.loop_start + "'s again: the loop repeats forever"
      : "the behaviour stays in its last state forever"));
  }
}

function podBox(p, changed) {
  const title = fieldsText(p.fields);
  const box = el("div", { class: "pod " + p.class + (changed.has(p.name) ? " changed" : ""), "data-name": p.name, title: title },
    el("b", {}, p.name), p.phase !== null ? " " + p.phase : "", p.cpu !== null ? " cpu " + p.cpu : "");
  return box;
}

function drawPicture(pic, changed) {
  const root = document.getElementById("picture");
  root.replaceChildren();
  if (pic.note) root.append(el("p", { class: "note" }, pic.note));
  if (pic.budgets.length) {
    root.append(el("div", { class: "budgets" }, "Fault budgets left: ",
      ...pic.budgets.map((b) => el("span", { class: "budget", "data-fault": b.fault }, b.fault + " ", el("b", {}, b.left + "/" + b.budget)))));
  }
  if (Object.keys(pic.vars).length) root.append(el("div", { class: "vars" }, fieldsText(pic.vars)));
  if (pic.node_kind) {
    const nodes = el("div", { class: "nodes" });
    for (const n of pic.nodes) {
      let cls = "node";
      if (n.ready === false) cls += " notready";
      if (n.overcommitted) cls += " over";
      if (changed.has(n.name)) cls += " changed";
      const box = el("div", { class: cls, "data-name": n.name },
        el("h3", {}, n.name, n.ready === false ? " (not ready)" : ""),
        el("div", { class: "fields" }, fieldsText(n.fields)));
      if (n.used !== null && n.capacity !== null) {
        const pct = Math.min(100, n.capacity > 0 ? (100 * n.used) / n.capacity : 100);
        box.append(el("div", { class: "bar" + (n.overcommitted ? " over" : ""), title: "requested / capacity" },
          el("div", { class: "fill", style: "width:" + pct + "%" }),
          el("div", { class: "label" }, n.used + " / " + n.capacity + (n.overcommitted ? " OVERCOMMITTED" : ""))));
      }
      box.append(el("div", { class: "pods" }, ...n.pods.map((p) => podBox(p, changed))));
      nodes.append(box);
    }
    root.append(nodes);
  }
  if (pic.pod_kind) {
    root.append(el("div", { class: "unplaced" }, el("b", {}, pic.placed ? pic.pod_kind + " not on a " + pic.node_kind + ": " : pic.pod_kind + " (the model does not place them on nodes): "),
      pic.unplaced.length ? el("div", { class: "pods" }, ...pic.unplaced.map((p) => podBox(p, changed))) : "none"));
  }
  if (pic.service_kind) root.append(drawServices(pic, changed));
  for (const t of pic.tables) {
    const table = el("table", { "data-kind": t.kind },
      el("caption", {}, t.cache_of ? t.kind + " (cache of " + t.cache_of + ")" : t.kind),
      el("tr", {}, el("th", {}, "name"), ...t.columns.map((c) => el("th", {}, c)), t.cache_of ? el("th", {}, "stale") : null));
    if (!t.rows.length) table.append(el("tr", {}, el("td", { colspan: t.columns.length + 2 }, "(empty)")));
    for (const r of t.rows) {
      const tr = el("tr", { class: (r.stale ? "stale" : "") + (changed.has(r.name) ? " changed" : "") },
        el("td", {}, r.name), ...r.cells.map((c) => el("td", {}, show(c))),
        t.cache_of ? el("td", { class: "stale" }, r.stale || "") : null);
      table.append(tr);
    }
    root.append(table);
  }
}

// a service as a box listing its endpoints: the pods it selects, ready or not as `kcheck run`
// reads it; hovering or clicking an endpoint highlights its pod in its node's box
function drawServices(pic, changed) {
  const root = el("div", { class: "services" });
  for (const s of pic.services) {
    const list = el("ul", { class: "endpoints" });
    for (const e of s.endpoints) {
      const pod = () => document.querySelector('#picture .pod[data-name="' + e.pod + '"]');
      const mark = (on) => { const p = pod(); if (p) p.classList.toggle("linked", on); };
      list.append(el("li", { class: "endpoint " + (e.ready ? "ready" : "notready"), "data-pod": e.pod,
        onmouseenter: () => mark(true), onmouseleave: () => mark(false),
        onclick: () => { const p = pod(); if (p) { p.scrollIntoView({ block: "nearest" }); mark(true); } } },
      e.pod, e.node ? " on " + e.node : "", e.phase !== null ? " " + e.phase : "", e.ready ? " ✔ ready" : " ✘ not ready"));
    }
    if (!s.endpoints.length) list.append(el("li", { class: "note" }, "no pod selected"));
    const others = Object.fromEntries(Object.entries(s.fields).filter(([k]) => k !== s.selector));
    root.append(el("div", { class: "service" + (changed.has(s.name) ? " changed" : ""), "data-name": s.name },
      el("h3", {}, s.name, " selects " + s.pod_field + " = " + show(s.selects)),
      Object.keys(others).length ? el("div", { class: "fields" }, fieldsText(others)) : null,
      el("div", {}, "selected pods, " + s.endpoints.filter((e) => e.ready).length + " ready (the endpoints `kcheck run` routes to):"),
      list));
  }
  return root;
}

function drawInvariants(invs) {
  const ul = document.getElementById("invariants");
  ul.replaceChildren(...invs.map((i) => {
    const li = el("li", { class: i.holds ? "holds" : "broken", "data-name": i.name, title: "line " + i.line },
      i.name, i.error ? " (" + i.error + ")" : "");
    if (i.terms && i.terms.length) {
      const open = opened.has(i.name) || !i.holds;
      const details = el("details", open ? { open: "" } : {}, el("summary", {}, "values"),
        ...i.terms.map((t) => el("div", { class: "term" + (t.value === false ? " false" : ""), style: "padding-left:" + t.depth + "em" },
          t.expr, t.value === null ? "" : " = ", t.value === null ? "" : el("b", {}, termValue(t.value)))));
      details.addEventListener("toggle", () => { if (details.open) opened.add(i.name); else opened.delete(i.name); });
      li.append(details);
    }
    return li;
  }));
}

const opened = new Set();

function termValue(v) {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return "error: " + v.error;
  return show(v);
}

function drawEnabled(actions) {
  const ul = document.getElementById("enabled");
  if (!actions.length) {
    ul.replaceChildren(el("li", { class: "note" }, "no action is enabled: the behaviour stops here"));
    return;
  }
  ul.replaceChildren(...actions.map((a) => {
    const label = a.action + "(" + argsText(a.args) + ")";
    if (a.error) return el("li", {}, el("button", { disabled: "" }, label, el("span", { class: "fails" }, " fails: " + a.error)));
    return el("li", {}, el("button", { class: "take", "data-action": a.action, onclick: () => call("/api/take", { index: a.index, at: view.cursor }) },
      label, el("span", { class: "changes" }, a.changes.join(", "))));
  }));
}

async function pollCheck(first) {
  let p;
  try {
    p = await (await fetch("/api/check", first ? { method: "POST" } : {})).json();
  } catch (err) {
    message("the dashboard's server did not answer: " + err);
    return;
  }
  const status = document.getElementById("check-status");
  const bar = el("progress", { id: "check-progress" });
  if (p.running) {
    status.replaceChildren(bar, " " + p.states + " states, depth " + p.depth + ", " + p.seconds.toFixed(1) + " s");
    setTimeout(() => pollCheck(false), 500);
    return;
  }
  if (p.verdict === undefined) {  // the model was reloaded while it ran: no check of this one
    status.replaceChildren();
    return;
  }
  if (p.error) {
    status.replaceChildren();
    message(p.error);
    return;
  }
  status.replaceChildren(el("span", { class: "verdict " + p.verdict, id: "check-verdict" }, p.verdict), " " + p.states + " states");
  const broken = (p.summary || []).filter((x) => x.status !== "holds").map((x) => x.name + ": " + x.status);
  message("check: " + p.verdict + " (" + p.states + " states, " + p.seconds.toFixed(1) + " s)" + (broken.length ? "; " + broken.join(", ") : ""), true);
  call("/api/view").then(() => {
    if (p.verdict !== "holds") message("check: " + p.verdict + "; " + broken.join(", ") + (view.origin.startsWith("counterexample") ? "; showing the counterexample of " + view.origin.slice(16) : ""), true);
  });
}
document.getElementById("check-go").addEventListener("click", () => pollCheck(true));
document.getElementById("coverage-go").addEventListener("click", () => {
  document.getElementById("coverage").textContent = "exploring…";
  call("/api/coverage", {});
});
document.getElementById("back").addEventListener("click", () => call("/api/back", {}));
document.getElementById("restart").addEventListener("click", () => call("/api/restart", { initial: 0 }));
document.getElementById("report-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const text = await file.text();
  ev.target.value = "";
  if (await call("/api/report", { text: text })) {
    message("opened " + file.name + (view.origin !== "manual" ? ": " + view.origin : "")
      + (view.simulated ? " (its coverage: under Simulated coverage)" : ""), true);
  }
});
document.getElementById("follow-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  call("/api/follow", { path: document.getElementById("follow-input").value });
});
document.getElementById("search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const expr = document.getElementById("search-input").value;
  message("searching…", true);
  if (await call("/api/search", { expr: expr })) message("found: a shortest path of " + (view.steps.length - 1) + " steps", true);
});
document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT" || !view || !view.steps) return;
  if (ev.key === "ArrowLeft" && view.cursor > 0) call("/api/jump", { step: view.cursor - 1 });
  if (ev.key === "ArrowRight" && view.cursor < view.steps.length - 1) call("/api/jump", { step: view.cursor + 1 });
});
call("/api/view");
