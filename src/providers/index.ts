import type { Provider } from "./define.js";

/** Provider name → lazily loaded adapter, so start-up loads none of them. */
export const providers: Record<string, () => Promise<Provider>> = {
  zego: () => import("./zego.js").then((m) => m.default as Provider),
};

export const providerNames = (): string[] => Object.keys(providers).sort();
