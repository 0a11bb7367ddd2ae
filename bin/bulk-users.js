#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size: a long streaming run grows V8's young generation to its 16 MiB/semi-space
// default cap (+24 MiB RSS) for no speed gain here; 4 MiB measured fastest (bench/, README).
// Node 20 cannot run TypeScript: load the build from dist/ (made by `npm ci` via `prepare`).
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));
