#!/usr/bin/env node
// Node 20 cannot run TypeScript: load the build, bundled for start-up (made by `npm ci` via `prepare`).
import { main } from "../dist/bundle/cli.js";

process.exitCode = await main(process.argv.slice(2));
