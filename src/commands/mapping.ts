import { existsSync, writeFileSync } from "node:fs";
import { dirname, extname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { delimiter } from "./import.js";
import type { CliIO } from "../ui/io.js";
import { createLogger, oneLine } from "../ui/logger.js";
import { deeperThan, MAX_OBJECT_DEPTH } from "../util/depth.js";

const SCHEMA = resolve(dirname(fileURLToPath(import.meta.url)), "../../schema/mapping.schema.json");

export function mappingCommand(io: CliIO): Command {
  const init = new Command("init")
    .description("propose a mapping file from an input's columns (CSV header or JSONL keys)")
    .argument("<file>", "a CSV or JSONL export")
    .requiredOption("-p, --provider <name>", "provider to map to")
    .option("-o, --output <file>", "write the mapping here (default: print it)")
    .option("--force", "overwrite the output file")
    .addOption(new Option("--format <format>", "input format, when the extension does not tell").choices(["csv", "jsonl"]))
    .addOption(new Option("--delimiter <char>", "CSV delimiter (default: , or tab for .tsv)").argParser(delimiter))
    .addHelpText(
      "after",
      "\nExamples:\n  $ bulk-users mapping init samples/exports/hr-export.csv -p zego -o zego.yaml\n  $ bulk-users mapping init samples/exports/auth0-users.jsonl -p genauth\n",
    )
    .action(async (file: string, o: { provider: string; output?: string; force?: boolean; format?: "csv" | "jsonl"; delimiter?: string }) => {
      const log = createLogger(io);
      const { loadProvider } = await import("../providers/index.js");
      const { checkInput } = await import("../readers/index.js");
      const { optionLines, propose, renderMapping, sampleInput } = await import("../mapping/init.js");
      const provider = await loadProvider(o.provider);
      await checkInput(file);
      // A .json mapping is read as JSON, and the proposal is YAML with a comment on every guess.
      if (o.output && extname(o.output).toLowerCase() === ".json")
        throw new BulkUsersError(ErrorCode.USAGE, `mapping init writes YAML (a comment on every guess), which a .json mapping cannot hold: ${o.output}`, {
          hint: "Give a .yaml path, e.g. -o mapping.yaml; convert it to JSON once checked, if JSON is wanted.",
        });
      if (o.output && (await import("../core/resume.js")).samePath(o.output, file))
        throw new BulkUsersError(ErrorCode.USAGE, `-o ${o.output} is the input${o.output === file ? "" : ` ${file}`}`, { hint: "Write the mapping to a file of its own, e.g. -o mapping.yaml." });
      if (o.output && existsSync(o.output) && !o.force)
        throw new BulkUsersError(ErrorCode.USAGE, `Refusing to overwrite ${o.output}`, { hint: "Pass --force, or choose another -o file." });
      const { columns, rows } = await sampleInput(file, { format: o.format, delimiter: o.delimiter });
      const p = propose(provider, columns, rows);
      const schemaRef = o.output ? relative(dirname(resolve(o.output)), SCHEMA) : SCHEMA;
      const text = renderMapping(provider, p, schemaRef, file);
      if (o.output) {
        try {
          // Without --force, created or refused in one step: checked and then written, a file (or a
          // dangling symlink's target) appearing in between was overwritten.
          writeFileSync(o.output, text, { flag: o.force ? "w" : "wx" });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new BulkUsersError(ErrorCode.USAGE, `Refusing to overwrite ${o.output}`, { hint: "Pass --force, or choose another -o file." });
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
  const preview = new Command("preview")
    .description("show what the first rows of an input map to, and what validation says of each (secret fields masked)")
    .argument("<file>", "a CSV or JSONL input")
    .requiredOption("-p, --provider <name>", "provider to map to")
    .option("-m, --mapping <file>", "mapping file (default: columns named like the provider's fields)")
    .option("-n, --rows <n>", "rows to show", "5")
    .option("--json", "print one JSON object per row")
    .addOption(new Option("--delimiter <char>", "CSV delimiter (default: , or tab for .tsv)").argParser(delimiter))
    .addOption(new Option("--format <format>", "input format, when the extension does not tell").choices(["csv", "jsonl"]))
    .addHelpText("after", "\nExamples:\n  $ bulk-users mapping preview samples/users.csv -p zego -m samples/zego.mapping.yaml\n  $ bulk-users mapping preview samples/exports/auth0-users.jsonl -p genauth -m genauth.yaml -n 3 --json\n")
    .action(async (file: string, o: { provider: string; mapping?: string; rows: string; json?: boolean; delimiter?: string; format?: "csv" | "jsonl" }) => {
      const n = Number(o.rows);
      if (!/^\d+$/.test(o.rows.trim()) || n < 1) throw new BulkUsersError(ErrorCode.USAGE, `--rows must be a whole number from 1, got \`${o.rows}\``);
      const { previewMapping } = await import("../mapping/preview.js");
      const logger = createLogger(io);
      const rows = await previewMapping({ file, provider: o.provider, mapping: o.mapping, rows: n, format: o.format, delimiter: o.delimiter, log: (m) => logger.info(m) });
      const c = logger.c;
      for (const r of rows) {
        // JSON.stringify of a value thousands of levels deep would overflow the stack.
        for (const [k, v] of Object.entries(r.user)) if (deeperThan(v, MAX_OBJECT_DEPTH - 1)) r.user[k] = `(a value nested more than ${MAX_OBJECT_DEPTH} levels deep)`;
        if (o.json) {
          io.stdout.write(`${JSON.stringify(r)}\n`);
          continue;
        }
        const head = `${r.file}, line ${r.line}`;
        io.stdout.write(`${c.bold(oneLine(head))} ${r.issues.length ? c.red("invalid") : c.green("valid")}\n`);
        for (const [k, v] of Object.entries(r.user)) io.stdout.write(`  ${oneLine(k)}: ${oneLine(JSON.stringify(v))}\n`);
        for (const i of r.issues) io.stdout.write(c.red(`  ✗ ${oneLine(i.field || "(row)")} ${oneLine(i.code)}: ${oneLine(i.message)}\n`));
      }
    });
  return new Command("mapping").description("write and check mapping files").addCommand(init).addCommand(preview);
}
