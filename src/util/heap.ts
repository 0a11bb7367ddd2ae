import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import type { Worker } from "node:worker_threads";

/** V8's defaults: each growth doubles the young generation; the old one's growth is dynamic (0). */
const DEFAULT_FACTOR = 2;
const DEFAULT_OLD_GROWTH = 0;
/** V8 versions known to have both flags (Node 20 to 25): elsewhere an unknown flag would print an error. */
const KNOWN_V8 = (v: string) => {
  const major = Number(v.split(".")[0]);
  return major >= 11 && major <= 14;
};

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;

/** How node was started: its own flags and NODE_OPTIONS, and its V8. */
interface NodeStart {
  execArgv: readonly string[];
  nodeOptions: string;
  v8: string;
}

const thisNode = (): NodeStart => ({ execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS ?? "", v8: process.versions.v8 });

/** Node was given a flag naming `part` (V8 takes `-` and `_` alike). */
const given = (start: NodeStart, part: string) => [...start.execArgv, start.nodeOptions].some((a) => a.includes(part) || a.includes(part.replaceAll("-", "_")));

export interface HeapTuning {
  /** Re-applies the young generation's cap; a busy pipeline calls it (the CLI, on each progress tick). */
  check(): void;
  /** Back to V8's defaults. */
  undo(): void;
}

const NOOP: HeapTuning = { check() {}, undo() {} };

/**
 * Sizes V8's heap for a long streaming run, where almost nothing lives long. Left alone, V8 grows
 * the young generation whenever enough has survived since it last grew, so over a million rows it
 * reaches 32 MiB of new space and stays there, and it lets the old generation grow to about three
 * times what is live before collecting it. Both cost ~35 MiB at 1M rows for no measured speed-up.
 * Only flags read at each collection can change once the process runs (`--max-semi-space-size` is
 * read at start-up): the young generation stops growing at `youngMb` (its growth factor set to 1,
 * and back to 2 below it), and the old generation may grow by `oldGrowthPercent` over what is live
 * (V8 still leaves at least 8 MiB). Collections are observed only when the event loop turns, which
 * a busy pipeline may not allow for a while: hence `check`. A new isolate (a worker) resets the
 * factor to at least 2 as it starts, so each worker's start is followed by a check too; one doubling
 * can slip through before it if the cap was already reached (not for a run's first file: its
 * parse thread starts before). Node flags given by the user (`--max-semi-space-size`,
 * `--heap-growing-percent`) win.
 */
export function tuneHeap({ youngMb = 8, oldGrowthPercent = 20 } = {}, env: NodeStart = thisNode()): HeapTuning {
  if (!KNOWN_V8(env.v8)) return NOOP;
  const capYoung = !given(env, "semi-space");
  const capOld = !given(env, "heap-growing-percent");
  if (!capYoung && !capOld) return NOOP;
  if (capOld) setFlagsFromString(`--heap-growing-percent=${oldGrowthPercent}`);
  const limit = youngMb * 1024 * 1024;
  let growing = true;
  const check = () => {
    const grow = newSpace() < limit;
    // Set again at each check above the cap: a worker's start resets the factor to at least 2.
    if (grow && growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? DEFAULT_FACTOR : 1}`);
  };
  const undoOld = () => {
    if (capOld) setFlagsFromString(`--heap-growing-percent=${DEFAULT_OLD_GROWTH}`);
  };
  if (!capYoung) return { check() {}, undo: undoOld };
  const obs = new PerformanceObserver(check);
  const onWorker = (w: Worker) => w.once("online", check);
  obs.observe({ entryTypes: ["gc"] });
  process.on("worker", onWorker);
  return {
    check,
    undo() {
      obs.disconnect();
      process.off("worker", onWorker);
      if (!growing) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_FACTOR}`);
      growing = true;
      undoOld();
    },
  };
}

/**
 * Starts a worker whose young generation begins at its full size (`semiMb` per semi-space, within
 * its resource limits). The growth factor is the process's, not an isolate's: once `tuneHeap` has
 * turned it off for the main thread, a worker would otherwise stay at V8's initial 1 MiB and
 * promote most of what it parses. `--min-semi-space-size` is read when an isolate is made, so it is
 * set for the new one only, until the worker is online.
 */
export function startWorkerAtFullYoung<W extends Worker>(semiMb: number, start: () => W): W {
  const node = thisNode();
  if (!KNOWN_V8(node.v8) || given(node, "min-semi-space")) return start();
  const reset = () => setFlagsFromString("--min-semi-space-size=0");
  setFlagsFromString(`--min-semi-space-size=${semiMb}`);
  let w: W;
  try {
    w = start();
  } catch (e) {
    reset();
    throw e;
  }
  w.once("online", reset);
  w.once("exit", reset);
  return w;
}
