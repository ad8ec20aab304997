// The playground: builds requests from the inputs, follows a job's event stream with EventSource,
// and draws the loss, the path over a contour of the loss (plots.js), and the recorded tape (tape.js).
// All state lives in the URL's fragment so that an experiment can be shared as a link.
//
// Nothing that comes from the URL or from a response is ever parsed as HTML: text goes in with
// textContent and elements are built with the DOM (plotly's text goes through plotlyText). The page
// runs under a strict Content-Security-Policy: no inline script, style or handler, and no eval.

import { $, fmt, formatParameters } from "./text.js";
import { drawContour, drawLoss } from "./plots.js";
import { clearTape, drawTape } from "./tape.js";
import { clearFit, drawFit } from "./fit.js";
import { describeCertificate, describePreflight } from "./insight.js";

const defaults = {
  formula: "", parameters: "{}", constants: "{}", bounds: "", data: "", optimizer: "sgd", learningRate: "", momentum: "",
  maxIterations: "100", tolerance: "", recordEvery: "1", axisX: "", axisY: "", resolution: "60", replaySpeed: "100", race: "",
};

const examples = {
  paraboloid: {
    formula: "0.2*x1^2 + 0.2*x2^2 - 5", parameters: '{"x1": 2, "x2": 2}', constants: "{}",
    optimizer: "sgd", learningRate: "0.1", maxIterations: "200", recordEvery: "1", replaySpeed: "20",
  },
  rosenbrock: {
    formula: "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", parameters: '{"x": [-1, 1]}', constants: '{"a": 1, "b": 5}',
    optimizer: "sgd", learningRate: "0.01", maxIterations: "1000", recordEvery: "1", replaySpeed: "100",
  },
  lab: {
    formula: "mean((y - (b0 + b1*x))^2)", parameters: '{"b0": 0, "b1": 0}', constants: "{}", data: "lab:1",
    optimizer: "sgd", learningRate: "0.1", maxIterations: "2000", recordEvery: "10", replaySpeed: "200",
  },
  network: {
    formula: "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)",
    parameters: '{"W1": [[0.9, -0.6, 0.4, 1.1, -0.8, 0.3], [0.5, 0.8, -1.0, 0.2, 0.6, -0.7]], "b1": [0.1, -0.1, 0.2, 0, 0.1, -0.2], "w2": [0.3, -0.4, 0.5, -0.2, 0.4, 0.1], "b2": 0}',
    constants: "{}", data: "wave:1", optimizer: "adam", learningRate: "0.03", maxIterations: "1500", recordEvery: "5",
    axisX: "W1[1,1]", axisY: "W1[2,1]", replaySpeed: "200",
  },
  race: {
    formula: "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", parameters: '{"x": [-1, 1]}', constants: '{"a": 1, "b": 5}',
    race: '[{"type": "sgd", "learningRate": 0.01}, {"type": "adam", "learningRate": 0.05}, {"type": "lbfgs"}]',
    maxIterations: "300", recordEvery: "1", replaySpeed: "300",
  },
};

const fields = {
  formula: "formula", parameters: "parameters", constants: "constants", bounds: "bounds", optimizer: "optimizer",
  learningRate: "learning-rate", momentum: "momentum", maxIterations: "max-iterations", tolerance: "tolerance",
  recordEvery: "record-every", axisX: "axis-x", axisY: "axis-y", resolution: "resolution", replaySpeed: "replay-speed",
  race: "race",
};

const errorIds = ["formula-error", "parameters-error", "constants-error", "bounds-error", "dataset-error", "optimizer-error",
  "stopping-error", "contour-error", "general-error"];

let state = { ...defaults, ...examples.rosenbrock };
// { id, source, labels, iterations, values, path, progress, seen, done, completed, surfaceRequest, surface… }
let run = null;
let replay = null;         // { t0, speed, first, shown, frame, lastDraw }
let uploadedLab = {};      // "lab:seed" -> dataset id
let drawPending = false;
let lastDraw = 0;
const drawInterval = 150;  // ms between redraws while events stream in
const replayInterval = 40; // ms between frames of a replay

// ----- State and URL -----

function readInputs() {
  for (const [key, id] of Object.entries(fields)) state[key] = $(id).value;
}

function writeInputs() {
  for (const [key, id] of Object.entries(fields)) if (key !== "axisX" && key !== "axisY") $(id).value = state[key] ?? "";
  updateAxes();
  $("dataset-row").hidden = !state.data;
  $("dataset-id").textContent = !state.data ? ""
    : state.data === waveData ? `${state.data} (generated: y = sin(2 x1) x2, 400 rows)` : `${state.data} (generated: y = 1 + x + e, 200 rows)`;
}

function saveToUrl() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) if (value !== "" && value != null) params.set(key, value);
  history.replaceState(null, "", "#" + params.toString());
}

function loadFromUrl() {
  if (location.hash.length < 2) return false;
  state = { ...defaults };
  // Only the known keys: a link cannot add properties of its own to the state.
  for (const [key, value] of new URLSearchParams(location.hash.slice(1))) if (Object.hasOwn(defaults, key)) state[key] = value;
  return true;
}

// ----- Parameters -----

/** The race box: a JSON array of optimizer objects, or null after showing what is wrong. */
function parseRace(text) {
  clearError("optimizer-error");
  try {
    const value = JSON.parse(text);
    if (!Array.isArray(value)) throw new Error('give a JSON array of optimizers, e.g. [{"type": "sgd"}, {"type": "adam"}]');
    return value;
  } catch (e) {
    showError("optimizer-error", `Race: ${e.message}`);
    return null;
  }
}

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

/** Labels of the flattened parameter elements: "b0", "x[1]", "x[2]" for a vector, "W[1,1]", "W[1,2]" row-major for a matrix. */
function elementLabels(parameters) {
  const labels = [];
  for (const [name, value] of Object.entries(parameters ?? {})) {
    if (Array.isArray(value) && Array.isArray(value[0])) value.forEach((row, i) => row.forEach((_, j) => labels.push(`${name}[${i + 1},${j + 1}]`)));
    else if (Array.isArray(value)) value.forEach((_, i) => labels.push(`${name}[${i + 1}]`));
    else labels.push(name);
  }
  return labels;
}

function elementValue(parameters, label) {
  const match = /^(\w+)\[(\d+)(?:,(\d+))?\]$/.exec(label);
  if (!match) return parameters[label];
  const value = parameters[match[1]]?.[Number(match[2]) - 1];
  return match[3] ? value?.[Number(match[3]) - 1] : value;
}

function updateAxes() {
  let parameters;
  try { parameters = JSON.parse(state.parameters || "{}"); } catch { return; }
  const labels = elementLabels(parameters);
  $("axis-choice").hidden = labels.length <= 2;
  for (const [key, id, fallback] of [["axisX", "axis-x", 0], ["axisY", "axis-y", 1]]) {
    const select = $(id);
    select.replaceChildren(...labels.map(l => new Option(l, l)));
    if (!labels.includes(state[key])) state[key] = labels[fallback] ?? "";
    select.value = state[key];
  }
}

/** The plane of the contour: two parameter elements, and the grid's resolution. */
function contourView() {
  if (!run || run.labels.length < 2) return { x: "", y: "", resolution: state.resolution };
  const labels = run.labels;
  let x = labels.length === 2 ? labels[0] : state.axisX, y = labels.length === 2 ? labels[1] : state.axisY;
  if (!labels.includes(x)) x = labels[0];
  if (!labels.includes(y) || y === x) y = labels.find(l => l !== x);
  return { x, y, resolution: state.resolution };
}

// ----- Errors -----

function showError(id, message) { const el = $(id); el.textContent = message; el.hidden = false; }
function clearError(id) { const el = $(id); el.textContent = ""; el.hidden = true; }
function clearErrors() { for (const id of errorIds) clearError(id); }

/** Shows a problem (RFC 9457) next to the input it concerns; a formula error points at its column. */
function showProblem(problem) {
  const field = problem.field ?? "";
  const message = problem.detail ?? problem.title ?? "The request failed.";
  if (field === "expression" && problem.column) {
    const column = problem.column;
    const caret = " ".repeat(Math.max(0, column - 1)) + "^".repeat(Math.max(1, Math.min(problem.length ?? 1, 40)));
    showError("formula-error", `${state.formula.split("\n").join(" ")}\n${caret}\ncolumn ${column}: ${message}`);
  } else if (field.startsWith("parameters")) showError("parameters-error", message);
  else if (field.startsWith("constants")) showError("constants-error", message);
  else if (field.startsWith("bounds")) showError("bounds-error", message);
  else if (field.startsWith("data") || field === "dataset") showError("dataset-error", message);
  else if (field.startsWith("optimizer")) showError("optimizer-error", message);
  else if (["maxIterations", "gradientNormTolerance", "recordEvery"].includes(field)) showError("stopping-error", message);
  else if (field === "resolution" || field.startsWith("x.") || field.startsWith("y.")) showError("contour-error", message);
  else showError("general-error", message);
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported by status below */ }
  if (!response.ok) { showProblem(json ?? { detail: `${response.status} ${response.statusText}` }); return null; }
  return json;
}

// ----- The lab's data: the README's 200 rows (lab.csv), stored once as a dataset -----

const labData = "lab:1";
const waveData = "wave:1";

/** The network example's data: 400 rows of y = sin(2 x1) x2, from a fixed linear congruential sequence. */
function waveCsv() {
  let seed = 1;
  const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 * 4 - 2; };
  const rows = ["x1,x2,y"];
  for (let i = 0; i < 400; i++) { const x1 = next(), x2 = next(); rows.push(`${x1},${x2},${Math.sin(2 * x1) * x2}`); }
  return rows.join("\n");
}

async function datasetId() {
  if (state.data !== labData && state.data !== waveData) return null;
  if (uploadedLab[state.data]) return uploadedLab[state.data];
  const csv = state.data === waveData ? waveCsv() : await (await fetch("lab.csv")).text();
  const response = await fetch("datasets", { method: "POST", headers: { "Content-Type": "text/csv" }, body: csv });
  const created = await response.json().catch(() => null);
  if (!response.ok || !created) { showProblem(created ?? { detail: `${response.status} ${response.statusText}` }); return undefined; }
  uploadedLab[state.data] = created.id;
  $("dataset-info").textContent = state.data === waveData
    ? `400 generated rows of y = sin(2 x1) x2, stored as ${created.id}`
    : `the README's lab data, stored as ${created.id}`;
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
  clearResults();
  const request = await baseRequest();
  if (!request) return;
  if (state.race.trim() !== "") {
    request.optimizers = parseRace(state.race);
    if (!request.optimizers) return;
  } else {
    request.optimizer = { type: state.optimizer };
    if (state.learningRate !== "") request.optimizer.learningRate = Number(state.learningRate);
    if (state.momentum !== "") request.optimizer.momentum = Number(state.momentum);
  }
  request.maxIterations = Number(state.maxIterations);
  request.recordEvery = Number(state.recordEvery || 1);
  if (state.tolerance !== "") request.gradientNormTolerance = Number(state.tolerance);
  if ((state.bounds ?? "").trim() !== "") {
    const bounds = parseJson(state.bounds, "bounds-error", "Bounds");
    if (!bounds) return;
    request.bounds = bounds;
  }
  $("start").disabled = true;
  const job = await post("minimize", request);
  $("start").disabled = false;
  if (!job) return;
  follow(job.id, request);
}

function follow(id, request) {
  run = {
    id, labels: elementLabels(request.parameters), bounds: request.bounds, iterations: [], values: [], path: [], progress: [], seen: new Set(), done: false,
    surfaceRequest: { expression: request.expression, constants: request.constants, dataset: request.dataset },
  };
  const current = run;
  $("status").textContent = `Job ${id}: queued`;
  $("start").disabled = true;
  $("cancel").disabled = false;
  const source = new EventSource(`minimize/${id}/events`);
  run.source = source;
  source.addEventListener("iteration", event => {
    const progress = JSON.parse(event.data);
    // Ids are unique in the stream (in a race, iteration × runs + run), iterations only within a run.
    if (run !== current || run.seen.has(event.lastEventId)) return;
    run.seen.add(event.lastEventId);
    run.iterations.push(progress.iteration);
    run.values.push(progress.value);
    run.path.push(run.labels.map(l => elementValue(progress.parameters, l)));
    run.progress.push(progress);
    $("status").textContent = `Job ${id}: running`;
    $("replay").disabled = false;
    scheduleDraw();
  });
  source.addEventListener("decimated", event => {
    if (run === current) $("status").textContent = `Job ${id}: ${JSON.parse(event.data).message}`;
  });
  source.addEventListener("completed", event => {
    source.close();
    if (run !== current) return;
    const completed = JSON.parse(event.data);
    run.done = true;
    run.completed = completed;
    $("status").textContent = `Job ${id}: ${completed.status} (${completed.stopReason}). ${completed.message}`;
    $("final-params").textContent = completed.race
      ? completed.race.map(r => `${r.rank}. ${r.label}: loss ${fmt(r.value, 6)} after ${r.iterations} iterations` +
          (r.iterationsToTarget != null ? `, target at ${r.iterationsToTarget}` : "") + ` — ${formatParameters(r.parameters, 4)}`).join("\n")
      : formatParameters(completed.parameters, 4);
    drawFit(completed.fit, id);
    $("certificate").textContent = describeCertificate(completed.certificate);
    $("preflight").textContent = describePreflight(completed.preflight);
    $("start").disabled = false;
    $("cancel").disabled = true;
    drawRun();
  });
  // EventSource reconnects by itself after a dropped connection and sends Last-Event-ID, so the
  // service resumes after the last iteration seen: no gap and no duplicate.
  source.onerror = () => { if (run === current && !run.done) $("status").textContent = `Job ${id}: reconnecting…`; };
}

async function cancel() {
  if (!run) return;
  await fetch(`minimize/${run.id}`, { method: "DELETE" });
}

async function explain() {
  clearTape();
  const request = await baseRequest();
  if (!request) return;
  request.explain = true;
  const response = await post("gradient", request);
  if (!response) return;
  drawTape(response.tape);
}

/** Forgets the run, its plots, the tape and the errors, so that nothing of the last experiment stays on screen. */
function clearResults() {
  run?.source?.close();
  run = null; // first, so that stopping a replay draws nothing and asks for no surface
  stopReplay(false);
  for (const id of ["contour-plot", "loss-plot"]) Plotly.purge(id);
  $("race-legend").replaceChildren();
  $("race-legend").hidden = true;
  clearTape();
  clearFit();
  clearErrors();
  for (const id of ["latest-iteration", "latest-value", "latest-gradient-norm", "latest-parameters", "final-params", "certificate", "preflight"]) $(id).textContent = "–";
  $("contour-title").textContent = "Path of descent over the loss";
  $("status").textContent = "Choose an example or write a formula, then Start.";
  $("replay-status").textContent = "";
  $("start").disabled = false;
  $("cancel").disabled = true;
  $("replay").disabled = true;
}

// ----- Drawing -----

function scheduleDraw() {
  if (drawPending || replay) return;
  drawPending = true;
  const wait = Math.max(0, lastDraw + drawInterval - performance.now());
  setTimeout(() => requestAnimationFrame(() => { drawPending = false; lastDraw = performance.now(); drawRun(); }), wait);
}

/** Draws the run's first recorded iterations: all of them, or as many as the replay has reached. */
function drawRun() {
  if (!run || run.iterations.length === 0) return;
  const shown = replay ? replay.shown : run.iterations.length;
  const latest = run.progress[shown - 1];
  $("latest-iteration").textContent = latest.iteration;
  $("latest-value").textContent = fmt(latest.value, 8);
  $("latest-gradient-norm").textContent = fmt(latest.gradientNorm, 8);
  $("latest-parameters").textContent = formatParameters(latest.parameters, 6);
  drawLoss(run, shown);
  drawContour(run, shown, contourView(), { onProblem: showProblem, redraw: drawRun });
}

// ----- Replay -----

/** Iterations per second, as the speed box says (100 when it says nothing usable). */
function replaySpeed() {
  const speed = Number($("replay-speed").value);
  return Number.isFinite(speed) && speed > 0 ? speed : 100;
}

/** Redraws the run from its first recorded iteration, reaching iteration first + t * speed after t seconds. */
function startReplay() {
  if (!run || run.iterations.length === 0) return;
  stopReplay(false);
  replay = { t0: performance.now(), speed: replaySpeed(), first: run.iterations[0], shown: 1, lastDraw: -Infinity };
  $("replay").textContent = "Stop replay";
  replay.frame = requestAnimationFrame(replayFrame);
}

function replayFrame(now) {
  if (!replay || !run) return;
  const reached = replay.first + Math.max(0, now - replay.t0) / 1000 * replay.speed;
  let shown = replay.shown;
  while (shown < run.iterations.length && run.iterations[shown] <= reached) shown++;
  replay.shown = shown;
  // A running job's replay waits at its last recorded iteration for more.
  const finished = run.done && shown === run.iterations.length;
  if (finished || now - replay.lastDraw >= replayInterval) {
    replay.lastDraw = now;
    $("replay-status").textContent = `Replaying at ${fmt(replay.speed, 4)} iterations per second: iteration ${run.iterations[shown - 1]} of ${run.iterations[run.iterations.length - 1]}`;
    drawRun();
  }
  if (finished) stopReplay(true);
  else replay.frame = requestAnimationFrame(replayFrame);
}

function stopReplay(finished) {
  if (!replay) return;
  cancelAnimationFrame(replay.frame);
  const stopped = replay;
  replay = null;
  $("replay").textContent = "Replay";
  $("replay-status").textContent = finished
    ? `Replayed ${stopped.shown} recorded iterations at ${fmt(stopped.speed, 4)} per second.`
    : "";
  if (!finished) drawRun();
}

/** A new speed applies from the iteration the replay has reached. */
function changeReplaySpeed() {
  readInputs();
  saveToUrl();
  if (!replay) return;
  const now = performance.now();
  const reached = replay.first + (now - replay.t0) / 1000 * replay.speed;
  replay.speed = replaySpeed();
  replay.t0 = now - (reached - replay.first) / replay.speed * 1000;
}

// ----- Wiring -----

function choose(name) {
  clearResults();
  state = { ...defaults, ...examples[name] };
  writeInputs();
  saveToUrl();
}

for (const name of Object.keys(examples)) $(`example-${name}`).addEventListener("click", () => choose(name));
$("start").addEventListener("click", start);
$("cancel").addEventListener("click", cancel);
$("explain").addEventListener("click", explain);
$("replay").addEventListener("click", () => (replay ? stopReplay(false) : startReplay()));
$("replay-speed").addEventListener("change", changeReplaySpeed);
$("share").addEventListener("click", async () => { readInputs(); saveToUrl(); await navigator.clipboard?.writeText(location.href).catch(() => {}); });
$("parameters").addEventListener("change", () => { readInputs(); updateAxes(); saveToUrl(); });
// A new plane or resolution: the contour asks for one new surface (plots.js), whatever the redraws.
for (const id of ["axis-x", "axis-y", "resolution"]) $(id).addEventListener("change", () => {
  readInputs();
  saveToUrl();
  clearError("contour-error");
  drawRun();
});

if (!loadFromUrl()) state = { ...defaults, ...examples.rosenbrock };
writeInputs();
