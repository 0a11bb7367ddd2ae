import { Command } from "commander";
import type { CliIO } from "../ui/io.js";
import { colors } from "../ui/logger.js";

export function providersCommand(io: CliIO): Command {
  return new Command("providers")
    .description("list providers, or show one's fields, limits, credentials and an example mapping")
    .argument("[name]", "provider name")
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExamples:\n  $ bulk-users providers\n  $ bulk-users providers zego\n  $ bulk-users providers genauth --json")
    .action(async (name: string | undefined, o: { json?: boolean }) => {
      const { providers, providerNames, loadProvider } = await import("../providers/index.js");
      const { optionLines } = await import("../mapping/init.js");
      const { ENDPOINT_ENV } = await import("../core/credentials.js");
      const c = colors(io, "stdout");
      const names = name ? [name] : providerNames();
      const list = [];
      for (const n of names) {
        const p = await (name ? loadProvider(n) : providers[n]!());
        list.push({
          name: p.name,
          title: p.title,
          docs: p.docs,
          key: p.key,
          maxBatch: p.maxBatch,
          rate: { requests: p.rate.limit, perMs: p.rate.intervalMs },
          endpoint: p.defaultEndpoint({}) ?? null,
          endpointEnv: p.endpointEnv ?? null,
          env: p.env.map((e) => ({ name: e.name, required: e.required, secret: e.secret, description: e.description })),
          fields: Object.fromEntries(
            Object.entries(p.fields).map(([f, s]) => [
              f,
              {
                type: s.type,
                required: s.required === true,
                ...(s.maxBytes !== undefined && { maxBytes: s.maxBytes }),
                ...(s.maxLength !== undefined && { maxLength: s.maxLength }),
                ...(s.minLength !== undefined && { minLength: s.minLength }),
                ...(s.patternHint !== undefined && { allowed: s.patternHint }),
                ...(s.enum && { enum: s.enum }),
                ...(s.format && { format: s.format }),
                ...(s.maxItems !== undefined && { maxItems: s.maxItems }),
                ...((s.unique || s.uniqueIgnoreCase) && { unique: true }),
                ...(s.secret && { secret: true }),
                description: s.description,
              },
            ]),
          ),
          options: Object.fromEntries(
            optionLines(p).map((l) => [l.key, { type: l.type, ...(l.choose && { mustChoose: true }), ...(l.description && { description: l.description }) }]),
          ),
          exampleMapping: p.exampleMapping,
        });
      }
      if (o.json) return void io.stdout.write(`${JSON.stringify(name ? list[0] : list, null, 2)}\n`);
      if (!name) {
        for (const p of list) io.stdout.write(`${c.bold(p.name.padEnd(18))}${p.title} — ${p.maxBatch}/request, ${p.rate.requests} req/${p.rate.perMs / 1000}s\n`);
        io.stdout.write("\nDetails: bulk-users providers <name>\n");
        return;
      }
      const p = list[0]!;
      const out: string[] = [c.bold(`${p.name}: ${p.title}`), `docs: ${p.docs}`, `unique key: ${p.key}`, `batch: at most ${p.maxBatch} users a request`, `rate: ${p.rate.requests} requests per ${p.rate.perMs} ms`];
      out.push(`endpoint: ${p.endpoint ? `${p.endpoint} (${ENDPOINT_ENV} or --endpoint sends elsewhere)` : `(none: set ${p.endpointEnv}, ${ENDPOINT_ENV} or --endpoint)`}`, "", c.bold("credentials (environment or --dotenv):"));
      // The endpoint's variable, where there is no default endpoint, is needed unless --endpoint is given.
      const need = (e: (typeof p.env)[number]) =>
        e.required === true ? "required" : typeof e.required === "string" ? `required unless ${e.required}` : e.name === p.endpointEnv && !p.endpoint ? `required unless --endpoint or ${ENDPOINT_ENV}` : "optional";
      for (const e of p.env) out.push(`  ${e.name.padEnd(26)}${need(e)}${e.secret ? ", secret" : ""} — ${e.description}`);
      out.push("", c.bold("fields:"));
      const width = Math.max(22, ...Object.keys(p.fields).map((f) => f.length + 2));
      for (const [f, s] of Object.entries(p.fields)) {
        const rules = Object.entries(s)
          .filter(([k]) => k !== "description" && k !== "type")
          .filter(([, v]) => v !== false)
          .map(([k, v]) => (v === true ? k : `${k} ${Array.isArray(v) ? v.join("|") : v}`));
        out.push(`  ${f.padEnd(width)}${s.type}${rules.length ? ` (${rules.join(", ")})` : ""} — ${s.description}`);
      }
      const opts = Object.entries(p.options);
      out.push("", c.bold("options (the mapping's options:):"));
      if (!opts.length) out.push("  none: an options: key is refused");
      const ow = Math.max(width, ...opts.map(([k]) => k.length + 2));
      for (const [k, o] of opts) out.push(`  ${k.padEnd(ow)}${o.type}${o.mustChoose ? " (must be chosen: the run is refused until it is set)" : ""}${o.description ? ` — ${o.description}` : ""}`);
      out.push("", c.bold("example mapping:"), ...p.exampleMapping.trimEnd().split("\n").map((l) => `  ${l}`));
      io.stdout.write(`${out.join("\n")}\n`);
    });
}
