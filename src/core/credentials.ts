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

/** Loopback host names: plain http is allowed there, and no proxy is used. */
export const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/**
 * The endpoint variable every provider reads (after --endpoint, before its own variable): a
 * proxy's `user:password@` or token belongs in the environment, not on a command line anyone on
 * the machine can list.
 */
export const ENDPOINT_ENV = "BULK_USERS_ENDPOINT";

/** The endpoint a run sends to, and where it was set (named in errors and hints). */
export function resolveEndpoint(provider: Provider, flag: string | undefined, env: Record<string, string | undefined>): { endpoint: string; from: string } {
  if (flag !== undefined) return { endpoint: flag, from: "--endpoint" };
  const shared = env[ENDPOINT_ENV];
  if (shared) return { endpoint: shared, from: ENDPOINT_ENV };
  const own = provider.defaultEndpoint(env as Record<string, string>);
  if (own) return { endpoint: own, from: provider.endpointEnv && env[provider.endpointEnv] ? provider.endpointEnv : `${provider.name}'s default endpoint` };
  throw new BulkUsersError(ErrorCode.CREDENTIALS_MISSING, `Missing endpoint: ${provider.endpointEnv ?? "the base URL"} is not set`, {
    hint: `Set ${provider.endpointEnv ? `${provider.endpointEnv} or ` : ""}${ENDPOINT_ENV}, or pass --endpoint URL.`,
  });
}

const PROXY_VARS = ["https_proxy", "http_proxy", "all_proxy"].flatMap((k) => [k, k.toUpperCase()]);

/** The proxy variables of the process environment that are set (src/core/proxy.ts reads them; its agents load only then). */
export const proxyValues = (env: NodeJS.ProcessEnv = process.env): string[] => PROXY_VARS.map((k) => env[k]).filter((v): v is string => !!v);

/** A proxy value as a URL's text: without a scheme it is an http:// proxy, as curl reads it. */
export const withScheme = (v: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`);

/** The proxy values of the environment that parse, as URLs (for their secrets). */
export const proxyUrls = (env: NodeJS.ProcessEnv = process.env): URL[] =>
  proxyValues(env).flatMap((v) => {
    try {
      return [new URL(withScheme(v))];
    } catch {
      return [];
    }
  });

/**
 * The variable a request over `protocol` takes its proxy from, as curl (and proxy-from-env)
 * choose it: `https_proxy` (or `http_proxy`), else `all_proxy`, lower case before upper. It is
 * checked before anything is opened: a value that does not parse (or a SOCKS proxy) is a usage
 * error naming it, not a crash at the first request after its rows were journaled as sent.
 * Variables the run would not use are left alone.
 */
export function checkProxy(protocol: string, env: NodeJS.ProcessEnv = process.env): void {
  const scheme = protocol.replace(/:$/, "");
  const name = [`${scheme}_proxy`, `${scheme}_proxy`.toUpperCase(), "all_proxy", "ALL_PROXY"].find((k) => env[k]);
  if (!name) return;
  const value = env[name]!;
  let u: URL | undefined;
  try {
    u = new URL(withScheme(value));
  } catch {
    u = undefined;
  }
  if (!u || !u.hostname || (u.protocol !== "http:" && u.protocol !== "https:"))
    // Masked as the URL it is read as, so a `user:password@` without a scheme is masked too; shown as given.
    throw new BulkUsersError(ErrorCode.USAGE, `Invalid proxy in ${name}: ${withScheme(value) === value ? maskUrlText(value) : maskUrlText(withScheme(value)).slice("http://".length)}`, {
      hint: "Give a URL such as http://proxy.example:3128 (http:// or https://; SOCKS proxies are not supported), or unset it.",
    });
}

/** HTTPS everywhere but loopback, unless explicitly allowed. `from` names where the endpoint was set. */
export function checkEndpoint(endpoint: string, allowInsecure: boolean, from = "--endpoint"): void {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new BulkUsersError(ErrorCode.USAGE, `Invalid endpoint URL (${from}): ${maskUrlText(endpoint)}`, { hint: "Give a full URL such as https://host:port." });
  }
  if (u.protocol === "https:" || allowInsecure) return;
  if (u.protocol === "http:" && LOOPBACK_HOST.test(u.hostname)) return;
  throw new BulkUsersError(ErrorCode.ENDPOINT_INSECURE, `Refusing to send credentials over ${u.protocol.replace(":", "")} to ${u.host} (${from})`, {
    hint: "Use an https:// endpoint, or pass --allow-insecure-endpoint if this network is trusted.",
  });
}
