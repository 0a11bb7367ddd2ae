import type { EmulatorDefinition } from "./_base.js";

/** Provider name → lazily loaded emulator definition. */
export const emulators: Record<string, () => Promise<EmulatorDefinition>> = {
  zego: () => import("./zego.js").then((m) => m.default),
  imkit: () => import("./imkit.js").then((m) => m.default),
  genauth: () => import("./genauth.js").then((m) => m.default),
  royalti: () => import("./royalti.js").then((m) => m.default),
  "huawei-workspace": () => import("./huawei-workspace.js").then((m) => m.default),
};

export type { Emulator, EmulatorDefinition, EmulatorOptions, FaultOptions } from "./_base.js";
