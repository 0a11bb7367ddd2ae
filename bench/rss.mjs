// Runs the CLI in this process and prints its peak RSS (KiB) to stderr as `RSS_KB=n`.
import { main } from "../dist/bundle/cli.js";

const code = await main(process.argv.slice(2));
process.stderr.write(`RSS_KB=${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
