/**
 * `URL.canParse(s)`, right on Node 20 and 22 too. There, once V8 optimises the caller, a string of
 * one-byte characters reaches the parser as Latin-1 bytes read as UTF-8, so after a few thousand
 * calls a host such as `bücher.de` stops parsing (Node 24 has it right). Text with a non-ASCII
 * character goes through `new URL`, which takes no such path; ASCII, the usual case, stays fast.
 */
export function canParseUrl(s: string): boolean {
  if (!/[^\x00-\x7f]/.test(s)) return URL.canParse(s);
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * A URL's user info (`user:password@`) as `***@`, even where the URL does not parse: up to the
 * last `@`, since an unencoded password may hold `/` or `#` (a path's `@` over-masks, harmlessly).
 */
export const withoutUserInfo = (s: string): string => s.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");

/** Query values that sign or authenticate a request are never echoed (a signature's version or method is no secret). */
const SECRET_QUERY = /sign|token|secret|key|password|auth/i;
const PUBLIC_QUERY = /(?:version|method)$/i;
const isSecretQuery = (k: string): boolean => SECRET_QUERY.test(k) && !PUBLIC_QUERY.test(k);

/** A URL's secrets as `***` in text that does not parse as one: its user info and secret query values. */
export const maskUrlText = (s: string): string =>
  withoutUserInfo(s).replace(/([?&])([^=&#]*)=([^&#]*)/g, (m, sep: string, k: string, v: string) => (v && isSecretQuery(k) ? `${sep}${k}=***` : m));

/** A parsed URL with its password and secret query values as `***` (the user name stays: it says which account). */
export function maskUrl(u: URL): URL {
  const out = new URL(u);
  for (const k of new Set(out.searchParams.keys())) if (isSecretQuery(k)) out.searchParams.set(k, "***");
  if (out.password) out.password = "***";
  return out;
}

/**
 * What a URL carries that must not be echoed, in every form an answer may hold it: the password
 * as written and decoded, `user:password` (a Basic header's text), and secret query values.
 */
export function urlSecrets(u: URL): string[] {
  const out: string[] = [];
  const decoded = (s: string): string | undefined => {
    try {
      return decodeURIComponent(s);
    } catch {
      return undefined;
    }
  };
  if (u.password) {
    out.push(u.password);
    const user = decoded(u.username);
    const password = decoded(u.password);
    if (user !== undefined && password !== undefined) out.push(password, `${user}:${password}`);
  }
  for (const [k, v] of u.searchParams) if (isSecretQuery(k) && v !== "") out.push(v);
  return out;
}

/**
 * An API route under an endpoint: the route's path after the endpoint's own (its trailing slashes
 * dropped), and the route's query after the endpoint's (a proxy's `?access_token=…` stays first,
 * and the route's path no longer lands inside it).
 */
export function apiUrl(endpoint: string, path: string, query?: string): string {
  const u = new URL(endpoint);
  u.pathname = u.pathname.replace(/\/+$/, "") + path;
  u.search = [u.search.slice(1), query].filter(Boolean).join("&");
  return u.toString();
}
