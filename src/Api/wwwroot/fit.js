// The fit report of a finished job over data: R's coefficient table (estimate, standard error, t, p, 95% interval)
// with the residual standard error, R² and adjusted R²; or the report's note on why there is no table.
// Every text goes in with textContent.

import { $, fmt } from "./text.js";

export function clearFit() {
  $("fit-section").hidden = true;
  $("fit-table").querySelector("tbody").replaceChildren();
  $("fit-summary").textContent = "";
  $("fit-note").textContent = "";
}

export function drawFit(fit, jobId) {
  clearFit();
  if (!fit) return;
  const parts = [`${fit.rows} rows`, `loss ${fmt(fit.loss, 8)}`];
  if (fit.residualStandardError != null)
    parts.push(`residual standard error ${fmt(fit.residualStandardError, 6)}${fit.degreesOfFreedom != null ? ` on ${fit.degreesOfFreedom} degrees of freedom` : ""}`);
  if (fit.rSquared != null) parts.push(`R² ${fmt(fit.rSquared, 6)}`);
  if (fit.adjustedRSquared != null) parts.push(`adjusted R² ${fmt(fit.adjustedRSquared, 6)}`);
  $("fit-summary").textContent = parts.join(", ");
  $("fit-note").textContent = fit.note ?? "";
  const rows = (fit.coefficients ?? []).map(c => {
    const row = document.createElement("tr");
    const cells = [c.parameter, fmt(c.estimate, 6), cell(c.standardError, 4), cell(c.tValue, 4), pValue(c.pValue),
      c.confidenceLow != null ? `[${fmt(c.confidenceLow, 5)}, ${fmt(c.confidenceHigh, 5)}]` : "–",
      c.fixed ? "fixed" : c.atBound ? "on a bound" : ""];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      row.append(td);
    }
    return row;
  });
  $("fit-table").querySelector("tbody").replaceChildren(...rows);
  $("fit-table").hidden = rows.length === 0;
  $("fit-csv").href = `minimize/${encodeURIComponent(jobId)}/fit?format=csv`;
  $("fit-csv").hidden = rows.length === 0;
  $("fit-section").hidden = false;
}

function cell(value, digits) {
  return value == null ? "–" : fmt(value, digits);
}

function pValue(p) {
  if (p == null) return "–";
  return p < 2e-16 ? "< 2e-16" : p.toPrecision(3);
}
