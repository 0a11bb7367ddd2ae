import type { Readable } from "node:stream";

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdin?: Readable;
  env: Record<string, string | undefined>;
  /** Install SIGINT/SIGTERM handlers (real process only). */
  handleSignals?: boolean;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, handleSignals: true };
}
