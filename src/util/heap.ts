import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** V8's default: each growth doubles the young generation. */
const DEFAULT_FACTOR = 2;

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;

/**
 * Keeps V8's young generation at about `mb` MiB for a long run. V8 grows it whenever enough has
 * survived since it last grew, so over a million rows it reaches 32 MiB (16 MiB semi-spaces) and
 * stays there. Only the growth factor can be changed once the process runs (`--max-semi-space-size`
 * is read at start-up), so after each collection this turns growth off at the size and back on
 * below it. Collections are observed only when the event loop turns, which a busy pipeline may
 * not let happen for a while: it calls `check` too (the CLI does on each progress tick). A
 * `--max-semi-space-size` given to node wins.
 */
export function capYoungGeneration(mb = 8, execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): { check(): void; undo(): void } {
  if ([...execArgv, nodeOptions].some((a) => a.includes("semi-space-size") || a.includes("semi_space_size"))) return { check() {}, undo() {} };
  const limit = mb * 1024 * 1024;
  let growing = true;
  const check = () => {
    const grow = newSpace() < limit;
    // Set again at each check: a new isolate (a worker) resets the factor to at least 2.
    if (grow && growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? DEFAULT_FACTOR : 1}`);
  };
  const obs = new PerformanceObserver(check);
  obs.observe({ entryTypes: ["gc"] });
  return {
    check,
    undo() {
      obs.disconnect();
      if (!growing) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_FACTOR}`);
      growing = true;
    },
  };
}
