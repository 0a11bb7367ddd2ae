import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { main } from "../src/cli.js";
import type { HttpResponse } from "../src/providers/define.js";
import type { ReportRow } from "../src/types.js";

export function tmp(prefix = "bu-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function write(dir: string, name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

export function readReport(path: string): ReportRow[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ReportRow);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with its own streams and environment. */
export async function runCli(argv: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; tty?: boolean; stdoutTty?: boolean } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.stdoutTty ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: opts.tty ?? false },
    stdin: opts.stdin === undefined ? undefined : Readable.from([opts.stdin]),
    env: { NO_COLOR: "1", ...opts.env },
  });
  return { code, stdout, stderr };
}

/** A CSV text from rows of cells. */
export function csv(header: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number) => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[header, ...rows].map((r) => r.map(cell).join(",")).join("\n")}\n`;
}

/** Counts, per key, how often the emulator stored it. */
export function multiplicity(users: Record<string, unknown>[], key: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const u of users) m.set(String(u[key]), (m.get(String(u[key])) ?? 0) + 1);
  return m;
}

/** Largest number of arrivals inside any window of `ms`. */
export function maxInWindow(arrivals: number[], ms: number): number {
  const a = [...arrivals].sort((x, y) => x - y);
  let best = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    while (a[i]! - a[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** A canned vendor answer, for adapters' parseResponse. */
export function fakeResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(headers), text, json };
}

/** Starts `bulk-users emulate …` through bin/ and waits for its banner. */
export async function startEmulator(args: string[], extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, ["bin/bulk-users.js", "emulate", ...args, "--port", "0"], { env: { ...process.env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no banner: ${out}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      if (/Users: GET/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  const stop = () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once("exit", () => r()), child.kill("SIGINT"))));
  return { out, url, stop };
}
