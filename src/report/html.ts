import type { ReportStats } from "./read.js";

const esc = (s: unknown) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const COLORS: Record<string, string> = { created: "#2e7d32", updated: "#388e3c", upserted: "#43a047", exists: "#0277bd", valid: "#2e7d32", invalid: "#c62828", duplicate: "#ef6c00", failed: "#b71c1c" };

/** Throughput (users confirmed per second) as bars and retries as a line, in inline SVG. */
function chart(t: ReportStats["timeline"]): string {
  if (!t.length) return "<p>No timing in this report (dry runs and reports of older runs have none).</p>";
  const W = 720;
  const H = 200;
  const max = Math.max(1, ...t.map((x) => x.ok + x.failed));
  const maxR = Math.max(1, ...t.map((x) => x.retries));
  const bw = W / t.length;
  const bars = t
    .map((x, i) => {
      const h = ((x.ok + x.failed) / max) * (H - 20);
      const hf = (x.failed / max) * (H - 20);
      return `<rect x="${(i * bw).toFixed(1)}" y="${(H - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${(h - hf).toFixed(1)}" fill="#43a047"><title>second ${x.second}: ${x.ok} ok, ${x.failed} failed, ${x.retries} retries</title></rect>` +
        (hf > 0 ? `<rect x="${(i * bw).toFixed(1)}" y="${(H - hf).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${hf.toFixed(1)}" fill="#c62828"/>` : "");
    })
    .join("");
  const line = t.map((x, i) => `${(i * bw + bw / 2).toFixed(1)},${(H - (x.retries / maxR) * (H - 20)).toFixed(1)}`).join(" ");
  return `<svg role="img" aria-label="throughput and retries per second" viewBox="0 0 ${W} ${H + 20}" width="100%" height="${H + 20}">
<rect width="${W}" height="${H}" fill="#fafafa"/>${bars}
<polyline points="${line}" fill="none" stroke="#6a1b9a" stroke-width="2"/>
<text x="0" y="${H + 15}" font-size="11">0 s</text><text x="${W - 40}" y="${H + 15}" font-size="11">${t.length} s</text>
<text x="4" y="12" font-size="11">peak ${max} users/s (bars), ${maxR} retries/s (line)</text></svg>`;
}

/** One self-contained page: totals, errors by code with example rows, and the timeline chart. */
export function reportHtml(stats: ReportStats, source: string): string {
  const totals = Object.entries(stats.counts)
    .map(([k, v]) => `<div class="t" style="border-color:${COLORS[k] ?? "#555"}"><b>${v}</b><span>${esc(k)}</span></div>`)
    .join("");
  const errors = stats.errors.length
    ? stats.errors
        .map(
          (e) =>
            `<h3><code>${esc(e.code)}</code> — ${e.count} row(s)</h3><table><tr><th>file</th><th>line</th><th>key</th><th>status</th><th>message</th></tr>${e.examples
              .map((r) => `<tr><td>${esc(r.file)}</td><td>${esc(r.line)}</td><td>${esc(r.key)}</td><td>${esc(r.status)}</td><td>${esc(r.message)}</td></tr>`)
              .join("")}</table>`,
        )
        .join("")
    : "<p>No errors.</p>";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>bulk-users report — ${esc(source)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}.totals{display:flex;gap:1em;flex-wrap:wrap}
.t{border-left:6px solid;padding:.5em 1em;background:#f5f5f5;min-width:7em}.t b{display:block;font-size:1.6em}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f0f0f0}</style></head>
<body><h1>bulk-users report</h1><p>${esc(source)} — ${stats.rows} row(s)${stats.unreadable ? `, ${stats.unreadable} unreadable line(s)` : ""}</p>
<section><h2>Totals</h2><div class="totals" id="totals">${totals}</div></section>
<section><h2>Throughput and retries</h2>${chart(stats.timeline)}</section>
<section><h2>Errors by code</h2>${errors}</section>
</body></html>
`;
}
