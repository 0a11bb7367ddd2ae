import type { Progress } from "../core/import.js";
import type { CliIO } from "./io.js";

export interface ProgressView {
  update(p: Progress): void;
  stop(): void;
}

const rate = (p: Progress) => (p.elapsedMs > 0 ? Math.round((p.sent / p.elapsedMs) * 1000) : 0);
const failed = (p: Progress) => p.counts.failed + p.counts.invalid + p.counts.duplicate;

/** A cli-progress bar on a terminal; a plain line every few seconds otherwise (CI logs). */
export async function createProgress(io: CliIO, opts: { enabled: boolean; intervalMs?: number }): Promise<ProgressView> {
  if (!opts.enabled) return { update() {}, stop() {} };
  if (io.stderr.isTTY) {
    const { default: cliProgress } = await import("cli-progress");
    const bar = new cliProgress.SingleBar(
      {
        format: "{spinner} read {read} | sent {sent} | ok {ok} | failed {failed} | {rate} users/s | retries {retries}",
        stream: io.stderr as NodeJS.WritableStream,
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    const spin = ["|", "/", "-", "\\"];
    let i = 0;
    let started = false;
    return {
      update(p) {
        // Drawn on the first progress, so a run refused up front leaves no empty bar.
        if (!started) {
          started = true;
          bar.start(0, 0, { read: 0, sent: 0, ok: 0, failed: 0, rate: 0, retries: 0, spinner: spin[0] });
        }
        const c = p.counts;
        bar.update(0, { read: p.read, sent: p.sent, ok: c.created + c.updated + c.upserted + c.exists + c.valid, failed: failed(p), rate: rate(p), retries: p.retries, spinner: spin[++i % 4] });
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  const every = opts.intervalMs ?? 5000;
  let last = 0;
  return {
    update(p) {
      if (p.elapsedMs - last < every) return;
      last = p.elapsedMs;
      const c = p.counts;
      io.stderr.write(
        `[${(p.elapsedMs / 1000).toFixed(0)}s] read ${p.read}, sent ${p.sent}, ok ${c.created + c.updated + c.upserted + c.exists + c.valid}, failed ${failed(p)}, ${rate(p)} users/s, retries ${p.retries}\n`,
      );
    },
    stop() {},
  };
}
