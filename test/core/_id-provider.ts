import type { SendItem } from "../../src/core/sender.js";
import { defineProvider, type BatchResult } from "../../src/providers/define.js";

/**
 * A fake provider for the sender tests: it posts the batch's ids as a JSON array to the endpoint
 * and takes the answer's JSON as the batch result, so a test's server decides every outcome.
 */
export const idProvider = (url: () => string) =>
  defineProvider({
    name: "fake",
    title: "fake",
    docs: "",
    key: "id",
    maxBatch: 8,
    rate: { limit: 1000, intervalMs: 1000 },
    fields: { id: { type: "string", required: true, description: "id" } },
    env: [],
    exampleMapping: "",
    defaultEndpoint: url,
    buildRequest: (users, ctx) => ({ method: "POST", url: ctx.endpoint, headers: {}, body: JSON.stringify(users.map((u) => u.id)) }),
    parseResponse: (res) => res.json as BatchResult,
  });

/** One send item per id, its line the id's index. */
export const itemsFor = (ids: string[]): SendItem[] => ids.map((id, line) => ({ record: { file: "f", fileIndex: 0, line, data: {} }, user: { id }, key: id, attempts: 0 }));

/** The items as `n` groups, as the import feeds the sender; `pulled` is called as each is taken. */
export async function* inGroups(items: SendItem[], n: number, pulled: () => void): AsyncGenerator<SendItem[]> {
  const size = Math.ceil(items.length / n);
  for (let i = 0; i < items.length; i += size) {
    pulled();
    yield items.slice(i, i + size);
  }
}
