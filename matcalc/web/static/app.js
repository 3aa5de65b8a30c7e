// matcalc's web page: live parsing, derivatives, proofs and permalinks.
// Plain ES2020, no framework. Text from the server or the user only ever goes into
// the page through textContent (never innerHTML): an expression can contain markup.
"use strict";

const EXAMPLES = [
  {title: "Paper: neuron activation", expression: "max(0, dot(w, x) + b)", wrt: ["w"]},
  {title: "Paper: the loss", expression: "mean((y - max(0, X@w + b))^2)", wrt: ["w"],
   shapes: {X: "N,n"}},
  {title: "Quadratic form", expression: "x'@A@x", wrt: ["x"]},
  {title: "Log-determinant", expression: "logdet(X)", wrt: ["X"]},
  {title: "Softmax cross-entropy", expression: "-sum(y * log(softmax(W@x)))", wrt: ["W"],
   shapes: {y: "k,prob"}},
  {title: "Batched MLP", expression: "0.5*sum((tanh(X @ W1 + b1) @ W2 + b2 - Y)**2)",
   wrt: ["W1"], shapes: {X: "N,n", W1: "n,h", b1: "h", W2: "h,k", b2: "k", Y: "N,k"}},
  {title: "Attention", expression: "sum(G * (softmax(Q @ K.T / 2, axis=1) @ V))", wrt: ["Q"],
   shapes: {Q: "N,d", K: "M,d", V: "M,e", G: "N,e"}},
  {title: "Hessian of the logistic loss", expression: "sum(log(1 + exp(-y * (X@w))))",
   wrt: ["w"], order: 2, shapes: {X: "N,n"}},
];

const LAYOUT_NOTES = {
  numerator: "∂f/∂x has the shape of f then of xᵀ: a gradient is a row, the Jacobian is " +
             "m×n (the paper's layout).",
  denominator: "The transpose: a gradient is a column with the shape of x (the Matrix " +
               "Cookbook's).",
  mixed: "A scalar's derivative by a matrix has the matrix's shape; vectors as in " +
         "numerator layout (matrixcalculus.org's).",
};
const LAYOUTS = Object.keys(LAYOUT_NOTES);
const STRUCTURES = ["sym", "spd", "prob"];
const TARGETS = ["numpy", "jax", "torch"];
const MARKS = {holds: "✓", fails: "✗", unproven: "?", skipped: "–"};
const defaults = () => ({expression: "", dialect: "default", wrt: [], order: 1,
                         layout: "numerator", shapes: {}});

// The whole state of the page: what the permalink holds. `shapes` holds only the
// declarations the user edited or that came from an example or a permalink.
const state = defaults();
let symbols = [];           // the symbols of the last successful parse
let codeTarget = "numpy";   // the code tab last chosen, for new results
const seq = {parse: 0, diff: 0, proof: 0};  // request counters: stale answers are ignored
let pending = 0;            // requests in flight
let debounce = null;        // the timer of a parse to come
const el = {};              // the page's elements, by name (see init)

// ------------------------------------------------------------------ helpers

// An element: `props` is its class, or an object of properties (attributes where the
// element has no such property: aria-label, data-name); then its text or children.
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  if (typeof props === "string") node.className = props;
  else for (const [k, v] of Object.entries(props || {})) {
    if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function katexOptions(displayMode = true) {
  return {displayMode, throwOnError: false, output: "html",
          macros: {"\\intertext": "\\text{#1}\\\\"}, maxSize: 20, maxExpand: 1000,
          strict: "ignore"};
}

// Typeset `tex` into `node` (DOM nodes, no innerHTML: the CSP forbids inline styles).
function math(node, tex, displayMode = true) {
  node.textContent = "";
  node.dataset.tex = tex;  // the source, as typeset (for readers and the tests)
  if (window.katex) katex.render(tex, node, katexOptions(displayMode));
  else node.append(h("code", "", tex));  // KaTeX did not load: show the source
  return node;
}

// A shape as the page shows it: [] is "scalar", [1, "n"] is "1×n".
const shapeText = (shape) => (shape && shape.length ? shape.join("×") : "scalar");
const errorText = (err) => (err.kind ? err.kind + ": " : "") + (err.message || err.text || "error");

// body[data-busy] is "1" from a keystroke until the last answer is in.
function updateBusy() {
  document.body.dataset.busy = pending > 0 || debounce !== null ? "1" : "0";
}

// POST a JSON body; resolves to {data} or {error} (an API error object), never throws.
async function post(url, body) {
  pending++;
  updateBusy();
  try {
    const resp = await fetch(url, {method: "POST", body: JSON.stringify(body),
                                   headers: {"Content-Type": "application/json"}});
    const data = await resp.json().catch(() => null);
    if (resp.ok && data) return {data};
    if (data && data.error) return {error: data.error};
    return {error: {kind: "server error", message: `HTTP ${resp.status} ${resp.statusText}`}};
  } catch (_) {
    return {error: {kind: "network error",
                    message: "the server did not answer (is matcalc serve running?)"}};
  } finally {
    pending--;
    updateBusy();
  }
}

// Copy text, with a fallback where the Clipboard API is missing (plain http, old browsers).
async function copyText(text, button) {
  let ok = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const area = h("textarea", {className: "offscreen", value: text});
    document.body.append(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
  }
  const label = button.dataset.label || (button.dataset.label = button.textContent);
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => { button.textContent = label; }, 1200);
}

// ------------------------------------------------------------------ request and permalink

// Only the declarations of names written in the expression are sent (that of a variable
// the user has since deleted is kept, in case it comes back).
function sentShapes() {
  const names = new Set(state.expression.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []);
  return Object.fromEntries(Object.entries(state.shapes).filter(([name]) => names.has(name)));
}

function request() {
  return {expression: state.expression, shapes: sentShapes(), dialect: state.dialect,
          wrt: state.wrt, order: state.order, layout: state.layout};
}

function writeHash() {
  const p = new URLSearchParams({e: state.expression});
  if (state.dialect === "matlab") p.set("d", "matlab");
  if (state.wrt.length) p.set("wrt", state.wrt.join(","));
  if (state.order !== 1) p.set("o", String(state.order));
  if (state.layout !== "numerator") p.set("l", state.layout);
  for (const [name, spec] of Object.entries(sentShapes())) p.append("shape", `${name}=${spec}`);
  history.replaceState(null, "", "#" + p.toString());
  el.permalink.href = location.href;
}

// The state in location.hash, or null when there is none.
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.has("e")) return null;
  const shapes = {};
  for (const item of p.getAll("shape")) {
    const i = item.indexOf("=");
    if (i > 0) shapes[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  const order = Number(p.get("o"));
  return {expression: p.get("e"), dialect: p.get("d") === "matlab" ? "matlab" : "default",
          wrt: (p.get("wrt") || "").split(",").map((s) => s.trim()).filter(Boolean),
          order: [1, 2, 3].includes(order) ? order : 1,
          layout: LAYOUTS.includes(p.get("l")) ? p.get("l") : "numerator", shapes};
}

// Replace the state (from a permalink or an example), show it in the controls, and run.
function load(next) {
  Object.assign(state, defaults(), next);
  el.expression.value = state.expression;
  el.dialect.value = state.dialect;
  el.order3.hidden = state.order !== 3;  // order 3 only comes from a permalink
  document.querySelector(`input[name=order][value="${state.order}"]`).checked = true;
  document.querySelector(`input[name=layout][value="${state.layout}"]`).checked = true;
  el.layoutNote.textContent = LAYOUT_NOTES[state.layout];
  growTextarea();
  symbols = [];
  renderSymbols();
  parseNow();
}

// ------------------------------------------------------------------ errors

// Show an API error in #error: its message, and under a copy of the expression's line
// a caret at the column; the input a field names (expression, shapes.W) is marked.
function showError(err) {
  el.error.textContent = "";
  el.error.append(h("div", "error-message", errorText(err)));
  const line = err.line && err.column && (err.field || "expression") === "expression" &&
               state.expression.split("\n")[err.line - 1];
  if (typeof line === "string") {
    // columns count code points; a control character shows as one space
    const chars = Array.from(line).map((c) => (c < " " ? " " : c));
    const col = Math.max(1, Math.min(err.column, chars.length + 1));
    el.error.append(h("pre", "error-caret", chars.join("") + "\n" + " ".repeat(col - 1) + "^"));
  }
  el.error.hidden = false;
  markInvalid(err.field || "");
}

function hideError() {
  el.error.hidden = true;
  el.error.textContent = "";
  markInvalid("");
}

function markInvalid(field) {
  for (const node of document.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
  const row = field.startsWith("shapes.") && rowOf(field.slice(7));
  const target = field === "expression" ? el.expression : row && row.querySelector(".shape");
  if (target) target.setAttribute("aria-invalid", "true");
}

// ------------------------------------------------------------------ parsing

function scheduleParse() {
  clearTimeout(debounce);
  debounce = setTimeout(() => { debounce = null; parseNow(); }, 300);
  updateBusy();
}

async function parseNow() {
  clearTimeout(debounce);
  debounce = null;
  const id = ++seq.parse;
  seq.diff++;  // a derivative of the previous input is now stale
  clearProof();
  writeHash();
  if (!state.expression.trim()) {
    hideError();
    showParsed(null);
    symbols = [];
    renderSymbols();
    renderResultHint("Type an expression, or choose an example.");
    return updateBusy();
  }
  const r = await post("/api/parse", {expression: state.expression, shapes: sentShapes(),
                                      dialect: state.dialect});
  if (id !== seq.parse) return;
  // after a bad expression, the table is that of the last one that parsed
  const badExpression = r.error && (r.error.field || "expression") === "expression";
  el.symbolsTable.classList.toggle("stale", !!badExpression);
  if (r.error) {
    showError(r.error);
    showParsed(null);
    return clearResult();
  }
  hideError();
  showParsed(r.data);
  symbols = r.data.symbols || [];
  // keep the chosen variables that are still there; else the first non-scalar one
  state.wrt = state.wrt.filter((n) => symbols.some((s) => s.name === n));
  if (!state.wrt.length && symbols.length) {
    state.wrt = [(symbols.find((s) => s.shape.length) || symbols[0]).name];
  }
  renderSymbols();
  writeHash();
  derive();
}

// The parsed input typeset, its shape and its warnings (none with p null).
function showParsed(p) {
  if (p) math(el.parsed, p.input.latex);
  else el.parsed.textContent = "";
  el.parsedShape.textContent = p ? "f: " + (p.description || shapeText(p.shape)) : "";
  el.parseWarnings.replaceChildren(...(p ? p.warnings || [] : []).map((w) => h("li", "", w)));
  el.parseWarnings.hidden = !el.parseWarnings.children.length;
}

// ------------------------------------------------------------------ symbols table

function rowOf(name) {
  return Array.from(el.symbolsBody.rows).find((row) => row.dataset.name === name) || null;
}

function makeRow(name) {
  const shape = h("input", {className: "shape", type: "text", spellcheck: false,
                            "aria-label": `shape of ${name}`});
  const structure = h("select", {className: "structure", "aria-label": `structure of ${name}`},
                      new Option("none", ""), ...STRUCTURES.map((s) => new Option(s, s)));
  const wrt = h("input", {className: "wrt", type: "checkbox",
                          "aria-label": `differentiate by ${name}`});
  // a declaration: the shape box, with the structure chosen appended (n,n,sym)
  const declare = () => {
    const spec = shape.value.trim();
    state.shapes[name] = structure.value ? `${spec},${structure.value}` : spec;
    parseNow();
  };
  shape.addEventListener("change", declare);
  structure.addEventListener("change", declare);
  wrt.addEventListener("change", () => {
    // the chosen ones in the table's order (that of first appearance in f)
    state.wrt = Array.from(el.symbolsBody.rows)
      .filter((row) => row.querySelector(".wrt").checked).map((row) => row.dataset.name);
    writeHash();
    derive();
  });
  return h("tr", {"data-name": name}, h("td", "name", h("code", "", name)), h("td", "", shape),
           h("td", "", structure), h("td", "description"), h("td", "by", wrt));
}

// Rows are kept by name, so that editing one does not lose the focus of another.
function renderSymbols() {
  const keep = new Set(symbols.map((s) => s.name));
  for (const row of Array.from(el.symbolsBody.rows)) {
    if (!keep.has(row.dataset.name)) row.remove();
  }
  for (const s of symbols) {
    const row = rowOf(s.name) || makeRow(s.name);
    el.symbolsBody.append(row);  // (re)appended in the order of first appearance
    const shape = row.querySelector(".shape");
    const structure = row.querySelector(".structure");
    // a spec that ends with a structure word (n,n,sym): the word goes to the menu
    const parts = String(s.spec || "").split(",");
    const word = STRUCTURES.includes(parts[parts.length - 1]) ? parts.pop() : "";
    if (document.activeElement !== shape) shape.value = parts.join(",");
    structure.value = STRUCTURES.includes(s.structure) ? s.structure : word;
    structure.disabled = !s.shape.length && !structure.value;  // a scalar has none
    row.querySelector(".description").textContent = s.description || shapeText(s.shape);
    row.querySelector(".wrt").checked = state.wrt.includes(s.name);
    row.classList.toggle("declared", !!s.declared);
  }
  el.symbolsEmpty.hidden = symbols.length > 0;
}

// ------------------------------------------------------------------ derivatives

async function derive() {
  const id = ++seq.diff;
  clearProof();
  if (!state.wrt.length) {
    return renderResultHint("Tick a variable in the ∂ by column to differentiate by it.");
  }
  const r = await post("/api/diff", {...request(), extras: ["code", "steps_latex"]});
  if (id !== seq.diff) return;
  if (r.error) {
    showError(r.error);
    return clearResult();
  }
  hideError();
  const ds = Array.isArray(r.data) ? r.data : [r.data];
  // a warning about the input shown with the derivative need not be shown twice
  const shown = new Set(ds.flatMap((d) => d.warnings || []));
  for (const li of Array.from(el.parseWarnings.children)) {
    if (shown.has(li.textContent)) li.remove();
  }
  el.parseWarnings.hidden = !el.parseWarnings.children.length;
  el.result.replaceChildren(...ds.map(renderDerivative));
  el.prove.disabled = false;
}

function clearResult() {
  el.result.textContent = "";
  el.prove.disabled = true;
}

function renderResultHint(text) {
  clearResult();
  el.result.append(h("p", "hint", text));
}

// A labelled block of display math (Kronecker form, index notation).
function labelled(cls, label, tex) {
  return h("div", cls, h("div", "label", label), math(h("div", "math"), tex));
}

function renderDerivative(d) {
  const box = h("div", "derivative", math(h("div", "equation"), d.derivative.equation));
  const meta = h("div", "meta", h("span", "result-shape", shapeText(d.shape)));
  if (d.layout_note) meta.append(h("span", "result-layout", d.layout_note));
  if (d.rule) meta.append(h("span", "result-rule", d.rule));
  box.append(meta);

  const kron = d.kronecker;
  if (kron && (kron.equation || kron.latex)) {
    const k = labelled("kronecker", "Kronecker form", kron.equation || kron.latex);
    if (kron.commutation) {
      k.append(h("div", "note", `K is the commutation matrix: K vec(${d.wrt}) = vec(${d.wrt}ᵀ).`));
    }
    box.append(k);
  }
  if (d.index && d.index.latex) box.append(labelled("index", "Index notation", d.index.latex));
  else if (d.index_note) box.append(h("div", "note", d.index_note));

  for (const w of d.warnings || []) box.append(h("div", "warning", w));

  if (d.steps_latex) {
    const body = h("div", "steps-body");
    const steps = h("details", "steps", h("summary", "", "Steps"), body);
    // typeset on first open: a long derivation costs time for nothing while closed
    steps.addEventListener("toggle", () => {
      if (steps.open && !body.firstChild) renderSteps(body, d.steps_latex);
    });
    box.append(steps);
  }
  box.append(renderCode(d));
  return box;
}

// The derivation is one align* block whose \intertext lines (each step's rule) KaTeX
// can only put in the first column, right-aligned and as wide as the widest of them.
// So each \intertext becomes a paragraph (wrapping text, inline math) and the equations
// between two of them an align* of their own; any other form is typeset as it is.
function renderSteps(node, tex) {
  const m = /^\s*\\begin\{align\*\}\n([\s\S]*)\n\\end\{align\*\}\s*$/.exec(tex);
  if (!m) return math(node, tex);
  let rows = [];
  const flush = () => {
    if (!rows.length) return;
    const body = rows.join("\n").replace(/\s*\\\\\s*$/, "");  // no empty last row
    node.append(math(h("div", "steps-math"), `\\begin{align*}\n${body}\n\\end{align*}`));
    rows = [];
  };
  for (const line of m[1].split("\n")) {
    const text = /^\\intertext\{(.*)\}$/.exec(line.trim());
    if (!text) {
      rows.push(line);
    } else {
      flush();
      node.append(textWithMath(text[1]));
    }
  }
  flush();
}

// LaTeX text with $...$ math (what \intertext holds) as a paragraph: the text unescaped
// (\_ \& \textbackslash{}...), the math typeset inline.
const TEXT_ESCAPES = {"\\textbackslash{}": "\\", "\\textasciitilde{}": "~",
                      "\\textasciicircum{}": "^"};
function textWithMath(tex) {
  const pieces = tex.split(/(?<!\\)\$/);  // at each $ not escaped as \$: odd pieces are math
  return h("p", "steps-text", ...pieces.map((piece, i) => (i % 2
    ? math(h("span"), piece, false)
    : piece.replace(/\\text(?:backslash|asciitilde|asciicircum)\{\}|\\([&%$#_{}])/g,
                    (all, ch) => ch || TEXT_ESCAPES[all]))));
}

// Tabs numpy / jax / torch over one <pre>, and the copy buttons.
function renderCode(d) {
  const code = d.code || {};
  const tabs = h("div", {className: "tabs", role: "tablist"});
  const text = h("code");
  const select = (target) => {
    codeTarget = target;
    for (const b of tabs.children) {
      b.classList.toggle("active", b.dataset.target === target);
      b.setAttribute("aria-selected", String(b.dataset.target === target));
    }
    text.textContent = code[target] || `# no ${target} code for this derivative`;
  };
  const button = (cls, label, onclick, props) =>
    h("button", {className: cls, type: "button", onclick, ...props}, label);
  for (const target of TARGETS) {
    tabs.append(button("tab", target, () => select(target), {"data-target": target, role: "tab"}));
  }
  const copyCode = button("copy-code", "Copy code", () => copyText(text.textContent, copyCode));
  const copyLatex = button("copy-latex", "Copy LaTeX",
                           () => copyText(d.derivative.equation, copyLatex));
  select(codeTarget);
  return h("div", "code-panel", h("div", "code-bar", tabs, h("div", "copy", copyCode, copyLatex)),
           h("pre", "code", text));
}

// ------------------------------------------------------------------ proofs

function clearProof() {
  seq.proof++;
  el.proof.hidden = true;
  el.proof.textContent = "";
}

async function prove() {
  clearProof();
  const id = seq.proof;
  el.proof.append(h("p", "hint", "Proving…"));
  el.proof.hidden = false;
  el.proof.scrollIntoView({block: "nearest"});  // it is below the result
  el.prove.disabled = true;
  const r = await post("/api/verify", request());
  if (id !== seq.proof) return;
  el.prove.disabled = false;
  el.proof.replaceChildren(h("h2", "", "Proof"));
  if (r.error) return el.proof.append(h("div", "error-message", errorText(r.error)));
  for (const rep of r.data.reports || []) {
    const verdict = rep.proved ? "proved" : rep.ok ? "no check fails, not all proved" : "FAILS";
    const cls = rep.proved ? "proved" : rep.ok ? "unproven" : "fails";
    el.proof.append(h("div", "report " + cls,
      h("div", "report-head", `${rep.derivative}: ${verdict}`),
      h("ul", "checks", ...(rep.checks || []).map((c) =>
        h("li", "check " + c.status, h("span", "mark", MARKS[c.status] || "•"),
          c.line || `${c.name}: ${c.status}`)))));
  }
}

// ------------------------------------------------------------------ wiring

function growTextarea() {  // one line high, growing with its text
  el.expression.style.height = "auto";
  el.expression.style.height = el.expression.scrollHeight + 2 + "px";
}

function init() {
  const $ = (id) => document.getElementById(id);
  Object.assign(el, {
    expression: $("expression"), dialect: $("dialect"), examples: $("examples"),
    parsed: $("parsed"), parsedShape: $("parsed-shape"), parseWarnings: $("parse-warnings"),
    error: $("error"), symbolsTable: $("symbols"), symbolsBody: $("symbols").tBodies[0],
    symbolsEmpty: $("symbols-empty"), layoutNote: $("layout-note"), order3: $("order-3"),
    prove: $("prove"), permalink: $("permalink"), result: $("result"), proof: $("proof"),
  });
  EXAMPLES.forEach((ex, i) => el.examples.append(new Option(`${i + 1}. ${ex.title}`, String(i))));

  el.expression.addEventListener("input", () => {
    state.expression = el.expression.value;
    el.examples.value = "";
    growTextarea();
    scheduleParse();
  });
  el.dialect.addEventListener("change", () => { state.dialect = el.dialect.value; parseNow(); });
  el.examples.addEventListener("change", () => {
    const {title, ...ex} = EXAMPLES[Number(el.examples.value)] || {};
    if (title) load({...ex, wrt: ex.wrt.slice(), shapes: {...ex.shapes}});
  });
  for (const radio of document.querySelectorAll("input[name=order], input[name=layout]")) {
    radio.addEventListener("change", () => {
      if (radio.name === "order") state.order = Number(radio.value);
      else state.layout = radio.value;
      el.layoutNote.textContent = LAYOUT_NOTES[state.layout];
      writeHash();
      derive();
    });
  }
  el.prove.addEventListener("click", prove);
  window.addEventListener("hashchange", () => { const s = readHash(); if (s) load(s); });

  const saved = readHash();
  if (saved) return load(saved);
  el.layoutNote.textContent = LAYOUT_NOTES[state.layout];
  el.permalink.href = location.href;
  renderResultHint("Type an expression, or choose an example.");
  updateBusy();
}

document.addEventListener("DOMContentLoaded", init);
