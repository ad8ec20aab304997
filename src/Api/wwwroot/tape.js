// The recorded tape as a graph (inputs at the left, the loss at the right) and as a table.

import { $, brief, clip, plotlyText, summary } from "./text.js";

const charWidth = 6.6;  // px per character of a 12 px label, a little over the average
const rowHeight = 95;    // px per node in the tallest column: a marker and three lines of label

/**
 * Literal numbers are hidden (they show in the text of the node that uses them), and a "+ literal" or
 * "- literal" that follows a sum is folded into it, so that 0.2*x1^2 + 0.2*x2^2 - 5 draws as the
 * tutorial's seven nodes x1..x7. Vectors show as their length and mean, so that a formula over data
 * stays readable; the table gives their range as well, and the row's data-value attribute every element.
 */
export function drawTape(tape) {
  const nodes = foldLiterals(tape);
  const depth = new Map();
  for (const n of nodes) depth.set(n.id, Math.max(0, ...n.inputs.filter(i => depth.has(i)).map(i => depth.get(i) + 1)));
  const columns = new Map();
  for (const n of nodes) { const d = depth.get(n.id); columns.set(d, [...(columns.get(d) ?? []), n]); }
  const position = new Map();
  for (const [d, column] of columns) column.forEach((n, i) => position.set(n.id, [d, (column.length - 1) / 2 - i]));
  const deepest = Math.max(...depth.values());
  const tallest = Math.max(...[...columns.values()].map(c => c.length));

  const edgeX = [], edgeY = [];
  for (const n of nodes) for (const i of n.inputs) {
    if (!position.has(i)) continue;
    const [x0, y0] = position.get(i), [x1, y1] = position.get(n.id);
    edgeX.push(x0, x1, null); edgeY.push(y0, y1, null);
  }
  const title = n => (n.op === "input" ? n.name : `${n.op}${n.argument != null ? " " + n.argument : ""}`);
  // The adjoint has the value's shape, so its line leaves out the length.
  const lines = n => [clip(title(n), 18), brief(n.value), ...(n.adjoint != null ? [`adj ${brief(n.adjoint, 4, false)}`] : [])];
  const hover = n => [n.span?.text ?? n.name ?? "", `value ${summary(n.value, 4)}`, `adjoint ${summary(n.adjoint ?? "–", 4)}`];

  // Shown before drawing, so that plotly sizes the graph to the page rather than to a hidden box (700 px).
  $("graph-section").hidden = false;
  // Columns as wide as the longest label line and a gap (the page scrolls sideways past its width),
  // rows tall enough for the tallest column.
  const longest = Math.max(...nodes.flatMap(n => lines(n).map(l => l.length)));
  const plot = $("graph-plot");
  plot.style.minWidth = `${Math.round((deepest + 1) * Math.max(90, longest * charWidth + 24))}px`;
  Plotly.react(plot, [
    { x: edgeX, y: edgeY, mode: "lines", line: { color: "#9aa4b5" }, hoverinfo: "skip" },
    { x: nodes.map(n => position.get(n.id)[0]), y: nodes.map(n => position.get(n.id)[1]), mode: "markers+text",
      marker: { size: 30, color: nodes.map(n => n.op === "input" ? (n.kind === "parameter" ? "#2e86de" : "#95a5a6") : "#f39c12") },
      text: nodes.map(n => lines(n).map(plotlyText).join("<br>")), textposition: "bottom center", textfont: { size: 12 },
      hovertext: nodes.map(n => hover(n).map(plotlyText).join("<br>")), hoverinfo: "text" },
  ], {
    showlegend: false, height: Math.max(420, tallest * rowHeight + 60), margin: { t: 20, b: 20, l: 20, r: 20 },
    xaxis: { visible: false, fixedrange: true, range: [-0.5, deepest + 0.5] },
    yaxis: { visible: false, fixedrange: true, range: [-(tallest - 1) / 2 - 0.75, (tallest - 1) / 2 + 0.3] },
  }, { responsive: true });

  $("tape-table").querySelector("tbody").replaceChildren(...nodes.map((n, i) => {
    const row = document.createElement("tr");
    row.className = "tape-node";
    Object.assign(row.dataset, { op: n.op, name: n.name ?? "", value: JSON.stringify(n.value), adjoint: JSON.stringify(n.adjoint ?? null) });
    for (const text of [`x${i + 1}`, n.op === "input" ? n.kind : n.op, n.name ?? n.span?.text ?? "", summary(n.value), summary(n.adjoint ?? "–")]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

export function clearTape() {
  $("graph-section").hidden = true;
  Plotly.purge("graph-plot");
  $("tape-table").querySelector("tbody").replaceChildren();
}

function foldLiterals(tape) {
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
  return [...byId.values()].filter(n => n.shown);
}
