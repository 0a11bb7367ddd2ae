#!/usr/bin/env node
// Node 20 cannot run TypeScript: load the build from dist/ (made by `npm ci` via `prepare`).
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));
