// The playground: builds requests from the inputs, follows a job's event stream with EventSource,
// and draws the loss, the path over a contour of the loss, and the recorded tape. All state lives in
// the URL's fragment so that an experiment can be shared as a link.
//
// Nothing that comes from the URL or from a response is ever parsed as HTML: text goes in with
// textContent and elements are built with the DOM. Plotly reads its text as a little HTML of its own
// (<br>, <b>, <a>), so names and formula text go to plotly through plotlyText. The page runs under a
// strict Content-Security-Policy: no inline script, style or handler, and no eval.
"use strict";

const $ = id => document.getElementById(id);

const examples = {
  paraboloid: {
    formula: "0.2*x1^2 + 0.2*x2^2 - 5", parameters: '{"x1": 2, "x2": 2}', constants: "{}", data: "",
    optimizer: "sgd", learningRate: "0.1", momentum: "", maxIterations: "200", tolerance: "", recordEvery: "1",
  },
  rosenbrock: {
    formula: "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", parameters: '{"x": [-1, 1]}', constants: '{"a": 1, "b": 5}', data: "",
    optimizer: "sgd", learningRate: "0.01", momentum: "", maxIterations: "1000", tolerance: "", recordEvery: "1",
  },
  lab: {
    formula: "mean((y - (b0 + b1*x))^2)", parameters: '{"b0": 0, "b1": 0}', constants: "{}", data: "lab:1",
    optimizer: "sgd", learningRate: "0.1", momentum: "", maxIterations: "2000", tolerance: "", recordEvery: "10",
  },
};

const fields = {
  formula: "formula", parameters: "parameters", constants: "constants", optimizer: "optimizer",
  learningRate: "learning-rate", momentum: "momentum", maxIterations: "max-iterations", tolerance: "tolerance",
  recordEvery: "record-every", axisX: "axis-x", axisY: "axis-y",
};

let state = { ...examples.rosenbrock, axisX: "", axisY: "" };
let run = null;          // { id, source, points: [], values: [], iterations: [], seen: Set }
let uploadedLab = {};    // "lab:seed" -> dataset id
let surfaceBox = null;
let drawPending = false;
let lastDraw = 0;
const drawInterval = 150; // ms between redraws while events stream in

// ----- State and URL -----

function readInputs() {
  for (const [key, id] of Object.entries(fields)) state[key] = $(id).value;
}

function writeInputs() {
  for (const [key, id] of Object.entries(fields)) if (key !== "axisX" && key !== "axisY") $(id).value = state[key] ?? "";
  updateAxes();
  $("dataset-row").hidden = !state.data;
  $("dataset-id").textContent = state.data ? `${state.data} (generated: y = 1 + x + e, 200 rows)` : "";
}

function saveToUrl() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) if (value !== "" && value != null) params.set(key, value);
  history.replaceState(null, "", "#" + params.toString());
}

function loadFromUrl() {
  if (location.hash.length < 2) return false;
  const params = new URLSearchParams(location.hash.slice(1));
  state = { formula: "", parameters: "{}", constants: "{}", data: "", optimizer: "sgd", learningRate: "", momentum: "",
    maxIterations: "100", tolerance: "", recordEvery: "1", axisX: "", axisY: "" };
  // Only the known keys: a link cannot add properties of its own to the state.
  for (const [key, value] of params) if (Object.hasOwn(state, key)) state[key] = value;
  return true;
}

// ----- Parameters -----

function parseJson(text, id, what) {
  clearError(id);
  try {
    const value = JSON.parse(text.trim() || "{}");
    if (typeof value !== "object" || Array.isArray(value) || value === null) throw new Error(`${what} must be a JSON object, e.g. {"x": [-1, 1]}`);
    return value;
  } catch (e) {
    showError(id, `${what}: ${e.message}`);
    return null;
  }
}

/** Labels of the flattened parameter elements: "b0", or "x[1]", "x[2]" for a vector. */
function elementLabels(parameters) {
  const labels = [];
  for (const [name, value] of Object.entries(parameters ?? {})) {
    if (Array.isArray(value)) value.forEach((_, i) => labels.push(`${name}[${i + 1}]`));
    else labels.push(name);
  }
  return labels;
}

function elementValue(parameters, label) {
  const match = /^(\w+)\[(\d+)\]$/.exec(label);
  return match ? parameters[match[1]]?.[Number(match[2]) - 1] : parameters[label];
}

function updateAxes() {
  let parameters;
  try { parameters = JSON.parse(state.parameters || "{}"); } catch { return; }
  const labels = elementLabels(parameters);
  $("axes").hidden = labels.length <= 2;
  for (const [key, id, fallback] of [["axisX", "axis-x", 0], ["axisY", "axis-y", 1]]) {
    const select = $(id);
    select.replaceChildren(...labels.map(l => new Option(l, l)));
    if (!labels.includes(state[key])) state[key] = labels[fallback] ?? "";
    select.value = state[key];
  }
}

// ----- Errors -----

function showError(id, message) { const el = $(id); el.textContent = message; el.hidden = false; }
function clearError(id) { const el = $(id); el.textContent = ""; el.hidden = true; }
function clearErrors() {
  for (const id of ["formula-error", "parameters-error", "constants-error", "dataset-error", "optimizer-error", "stopping-error", "general-error"]) clearError(id);
}

/** Shows a problem (RFC 9457) next to the input it concerns; a formula error points at its column. */
function showProblem(problem) {
  const field = problem.field ?? "";
  let message = problem.detail ?? problem.title ?? "The request failed.";
  if (field === "expression" && problem.column) {
    const column = problem.column;
    const lines = state.formula.split("\n");
    const caret = " ".repeat(Math.max(0, column - 1)) + "^".repeat(Math.max(1, Math.min(problem.length ?? 1, 40)));
    showError("formula-error", `${lines.join(" ")}\n${caret}\ncolumn ${column}: ${message}`);
  } else if (field.startsWith("parameters")) showError("parameters-error", message);
  else if (field.startsWith("constants")) showError("constants-error", message);
  else if (field.startsWith("data") || field === "dataset") showError("dataset-error", message);
  else if (field.startsWith("optimizer")) showError("optimizer-error", message);
  else if (["maxIterations", "gradientNormTolerance", "recordEvery"].includes(field)) showError("stopping-error", message);
  else showError("general-error", message);
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) { showProblem(json ?? { detail: `${response.status} ${response.statusText}` }); return null; }
  return json;
}

// ----- The lab's data, generated here from a seed -----

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function datasetId() {
  if (!state.data) return null;
  if (uploadedLab[state.data]) return uploadedLab[state.data];
  const seed = Number(state.data.split(":")[1] ?? 1);
  const random = mulberry32(seed);
  const x = [], y = [];
  for (let i = 0; i < 200; i++) {
    const xi = 2 * random();
    const noise = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    x.push(xi); y.push(1 + xi + 0.25 * noise);
  }
  const created = await post("datasets", { columns: { x, y } });
  if (!created) return undefined;
  uploadedLab[state.data] = created.id;
  $("dataset-info").textContent = `stored as ${created.id}`;
  return created.id;
}

// ----- Requests -----

async function baseRequest() {
  readInputs();
  saveToUrl();
  clearErrors();
  const parameters = parseJson(state.parameters, "parameters-error", "Parameters");
  const constants = parseJson(state.constants, "constants-error", "Constants");
  if (!parameters || !constants) return null;
  const dataset = await datasetId();
  if (dataset === undefined) return null;
  const request = { expression: state.formula, parameters, constants };
  if (dataset) request.dataset = dataset;
  return request;
}

async function start() {
  const request = await baseRequest();
  if (!request) return;
  request.optimizer = { type: state.optimizer };
  if (state.learningRate !== "") request.optimizer.learningRate = Number(state.learningRate);
  if (state.momentum !== "") request.optimizer.momentum = Number(state.momentum);
  request.maxIterations = Number(state.maxIterations);
  request.recordEvery = Number(state.recordEvery || 1);
  if (state.tolerance !== "") request.gradientNormTolerance = Number(state.tolerance);
  stopFollowing();
  const job = await post("minimize", request);
  if (!job) return;
  follow(job.id, request.parameters);
}

function follow(id, startParameters) {
  run = { id, start: startParameters, labels: elementLabels(startParameters), iterations: [], values: [], path: [], seen: new Set(), done: false };
  surfaceBox = null;
  $("status").textContent = `Job ${id}: queued`;
  $("final-params").textContent = "–";
  $("start").disabled = true;
  $("cancel").disabled = false;
  const source = new EventSource(`minimize/${id}/events`);
  run.source = source;
  source.addEventListener("iteration", event => {
    const progress = JSON.parse(event.data);
    if (run?.id !== id || run.seen.has(progress.iteration)) return;
    run.seen.add(progress.iteration);
    run.iterations.push(progress.iteration);
    run.values.push(progress.value);
    run.path.push(run.labels.map(l => elementValue(progress.parameters, l)));
    run.latest = progress;
    $("status").textContent = `Job ${id}: running`;
    scheduleDraw();
  });
  source.addEventListener("decimated", event => {
    $("status").textContent = `Job ${id}: ${JSON.parse(event.data).message}`;
  });
  source.addEventListener("completed", event => {
    source.close();
    if (run?.id !== id) return;
    const completed = JSON.parse(event.data);
    run.done = true;
    run.completed = completed;
    $("status").textContent = `Job ${id}: ${completed.status} (${completed.stopReason}). ${completed.message}`;
    $("final-params").textContent = formatParameters(completed.parameters, 4);
    $("start").disabled = false;
    $("cancel").disabled = true;
    scheduleDraw(true);
  });
  // EventSource reconnects by itself after a dropped connection and sends Last-Event-ID, so the
  // service resumes after the last iteration seen: no gap and no duplicate.
  source.onerror = () => { if (run?.id === id && !run.done) $("status").textContent = `Job ${id}: reconnecting…`; };
}

function stopFollowing() {
  run?.source?.close();
  run = null;
}

async function cancel() {
  if (!run) return;
  await fetch(`minimize/${run.id}`, { method: "DELETE" });
}

async function explain() {
  const request = await baseRequest();
  if (!request) return;
  request.explain = true;
  const response = await post("gradient", request);
  if (!response) return;
  drawTape(response.tape);
}

// ----- Drawing -----

/** Text for plotly, which reads <tags> and &entities; in its strings: shown as written, never as markup. */
function plotlyText(text) {
  return String(text).replace(/[&<>]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}

function fmt(v, digits = 6) {
  if (Array.isArray(v)) return "[" + v.slice(0, 4).map(x => fmt(x, digits)).join(", ") + (v.length > 4 ? ", …" : "") + "]";
  return typeof v === "number" ? String(Number(v.toPrecision(digits))) : String(v);
}

function formatParameters(parameters, decimals) {
  return Object.entries(parameters ?? {}).map(([name, value]) =>
    `${name}: ${Array.isArray(value) ? "[" + value.map(v => v.toFixed(decimals)).join(", ") + "]" : value.toFixed(decimals)}`).join("; ");
}

function scheduleDraw(final = false) {
  if (final) { drawRun(true); return; }
  if (drawPending) return;
  drawPending = true;
  const wait = Math.max(0, lastDraw + drawInterval - performance.now());
  setTimeout(() => requestAnimationFrame(() => { drawPending = false; lastDraw = performance.now(); drawRun(false); }), wait);
}

function drawRun(final) {
  if (!run) return;
  if (run.latest) {
    $("latest-iteration").textContent = run.latest.iteration;
    $("latest-value").textContent = fmt(run.latest.value, 8);
    $("latest-gradient-norm").textContent = fmt(run.latest.gradientNorm, 8);
    $("latest-parameters").textContent = formatParameters(run.latest.parameters, 6);
  }
  Plotly.react("loss-plot", [{ x: run.iterations, y: run.values.map(v => Math.max(v, 1e-300)), mode: "lines", name: "loss" }], {
    title: { text: "Loss by iteration" }, margin: { t: 40, r: 10 },
    xaxis: { title: { text: "iteration" } }, yaxis: { title: { text: "loss (log scale)" }, type: "log" },
  }, { responsive: true });
  drawContour(final);
}

function axisIndices() {
  if (!run || run.labels.length < 2) return null;
  const labels = run.labels;
  const x = labels.length === 2 ? 0 : Math.max(0, labels.indexOf(state.axisX));
  let y = labels.length === 2 ? 1 : labels.indexOf(state.axisY);
  if (y < 0 || y === x) y = x === 0 ? 1 : 0;
  return [x, y];
}

function boxAround(points, minimumWidth) {
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const span = (lo, hi) => { const w = Math.max(hi - lo, minimumWidth); const c = (lo + hi) / 2; return [c - 0.7 * w, c + 0.7 * w]; };
  return [span(Math.min(...xs), Math.max(...xs)), span(Math.min(...ys), Math.max(...ys))];
}

function inside(box, point) {
  return point[0] >= box[0][0] && point[0] <= box[0][1] && point[1] >= box[1][0] && point[1] <= box[1][1];
}

async function drawContour(final) {
  const axes = axisIndices();
  if (!axes) { Plotly.purge("contour-plot"); return; }
  const [ix, iy] = axes;
  const path = run.path.map(p => [p[ix], p[iy]]).filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (path.length === 0) return;
  const needsSurface = !surfaceBox || (final && !surfaceBox.final) || !inside(surfaceBox.box, path[path.length - 1]);
  if (needsSurface && !run.fetchingSurface) {
    run.fetchingSurface = true;
    const box = boxAround(path, final ? 0.5 : 2);
    const current = final && run.completed ? run.completed.parameters : run.latest.parameters;
    const response = await fetch("surface", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ expression: state.formula, parameters: current, constants: JSON.parse(state.constants || "{}"),
        dataset: uploadedLab[state.data], resolution: 60,
        x: { parameter: run.labels[ix], min: box[0][0], max: box[0][1] }, y: { parameter: run.labels[iy], min: box[1][0], max: box[1][1] } }) });
    if (run) run.fetchingSurface = false;
    if (!response.ok) { showProblem(await response.json()); return; }
    const surface = await response.json();
    surfaceBox = { box, final, surface };
  }
  if (!surfaceBox) return;
  const plot = $("contour-plot");
  if (surfaceBox.drawn && plot.data?.length === 2 && (!needsSurface || run.fetchingSurface)) {
    Plotly.restyle(plot, { x: [path.map(p => p[0])], y: [path.map(p => p[1])] }, [1]);
    return;
  }
  surfaceBox.drawn = true;
  const { surface } = surfaceBox;
  const z = surface.z.map(row => row.map(v => (v == null ? null : Math.log10(Math.max(v - minimum(surface.z) + 1e-12, 1e-12)))));
  Plotly.react("contour-plot", [
    { type: "contour", x: surface.x, y: surface.y, z, colorscale: "Viridis", showscale: false, ncontours: 25,
      contours: { coloring: "heatmap" }, name: "log10(loss - min)", hoverinfo: "skip" },
    { x: path.map(p => p[0]), y: path.map(p => p[1]), mode: "lines+markers", marker: { size: 3, color: "#ff4136" },
      line: { color: "#ff4136" }, name: "path" },
  ], {
    title: { text: plotlyText(`Path of descent over the loss (${run.labels[ix]}, ${run.labels[iy]})`) }, margin: { t: 40, r: 10 },
    xaxis: { title: { text: plotlyText(run.labels[ix]) } }, yaxis: { title: { text: plotlyText(run.labels[iy]) } }, showlegend: false,
  }, { responsive: true });
}

function minimum(rows) {
  let m = Infinity;
  for (const row of rows) for (const v of row) if (v != null && v < m) m = v;
  return m;
}

/**
 * Draws the tape as a graph, inputs at the left and the loss at the right. Literal numbers are hidden
 * (they show in the text of the node that uses them), and a "+ literal" or "- literal" that follows a sum
 * is folded into it, so that 0.2*x1^2 + 0.2*x2^2 - 5 draws as the tutorial's seven nodes x1..x7.
 */
function drawTape(tape) {
  const byId = new Map(tape.map(n => [n.id, { ...n, shown: n.kind !== "literal", inputs: [...n.inputs] }]));
  const uses = new Map();
  for (const n of tape) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const n of byId.values()) {
    if (!["add", "sub"].includes(n.op) || n.inputs.length !== 2) continue;
    const [a, b] = n.inputs.map(i => byId.get(i));
    const [literal, other] = b.kind === "literal" ? [b, a] : a.kind === "literal" && n.op === "add" ? [a, b] : [null, null];
    if (!literal || !["add", "sub"].includes(other.op) || uses.get(other.id) !== 1) continue;
    other.shown = false;
    n.inputs = [...other.inputs, literal.id];
    n.op = `${other.op}, ${n.op}`;
  }
  const nodes = [...byId.values()].filter(n => n.shown);
  const depth = new Map();
  for (const n of nodes) depth.set(n.id, Math.max(0, ...n.inputs.filter(i => depth.has(i)).map(i => depth.get(i) + 1)));
  const columns = new Map();
  for (const n of nodes) { const d = depth.get(n.id); columns.set(d, [...(columns.get(d) ?? []), n]); }
  const position = new Map();
  for (const [d, column] of columns) column.forEach((n, i) => position.set(n.id, [d, (column.length - 1) / 2 - i]));

  const edgeX = [], edgeY = [];
  for (const n of nodes) for (const i of n.inputs) {
    if (!position.has(i)) continue;
    const [x0, y0] = position.get(i), [x1, y1] = position.get(n.id);
    edgeX.push(x0, x1, null); edgeY.push(y0, y1, null);
  }
  const label = n => [n.op === "input" ? n.name : `${n.op}${n.argument != null ? " " + n.argument : ""}`,
    fmt(n.value, 4), `adj ${fmt(n.adjoint ?? "–", 4)}`].map(plotlyText).join("<br>");
  Plotly.react("graph-plot", [
    { x: edgeX, y: edgeY, mode: "lines", line: { color: "#9aa4b5" }, hoverinfo: "skip" },
    { x: nodes.map(n => position.get(n.id)[0]), y: nodes.map(n => position.get(n.id)[1]), mode: "markers+text",
      marker: { size: 34, color: nodes.map(n => n.op === "input" ? (n.kind === "parameter" ? "#2e86de" : "#95a5a6") : "#f39c12") },
      text: nodes.map(label), textposition: "bottom center", hovertext: nodes.map(n => plotlyText(n.span?.text ?? n.name ?? "")), hoverinfo: "text" },
  ], {
    title: { text: "Computational graph: value and adjoint d(loss)/d(node)" }, showlegend: false, margin: { t: 40, b: 60 },
    xaxis: { visible: false, range: [-0.5, Math.max(...depth.values()) + 0.5] },
    yaxis: { visible: false, range: [Math.min(...[...position.values()].map(p => p[1])) - 0.8, Math.max(...[...position.values()].map(p => p[1])) + 0.4] },
  }, { responsive: true });

  $("tape-table").querySelector("tbody").replaceChildren(...nodes.map((n, i) => {
    const row = document.createElement("tr");
    row.className = "tape-node";
    Object.assign(row.dataset, { op: n.op, name: n.name ?? "", value: JSON.stringify(n.value), adjoint: JSON.stringify(n.adjoint ?? null) });
    for (const text of [`x${i + 1}`, n.op === "input" ? n.kind : n.op, n.name ?? n.span?.text ?? "", fmt(n.value), fmt(n.adjoint ?? "–")]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  $("graph-section").hidden = false;
}

// ----- Wiring -----

function choose(name) {
  stopFollowing();
  state = { ...examples[name], axisX: "", axisY: "" };
  writeInputs();
  saveToUrl();
  clearErrors();
}

for (const name of Object.keys(examples)) $(`example-${name}`).addEventListener("click", () => choose(name));
$("start").addEventListener("click", start);
$("cancel").addEventListener("click", cancel);
$("explain").addEventListener("click", explain);
$("share").addEventListener("click", async () => { readInputs(); saveToUrl(); await navigator.clipboard?.writeText(location.href).catch(() => {}); });
$("parameters").addEventListener("change", () => { readInputs(); updateAxes(); saveToUrl(); });
for (const id of ["axis-x", "axis-y"]) $(id).addEventListener("change", () => { readInputs(); saveToUrl(); surfaceBox = null; if (run) drawContour(run.done); });

if (!loadFromUrl()) state = { ...examples.rosenbrock, axisX: "", axisY: "" };
writeInputs();
