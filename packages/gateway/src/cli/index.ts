#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; do not wait for a stray handle (a keep-alive socket, an observer).
setTimeout(() => process.exit(code), 1000).unref();
