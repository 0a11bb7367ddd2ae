import { EXAMPLES_PER_CODE, type ReportStats } from "./read.js";

/** HTML-escapes text and attribute values: every cell of a report may hold hostile input. */
export const esc = (s: unknown) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const COLORS: Record<string, string> = { created: "#2e7d32", updated: "#388e3c", upserted: "#43a047", exists: "#0277bd", valid: "#2e7d32", invalid: "#c62828", duplicate: "#ef6c00", failed: "#b71c1c" };
const OK_COLOR = "#43a047";
const FAIL_COLOR = "#c62828";
const RETRY_COLOR = "#6a1b9a";

/** Most bars a chart draws; longer runs are grouped into buckets of several seconds. */
const MAX_BARS = 240;
const W = 760;
const H = 220;
/** Plot area inside the SVG: room for the axis labels on the left and below. */
const L = 48;
const T = 24;
const PW = W - L - 48;
const PH = H - T - 28;

const fmt = (n: number) => (n >= 100 ? String(Math.round(n)) : String(Number(n.toFixed(1))));
const dur = (s: number) => (s < 120 ? `${fmt(s)} s` : s < 7200 ? `${fmt(s / 60)} min` : `${fmt(s / 3600)} h`);

/** Throughput (users answered per second: confirmed green, failed red) as bars, retries per second as a line. */
function timelineChart(t: ReportStats["timeline"]): string {
  const size = Math.ceil(t.length / MAX_BARS);
  const buckets: { from: number; ok: number; failed: number; retries: number }[] = [];
  for (let i = 0; i < t.length; i += size) {
    const part = t.slice(i, i + size);
    const sum = (k: "ok" | "failed" | "retries") => part.reduce((a, x) => a + x[k], 0) / size;
    buckets.push({ from: i, ok: sum("ok"), failed: sum("failed"), retries: sum("retries") });
  }
  const max = Math.max(1e-9, ...buckets.map((x) => x.ok + x.failed));
  const maxR = Math.max(1e-9, ...buckets.map((x) => x.retries));
  const hasRetries = buckets.some((x) => x.retries > 0);
  const bw = PW / buckets.length;
  const y = (v: number, m: number) => T + PH - (v / m) * PH;
  const bars = buckets
    .map((x) => {
      const x0 = (L + x.from / size * bw).toFixed(1);
      const w = Math.max(0.5, bw - (bw > 3 ? 1 : 0)).toFixed(1);
      const label = `${size > 1 ? `seconds ${x.from}–${x.from + size - 1}` : `second ${x.from}`}: ${fmt(x.ok)} ok/s, ${fmt(x.failed)} failed/s, ${fmt(x.retries)} retries/s`;
      const okTop = y(x.ok + x.failed, max);
      const failTop = y(x.failed, max);
      return (
        `<g><title>${esc(label)}</title>` +
        (x.ok > 0 ? `<rect x="${x0}" y="${okTop.toFixed(1)}" width="${w}" height="${(failTop - okTop).toFixed(1)}" fill="${OK_COLOR}"/>` : "") +
        (x.failed > 0 ? `<rect x="${x0}" y="${failTop.toFixed(1)}" width="${w}" height="${(T + PH - failTop).toFixed(1)}" fill="${FAIL_COLOR}"/>` : "") +
        "</g>"
      );
    })
    .join("");
  const line = hasRetries
    ? `<polyline points="${buckets.map((x, i) => `${(L + i * bw + bw / 2).toFixed(1)},${y(x.retries, maxR).toFixed(1)}`).join(" ")}" fill="none" stroke="${RETRY_COLOR}" stroke-width="2"/>` +
      `<text x="${L + PW + 6}" y="${T + 4}" font-size="11" fill="${RETRY_COLOR}">${fmt(maxR)}</text><text x="${L + PW + 6}" y="${T + PH}" font-size="11" fill="${RETRY_COLOR}">0</text>`
    : "";
  const span = t.length;
  const axis =
    `<line x1="${L}" y1="${T + PH}" x2="${L + PW}" y2="${T + PH}" stroke="#999"/><line x1="${L}" y1="${T}" x2="${L}" y2="${T + PH}" stroke="#999"/>` +
    `<text x="${L - 6}" y="${T + 4}" font-size="11" text-anchor="end">${fmt(max)}</text><text x="${L - 6}" y="${T + PH}" font-size="11" text-anchor="end">0</text>` +
    `<text x="${L}" y="${H - 6}" font-size="11">0 s</text><text x="${L + PW / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${dur(span / 2)}</text><text x="${L + PW}" y="${H - 6}" font-size="11" text-anchor="end">${dur(span)}</text>`;
  const legend =
    `<rect x="${L}" y="4" width="10" height="10" fill="${OK_COLOR}"/><text x="${L + 14}" y="13" font-size="11">confirmed users/s</text>` +
    `<rect x="${L + 130}" y="4" width="10" height="10" fill="${FAIL_COLOR}"/><text x="${L + 144}" y="13" font-size="11">failed users/s</text>` +
    (hasRetries ? `<line x1="${L + 240}" y1="9" x2="${L + 256}" y2="9" stroke="${RETRY_COLOR}" stroke-width="2"/><text x="${L + 260}" y="13" font-size="11">retries/s (right scale)</text>` : `<text x="${L + 240}" y="13" font-size="11">no retries</text>`);
  return `<svg id="chart" role="img" aria-label="users answered and retries per second over the run" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px">
<rect x="${L}" y="${T}" width="${PW}" height="${PH}" fill="#fafafa"/>${axis}${bars}${line}${legend}</svg>
<p class="note">Each bar is ${size > 1 ? `${size} seconds (averaged)` : "one second"} of the run, from the time the vendor answered each row (<code>t</code>).</p>`;
}

/** Without per-row times: how many requests each sent row took (1 = first try). */
function attemptsChart(a: ReportStats["attempts"]): string {
  const entries = Object.entries(a)
    .map(([k, v]) => [Number(k), v] as const)
    .sort((x, y) => x[0] - y[0]);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const rowH = 22;
  const h = entries.length * rowH + 8;
  const bars = entries
    .map(([k, v], i) => {
      const w = Math.max(1, (v / max) * (PW - 60));
      const yy = 4 + i * rowH;
      return `<g><title>${v} row(s) took ${k} request(s)</title><text x="${L - 6}" y="${yy + 14}" font-size="11" text-anchor="end">${k}×</text><rect x="${L}" y="${yy}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${k <= 1 ? OK_COLOR : RETRY_COLOR}"/><text x="${(L + w + 6).toFixed(1)}" y="${yy + 14}" font-size="11">${v}</text></g>`;
    })
    .join("");
  return `<p class="note">This report has no per-row time (<code>t</code>), so there is no throughput over time: the chart shows how many requests each sent row took instead (retries are the rows above 1×).</p>
<svg id="chart" role="img" aria-label="rows per number of attempts" viewBox="0 0 ${W} ${h}" width="100%" style="max-width:${W}px">${bars}</svg>`;
}

function chart(stats: ReportStats): string {
  if (stats.timed > 0) return timelineChart(stats.timeline);
  if (Object.keys(stats.attempts).length) return attemptsChart(stats.attempts);
  return "<p class=\"note\">Nothing in this report was sent (a dry run, or a run stopped before its first request): no chart.</p>";
}

/** Facts about the run from `<report>.meta.json`, when it has them. */
function runFacts(stats: ReportStats): string {
  const m = stats.meta;
  if (!m) return "";
  const s = m.summary;
  const facts: [string, string][] = [];
  if (m.provider) facts.push(["provider", m.provider]);
  if (m.startedAt) facts.push(["started", m.startedAt]);
  if (m.shard) facts.push(["shard", m.shard]);
  if (s) {
    if (typeof s.durationMs === "number") facts.push(["duration", dur(s.durationMs / 1000)]);
    if (!s.dryRun) {
      if (typeof s.usersPerSecond === "number") facts.push(["users/s", String(s.usersPerSecond)]);
      if (typeof s.requests === "number") facts.push(["requests", String(s.requests)]);
      if (typeof s.retries === "number") facts.push(["retries", String(s.retries)]);
      if (typeof s.throttled === "number") facts.push(["throttled", String(s.throttled)]);
    }
    if (s.resumed) facts.push(["carried over from a resumed report", String(s.resumed)]);
    if (s.stopped) facts.push(["stopped", s.stopped === "max-errors" ? "by --max-errors" : "interrupted"]);
  } else facts.push(["summary", "none (the run did not finish)"]);
  return `<dl class="facts" id="facts">${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>`;
}

/** One self-contained page (inline CSS and SVG, nothing loaded): totals, errors by code with example rows, and a chart. */
export function reportHtml(stats: ReportStats, source: string): string {
  const totals = Object.entries(stats.counts)
    .map(([k, v]) => `<div class="t" style="border-color:${COLORS[k] ?? "#555"}"><b>${v}</b><span>${esc(k)}</span></div>`)
    .join("");
  const errors = stats.errors.length
    ? stats.errors
        .map(
          (e) =>
            `<h3><code>${esc(e.code)}</code> — ${e.count} row(s)</h3><table><tr><th>file</th><th>line</th><th>key</th><th>status</th><th>field</th><th>message</th></tr>${e.examples
              .map((r) => `<tr><td>${esc(r.file)}</td><td class="n">${esc(r.line)}</td><td>${esc(r.key)}</td><td class="n">${esc(r.status)}</td><td class="n">${esc(r.field)}</td><td>${esc(r.message)}</td></tr>`)
              .join("")}</table>${e.count > e.examples.length ? `<p class="note">… and ${e.count - e.examples.length} more row(s) with this code (the first ${EXAMPLES_PER_CODE} are shown).</p>` : ""}`,
        )
        .join("")
    : "<p>No errors.</p>";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>bulk-users report — ${esc(source)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}h1{font-size:1.4em}.totals{display:flex;gap:1em;flex-wrap:wrap}
.t{border-left:6px solid;padding:.5em 1em;background:#f5f5f5;min-width:7em}.t b{display:block;font-size:1.6em}
.facts{display:flex;gap:.5em 2em;flex-wrap:wrap;margin:1em 0}.facts dt{font-size:.85em;color:#666}.facts dd{margin:0;font-weight:600}
.note{color:#555;font-size:.9em}table{border-collapse:collapse;margin:.5em 0 .5em;width:100%}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}th,td.n{white-space:nowrap;overflow-wrap:normal}th{background:#f0f0f0}</style></head>
<body><h1>bulk-users report</h1><p>${esc(source)} — ${stats.rows} row(s)${stats.unreadable ? `, ${stats.unreadable} unreadable line(s) skipped` : ""}</p>
${runFacts(stats)}
<section><h2>Totals</h2><div class="totals" id="totals">${totals}<div class="t" style="border-color:#222"><b>${stats.rows}</b><span>total</span></div></div></section>
<section><h2>Throughput and retries</h2>${chart(stats)}</section>
<section><h2>Errors by code</h2>${errors}</section>
</body></html>
`;
}
