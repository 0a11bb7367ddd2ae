// proxy-from-env 2 ships no types.
declare module "proxy-from-env" {
  /** The proxy URL for a request to `url` from *_PROXY, ALL_PROXY and NO_PROXY in process.env; "" for none. */
  export function getProxyForUrl(url: string | URL): string;
}
