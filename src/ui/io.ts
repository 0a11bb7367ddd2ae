import type { Readable } from "node:stream";

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdin?: Readable;
  env: Record<string, string | undefined>;
  /** Install SIGINT/SIGTERM handlers (real process only). */
  handleSignals?: boolean;
}

let pipesGuarded = false;

export function processIO(): CliIO {
  // A reader that went away (`… | head`) leaves no one to read the rest: the run goes on, its
  // report and exit code stand, and the process does not die of an unhandled EPIPE.
  if (!pipesGuarded) {
    pipesGuarded = true;
    for (const s of [process.stdout, process.stderr])
      s.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
      });
  }
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, handleSignals: true };
}
