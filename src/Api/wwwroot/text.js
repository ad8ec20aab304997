// Numbers and names as the page shows them. Plotly reads <tags> and &entities; in its strings (its own
// small HTML), so every text that goes to plotly passes through plotlyText.

export const $ = id => document.getElementById(id);

/** Text for plotly, shown as written and never as markup. */
export function plotlyText(text) {
  return String(text).replace(/[&<>]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}

export function fmt(v, digits = 6) {
  if (Array.isArray(v)) return "[" + v.slice(0, 4).map(x => fmt(x, digits)).join(", ") + (v.length > 4 ? ", …" : "") + "]";
  return typeof v === "number" ? String(Number(v.toPrecision(digits))) : String(v);
}

/** A value in a few characters: a number, a short vector in full, a longer one as its length (if asked) and mean. */
export function brief(v, digits = 4, length = true) {
  if (!Array.isArray(v) || v.length <= 3) return fmt(v, digits);
  return `${length ? `[${v.length}] ` : ""}mean ${fmt(mean(v), digits)}`;
}

/** A value for the tape's table: a number, a short vector in full, a longer one as length, mean and range. */
export function summary(v, digits = 6) {
  if (!Array.isArray(v) || v.length <= 6) return fmt(v, digits);
  let lo = Infinity, hi = -Infinity;
  for (const x of v) if (Number.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  return `${v.length} values: mean ${fmt(mean(v), digits)}, min ${fmt(lo, digits)}, max ${fmt(hi, digits)}`;
}

function mean(v) {
  let sum = 0;
  for (const x of v) sum += x;
  return sum / v.length;
}

/** Shortens a long name to its first characters and an ellipsis. */
export function clip(text, length) {
  return text.length <= length ? text : text.slice(0, length - 1) + "…";
}

export function formatParameters(parameters, decimals) {
  // A matrix (rows of numbers) is shown by its elements, row-major.
  return Object.entries(parameters ?? {}).map(([name, value]) => [name, Array.isArray(value) ? value.flat() : value]).map(([name, value]) =>
    `${name}: ${Array.isArray(value) ? (value.length > 6 ? summary(value, decimals + 1) : "[" + value.map(v => v.toFixed(decimals)).join(", ") + "]") : value.toFixed(decimals)}`).join("; ");
}
