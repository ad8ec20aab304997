// A finished job's curvature certificate and learning-rate preflight, as one line of text each.
import { fmt } from "./text.js";

/** "minimum: eigenvalues 0.3994, 1001.6 (condition 2508, |g| 1e-9)", or why it was skipped. */
export function describeCertificate(c) {
  if (!c) return "–";
  if (c.skipped) return `skipped: ${c.skipped}`;
  const values = (c.eigenvalues ?? []).slice(0, 6).map(v => fmt(v, 4)).join(", ") + ((c.eigenvalues ?? []).length > 6 ? ", …" : "");
  const which = c.complete ? "eigenvalues" : "extreme eigenvalues (Lanczos)";
  const condition = c.conditionNumber == null ? "" : `condition ${fmt(c.conditionNumber, 4)}, `;
  return `${c.kind}: ${which} ${values} (${condition}gradient norm ${fmt(c.gradientNorm, 3)})`;
}

/** "λmax 10, stable sgd rate 0.2 (used 0.21): warning…", or why it was skipped. */
export function describePreflight(p) {
  if (!p) return "–";
  if (p.skipped) return `skipped: ${p.skipped}`;
  const stable = p.stableLearningRate == null ? "no positive curvature" : `stable sgd rate ${fmt(p.stableLearningRate, 4)}`;
  return `λmax ${fmt(p.lambdaMax, 4)}, ${stable} (used ${fmt(p.learningRate, 4)})${p.warning ? `: ${p.warning}` : ""}`;
}
