import { Command, CommanderError } from "commander";
import { addRunOptions, runImportCommand } from "./commands/import.js";
import { emulateCommand } from "./commands/emulate.js";
import { mappingCommand } from "./commands/mapping.js";
import { providersCommand } from "./commands/providers.js";
import { reportCommand } from "./commands/report.js";
import { BulkUsersError, ExitCode } from "./errors.js";
import { type CliIO, processIO } from "./ui/io.js";
import { createLogger } from "./ui/logger.js";

const IMPORT_EXAMPLES = `
Examples:
  $ bulk-users import samples/users.csv --provider zego --sandbox
  $ bulk-users import users.csv -p zego -m zego.mapping.yaml --dotenv .env --report run1.jsonl
  $ bulk-users import users.csv -p zego -m zego.mapping.yaml --dotenv .env --resume run1.jsonl

Credentials come from the environment or --dotenv, never from flags (see: bulk-users providers <name>).
BULK_USERS_ENDPOINT sets the endpoint for any provider; a forward proxy comes from HTTPS_PROXY
(HTTP_PROXY, ALL_PROXY; NO_PROXY) in the process environment. Inputs may be gzip (users.csv.gz).
Exit codes: 0 all rows succeeded, 1 some rows invalid/duplicate/failed, 2 usage, mapping,
credential or authentication error, 3 interrupted or stopped by --max-errors.`;

const VALIDATE_EXAMPLES = `
Examples:
  $ bulk-users validate samples/users.csv --provider zego -m samples/zego.mapping.yaml
  $ bulk-users validate export.jsonl -p genauth -m genauth.yaml --report check.csv`;

/**
 * Runs the CLI; returns the exit code. With the real process's IO (the default), `import` and
 * `validate` end the process themselves once their output is flushed (see runImportCommand).
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const log = createLogger(io);
  let code = 0;
  const program = new Command("bulk-users")
    .description("Move user accounts in bulk into hosted identity and chat platforms (CSV/JSONL → batches → report).")
    .version("0.1.0")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // An unknown `--name=value` is echoed without its value: it may be a secret typed on the command line.
      outputError: (s, write) => write(`${log.c.red("error:")} ${s.replace(/^error: /, "").replace(/(unknown option '[^'=]+)=[^']*'/, "$1=…'")}`),
    });

  const imp = addRunOptions(new Command("import").description("import users: read, map, validate, batch, send, report"), true)
    .addHelpText("after", IMPORT_EXAMPLES)
    .action(async (files: string[], o: Record<string, unknown>) => {
      code = await runImportCommand(files, o, io, false, argv);
    });
  const val = addRunOptions(new Command("validate").description("dry run: read, map and validate every row; send nothing, need no credentials"), false)
    .addHelpText("after", VALIDATE_EXAMPLES)
    .action(async (files: string[], o: Record<string, unknown>) => {
      code = await runImportCommand(files, o, io, true, argv);
    });
  program.addCommand(imp).addCommand(val).addCommand(providersCommand(io)).addCommand(mappingCommand(io)).addCommand(reportCommand(io));
  program.addCommand(
    emulateCommand(io, (c) => {
      code = c;
    }),
  );
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  all(program).forEach((c) => c.exitOverride().showSuggestionAfterError(true).configureOutput(program.configureOutput()));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return ExitCode.USAGE;
    }
    if (e instanceof BulkUsersError) {
      log.error(e.message, e.hint);
      return e.exitCode;
    }
    log.error(`unexpected failure: ${(e as Error).stack ?? String(e)}`);
    return ExitCode.USAGE;
  }
  return code;
}
