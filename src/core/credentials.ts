import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { Provider } from "../providers/define.js";
import { maskUrlText } from "../util/url.js";

/** Reads a dotenv-style file (KEY=value lines). */
export function readEnvFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new BulkUsersError(ErrorCode.USAGE, `Env file not found: ${file} (--dotenv)`, { context: { file } });
  }
  return parseEnv(text) as Record<string, string>;
}

/** Picks the provider's variables from the environment; a missing one is a usage error naming it. */
export function resolveCredentials(provider: Provider, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of provider.env) {
    const value = env[v.name];
    if (value !== undefined && value !== "") out[v.name] = value;
  }
  for (const v of provider.env) {
    const needed = v.required === true || (typeof v.required === "string" && !out[v.required]);
    if (needed && !out[v.name]) {
      const alt = typeof v.required === "string" ? ` (or ${v.required})` : "";
      throw new BulkUsersError(ErrorCode.CREDENTIALS_MISSING, `Missing credential: ${v.name}${alt} is not set (${v.description})`, {
        hint: `Set ${v.name} in the environment or in a file passed with --dotenv; try --sandbox to run against the built-in emulator.`,
      });
    }
  }
  return out;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/** HTTPS everywhere but loopback, unless explicitly allowed. */
export function checkEndpoint(endpoint: string, allowInsecure: boolean): void {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new BulkUsersError(ErrorCode.USAGE, `Invalid endpoint URL: ${maskUrlText(endpoint)}`, { hint: "Give a full URL such as https://host:port." });
  }
  if (u.protocol === "https:" || allowInsecure) return;
  if (u.protocol === "http:" && LOOPBACK.test(u.hostname)) return;
  throw new BulkUsersError(ErrorCode.ENDPOINT_INSECURE, `Refusing to send credentials over ${u.protocol.replace(":", "")} to ${u.host}`, {
    hint: "Use an https:// endpoint, or pass --allow-insecure-endpoint if this network is trusted.",
  });
}
