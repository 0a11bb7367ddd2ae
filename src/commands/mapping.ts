import { existsSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { CliIO } from "../ui/io.js";
import { createLogger } from "../ui/logger.js";

const SCHEMA = resolve(dirname(fileURLToPath(import.meta.url)), "../../schema/mapping.schema.json");

export function mappingCommand(io: CliIO): Command {
  const init = new Command("init")
    .description("propose a mapping file from an input's columns (CSV header or JSONL keys)")
    .argument("<file>", "a CSV or JSONL export")
    .requiredOption("-p, --provider <name>", "provider to map to")
    .option("-o, --output <file>", "write the mapping here (default: print it)")
    .option("--force", "overwrite the output file")
    .addOption(new Option("--format <format>", "input format, when the extension does not tell").choices(["csv", "jsonl"]))
    .addHelpText(
      "after",
      "\nExamples:\n  $ bulk-users mapping init samples/exports/hr-export.csv -p zego -o zego.yaml\n  $ bulk-users mapping init samples/exports/auth0-users.jsonl -p genauth\n",
    )
    .action(async (file: string, o: { provider: string; output?: string; force?: boolean; format?: "csv" | "jsonl" }) => {
      const log = createLogger(io);
      const { loadProvider } = await import("../providers/index.js");
      const { checkInput } = await import("../readers/index.js");
      const { optionLines, propose, renderMapping, sampleInput } = await import("../mapping/init.js");
      const provider = await loadProvider(o.provider);
      await checkInput(file);
      if (o.output && existsSync(o.output) && !o.force)
        throw new BulkUsersError(ErrorCode.USAGE, `Refusing to overwrite ${o.output}`, { hint: "Pass --force, or choose another -o file." });
      const { columns, rows } = await sampleInput(file, { format: o.format });
      const p = propose(provider, columns, rows);
      const schemaRef = o.output ? relative(dirname(resolve(o.output)), SCHEMA) : SCHEMA;
      const text = renderMapping(provider, p, schemaRef, file);
      if (o.output) {
        try {
          writeFileSync(o.output, text);
        } catch (e) {
          throw new BulkUsersError(ErrorCode.USAGE, `Cannot write ${o.output}: ${(e as Error).message}`, { hint: "Choose a path in a folder that exists." });
        }
        log.info(`Wrote ${o.output}: ${p.guesses.filter((g) => !g.off).length} field(s) guessed — check them, then: bulk-users validate ${file} -p ${provider.name} -m ${o.output}`);
      } else io.stdout.write(text);
      for (const g of p.guesses.filter((x) => x.check))
        log.warn(`${g.field} ← ${g.value}: ${g.check}${g.off ? " — left commented out" : ""}`);
      const required = p.unmapped.filter((u) => u.required);
      if (required.length) log.warn(`Could not map required field(s): ${required.map((u) => u.field).join(", ")} — fill them in (columns: ${columns.join(", ")})`);
      const optional = p.unmapped.filter((u) => !u.required);
      if (optional.length) log.info(`Not mapped (optional): ${optional.map((u) => u.field).join(", ")}`);
      for (const opt of optionLines(provider).filter((x) => x.choose)) {
        const why = provider.checkOptions?.({}, { dryRun: false }).error;
        log.warn(`Choose options.${opt.key} (written as false)${why ? `: ${why}` : ""}`);
      }
    });
  return new Command("mapping").description("write and check mapping files").addCommand(init);
}
