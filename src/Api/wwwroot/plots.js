// The loss by iteration and the path of descent over a contour of the loss, for the first `shown`
// recorded iterations of a run (all of them, or as far as a replay has got).

import { $, fmt, plotlyText } from "./text.js";

/**
 * How to plot a loss of any sign. Positive and falling by a decade or more: the loss on a log axis. Of
 * magnitudes a decade or more apart but not positive throughout: the loss minus its lowest value on a log
 * axis (that lowest point itself drops out, as log 0). Otherwise the loss on a linear axis, which shows the
 * paraboloid's -3.4 to -5 as it is. The axis title says which. The range covers every recorded value, so
 * that a replay draws into a fixed frame.
 */
export function lossView(values) {
  let min = Infinity, max = -Infinity, smallest = Infinity, largest = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
    const a = Math.abs(v);
    if (a > 0) { smallest = Math.min(smallest, a); largest = Math.max(largest, a); }
  }
  if (min > max) return { type: "linear", title: "loss", y: values, range: undefined };
  const decades = largest > 0 ? Math.log10(largest / smallest) : 0;
  if (decades >= 1 && min > 0)
    return { type: "log", title: "loss (log scale)", y: values.map(finiteOrNull), range: padded(Math.log10(min), Math.log10(max)) };
  if (decades >= 1) {
    const y = values.map(v => (Number.isFinite(v) && v > min ? v - min : null));
    let low = Infinity;
    for (const v of y) if (v != null) low = Math.min(low, v);
    if (Number.isFinite(low))
      return { type: "log", title: `loss − min (log scale), min = ${fmt(min, 6)}`, y, range: padded(Math.log10(low), Math.log10(max - min)) };
  }
  return { type: "linear", title: "loss", y: values.map(finiteOrNull), range: padded(min, max) };
}

function finiteOrNull(v) { return Number.isFinite(v) ? v : null; }

function padded(lo, hi) {
  const pad = hi > lo ? 0.05 * (hi - lo) : Math.max(Math.abs(lo) * 0.1, 1e-3);
  return [lo - pad, hi + pad];
}

/** Distinct colours for the runs of a race, in the order of their index (a single run takes the first). */
export const palette = ["#ff4136", "#0074d9", "#2ecc40", "#ff851b", "#b10dc9", "#39cccc", "#85144b", "#3d9970"];

/**
 * The first `shown` recorded events split by run: one entry for a single run, one per run of a race (its events
 * carry `run` and `label`), each with the indices of its events in the run's arrays.
 */
export function lanesOf(run, shown) {
  const lanes = new Map();
  for (let i = 0; i < shown; i++) {
    const p = run.progress[i];
    const index = p.run ?? 0;
    if (!lanes.has(index)) lanes.set(index, { index, label: p.label ?? "loss", color: palette[index % palette.length], rows: [] });
    lanes.get(index).rows.push(i);
  }
  return [...lanes.values()].sort((a, b) => a.index - b.index);
}

/**
 * Names a race's runs in their colours below the plots: plotly's own legend sets inline styles, which the page's
 * Content-Security-Policy forbids, so the colours come from the stylesheet's run-N classes.
 */
export function drawLegend(lanes) {
  const legend = $("race-legend");
  legend.replaceChildren(...(lanes.length > 1 ? lanes : []).map(lane => {
    const item = document.createElement("span");
    item.className = `run-${lane.index % palette.length}`;
    item.textContent = `■ ${lane.label}`;
    return item;
  }));
  legend.hidden = lanes.length < 2;
}

export function drawLoss(run, shown) {
  const view = lossView(run.values);
  const first = run.iterations[0], last = run.iterations[run.iterations.length - 1];
  const lanes = lanesOf(run, shown);
  drawLegend(lanes);
  Plotly.react("loss-plot", lanes.map(lane => ({
    x: lane.rows.map(i => run.iterations[i]), y: lane.rows.map(i => view.y[i]), customdata: lane.rows.map(i => run.values[i]),
    mode: "lines", line: { color: lane.color },
    hovertemplate: "iteration %{x}<br>loss %{customdata:.8g}<extra></extra>",
  })), {
    margin: { t: 30, r: 10 }, showlegend: false,
    xaxis: { title: { text: "iteration" }, range: last > first ? [first, last] : undefined },
    // "e" (1e-5), not plotly's default superscripts on log axes, which it styles by an inline attribute the CSP refuses.
    yaxis: { title: { text: plotlyText(view.title) }, type: view.type, range: view.range, exponentformat: "e" },
  }, { responsive: true });
}

// ----- Contour -----

/**
 * Draws the path over the surface of the loss in the plane of two parameter elements (view.x, view.y).
 * A surface is requested once per change: a new run, resolution or pair of axes, the path leaving the
 * surface's box, or the run's end (a tighter box). A request that fails is not repeated for the same view;
 * the path is drawn alone. Redraws (as events stream in, or a replay advances) only move the path.
 */
export function drawContour(run, shown, view, { onProblem, redraw }) {
  const ix = run.labels.indexOf(view.x), iy = run.labels.indexOf(view.y);
  if (ix < 0 || iy < 0 || ix === iy) {
    $("contour-title").textContent = "Path of descent: drawn for two or more parameter elements";
    Plotly.purge("contour-plot");
    return;
  }
  const key = JSON.stringify([view.x, view.y, view.resolution]);
  const full = pathOf(run.path, ix, iy);
  if (full.length === 0) return;
  const current = run.surface?.key === key ? run.surface : null;
  const wanted = run.surfaceFailure !== key &&
    (!current || (run.done && !current.final) || !inside(current.box, full[full.length - 1]));
  if (wanted && !run.fetchingSurface) fetchSurface(run, key, full, view, onProblem).finally(redraw);

  $("contour-title").textContent = `Path of descent over the loss (${view.x}, ${view.y})`;
  const surface = run.surfaceFailure === key ? null : run.surface;
  const plot = $("contour-plot");
  const lanes = lanesOf(run, shown);
  const pathTraces = lanes.map(lane => {
    const path = pathOf(lane.rows.map(i => run.path[i]), ix, iy);
    return { x: path.map(p => p[0]), y: path.map(p => p[1]), mode: "lines+markers",
      marker: { size: 3, color: lane.color }, line: { color: lane.color },
      hovertemplate: "(%{x:.6g}, %{y:.6g})<extra></extra>" };
  });
  if (surface && run.drawnSurface === surface && plot.data?.length === pathTraces.length + 1) {
    Plotly.restyle(plot, { x: pathTraces.map(t => t.x), y: pathTraces.map(t => t.y) }, pathTraces.map((_, i) => i + 1));
    return;
  }
  run.drawnSurface = surface;
  const layout = { margin: { t: 30, r: 10 }, showlegend: false,
    xaxis: { title: { text: plotlyText(view.x) }, exponentformat: "e" }, yaxis: { title: { text: plotlyText(view.y) }, exponentformat: "e" },
    shapes: boundsBox(run.bounds, view, surface?.box ?? boxAround(full, 0.5)) };
  // A box's open sides lie beyond the plotted area: fix the axes to it, so that they do not widen it.
  if (layout.shapes.length > 0 && surface) {
    layout.xaxis.range = surface.box[0];
    layout.yaxis.range = surface.box[1];
  }
  if (!surface) {
    const box = boxAround(full, 0.5);
    Object.assign(layout.xaxis, { range: box[0] });
    Object.assign(layout.yaxis, { range: box[1] });
    Plotly.react(plot, pathTraces, layout, { responsive: true });
    return;
  }
  const low = minimum(surface.data.z);
  const z = surface.data.z.map(row => row.map(v => (v == null ? null : Math.log10(Math.max(v - low + 1e-12, 1e-12)))));
  Plotly.react(plot, [
    { type: "contour", x: surface.data.x, y: surface.data.y, z, colorscale: "Viridis", showscale: false, ncontours: 25,
      contours: { coloring: "heatmap" }, name: "log10(loss - min)", hoverinfo: "skip" },
    ...pathTraces,
  ], layout, { responsive: true });
}

async function fetchSurface(run, key, full, view, onProblem) {
  run.fetchingSurface = true;
  const final = run.done;
  const box = boxAround(full, final ? 0.5 : 2);
  const parameters = final && run.completed?.parameters ? run.completed.parameters : run.progress[run.progress.length - 1].parameters;
  try {
    const response = await fetch("surface", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...run.surfaceRequest, parameters, resolution: Number(view.resolution),
        x: { parameter: view.x, min: box[0][0], max: box[0][1] }, y: { parameter: view.y, min: box[1][0], max: box[1][1] } }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      run.surfaceFailure = key;
      onProblem(body ?? { detail: `The contour could not be computed: ${response.status} ${response.statusText}`, field: "resolution" });
      return;
    }
    run.surface = { key, box, final, data: body };
  } catch (e) {
    run.surfaceFailure = key;
    onProblem({ detail: `The contour could not be computed: ${e.message}`, field: "resolution" });
  } finally {
    run.fetchingSurface = false;
  }
}

function pathOf(points, ix, iy) {
  return points.map(p => [p[ix], p[iy]]).filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
}

function boxAround(points, minimumWidth) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of points) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const span = (lo, hi) => { const w = Math.max(hi - lo, minimumWidth); const c = (lo + hi) / 2; return [c - 0.7 * w, c + 0.7 * w]; };
  return [span(x0, x1), span(y0, y1)];
}

function inside(box, point) {
  return point[0] >= box[0][0] && point[0] <= box[0][1] && point[1] >= box[1][0] && point[1] <= box[1][1];
}

function minimum(rows) {
  let m = Infinity;
  for (const row of rows) for (const v of row) if (v != null && v < m) m = v;
  return m;
}

/** A parameter element's [min, max] from the request's bounds ("x[2]" reads element 2 of x's arrays); null sides are open. */
export function elementBounds(bounds, label) {
  const match = /^(\w+)\[(\d+)\]$/.exec(label);
  const name = match ? match[1] : label, index = match ? Number(match[2]) - 1 : 0;
  const side = value => (Array.isArray(value) ? value[index] : value) ?? null;
  const bound = bounds?.[name];
  return bound ? [side(bound.min), side(bound.max)] : [null, null];
}

/**
 * The box of the bounds over the plane, as a plotly shape: a dashed rectangle, its open sides drawn at the edge
 * of the plotted area (a little beyond it, so that no edge shows there). None when neither axis is bounded.
 */
function boundsBox(bounds, view, area) {
  const [x0, x1] = elementBounds(bounds, view.x), [y0, y1] = elementBounds(bounds, view.y);
  if ([x0, x1, y0, y1].every(v => v == null)) return [];
  const beyond = (range, value, side) => value ?? range[side] + (side ? 1 : -1) * (range[1] - range[0]);
  return [{ type: "rect", xref: "x", yref: "y", layer: "above", name: "bounds",
    x0: beyond(area[0], x0, 0), x1: beyond(area[0], x1, 1), y0: beyond(area[1], y0, 0), y1: beyond(area[1], y1, 1),
    line: { color: "#ffffff", width: 2, dash: "dash" }, fillcolor: "rgba(0, 0, 0, 0)" }];
}
