#!/usr/bin/env node
// The `kindling` command; the implementation is in src/cli/main.ts (built to dist/).
import { main } from '../dist/cli/main.js';

await main(process.argv);
