// Runs the CLI in this process and prints its peak RSS (KiB) to stderr as `RSS_KB=n` (at exit:
// an import or validate run ends the process itself once its output is flushed).
import { main } from "../dist/bundle/cli.js";

process.on("exit", () => process.stderr.write(`RSS_KB=${process.resourceUsage().maxRSS}\n`));
process.exitCode = await main(process.argv.slice(2));
