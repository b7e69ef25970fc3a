#!/usr/bin/env node
// Entry point of the `cipherfold` command line tool. The CLI is written in TypeScript; tsx compiles it
// on the fly so `npx cipherfold …` works right after `npm install`, without a build step.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
