import { BulkUsersError, ErrorCode } from "../errors.js";
import { closest } from "../util/suggest.js";
import type { Provider } from "./define.js";

/** Provider name → lazily loaded adapter, so start-up loads none of them. */
export const providers: Record<string, () => Promise<Provider>> = {
  zego: () => import("./zego.js").then((m) => m.default as Provider),
  imkit: () => import("./imkit.js").then((m) => m.default as Provider),
  genauth: () => import("./genauth.js").then((m) => m.default as Provider),
  royalti: () => import("./royalti.js").then((m) => m.default as Provider),
  "huawei-workspace": () => import("./huawei-workspace.js").then((m) => m.default as Provider),
};

export const providerNames = (): string[] => Object.keys(providers).sort();

export async function loadProvider(name: string): Promise<Provider> {
  // An own key only: `__proto__` or `toString` must be an unknown provider, not Object's member.
  const load = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!load) {
    const guess = closest(name, providerNames());
    throw new BulkUsersError(ErrorCode.PROVIDER_UNKNOWN, `Unknown provider \`${name}\``, {
      hint: `${guess ? `Did you mean \`${guess}\`? ` : ""}Providers: ${providerNames().join(", ")}.`,
    });
  }
  return load();
}
