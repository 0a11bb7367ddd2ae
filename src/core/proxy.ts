import type { Agent } from "node:http";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";
import { getProxyForUrl } from "proxy-from-env";
import debug from "debug";
import { LOOPBACK_HOST, proxyValues, withScheme } from "./credentials.js";

// The agents' debug output (DEBUG=* in a CI job) prints the proxy URL with its password and
// whole requests with their credentials: those namespaces stay off whatever DEBUG says.
// Their sub-namespaces too (`https-proxy-agent:parse-proxy-response` prints the proxy's answer).
debug.enable([debug.disable(), ...["https-proxy-agent", "http-proxy-agent", "agent-base"].flatMap((n) => [`-${n}`, `-${n}:*`])].filter(Boolean).join(","));

/**
 * The forward proxy a request to `url` goes through, as curl and npm choose it: HTTPS_PROXY
 * (HTTP_PROXY for http://), else ALL_PROXY, unless NO_PROXY names the host; "" for none.
 */
export function proxyFor(url: URL): string {
  // Loopback is never proxied: a proxy cannot reach this machine's loopback.
  if (LOOPBACK_HOST.test(url.hostname)) return "";
  const proxy = getProxyForUrl(url);
  if (!proxy.startsWith(`${url.protocol}//`)) return proxy;
  // proxy-from-env gives a value without a scheme the target's (https://proxy:3128): curl takes it as http://.
  const raw = proxy.slice(url.protocol.length + 2);
  return proxyValues().includes(raw) ? withScheme(raw) : proxy;
}

/** Agents for the proxies in use, keep-alive like the direct ones: one per proxy and scheme. */
const agents = new Map<string, Agent>();

/** The agent for a request to `url`: through its proxy, or undefined to go direct. */
export function proxyAgentFor(url: URL): Agent | undefined {
  const proxy = proxyFor(url);
  if (!proxy) return undefined;
  const key = `${url.protocol} ${proxy}`;
  let agent = agents.get(key);
  if (!agent) {
    // https: a CONNECT tunnel, so TLS runs end to end and the proxy sees only the host.
    agent = url.protocol === "https:" ? new HttpsProxyAgent(proxy, { keepAlive: true }) : new HttpProxyAgent(proxy, { keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
}
