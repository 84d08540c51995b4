#!/usr/bin/env node
// The grokwasm command line: a thin shell over src/. It parses flags, shows progress and
// writes files; every number it prints is computed in src/.
import { Command, CommanderError } from 'commander';
import {
  CheckpointError, ConfigError, FormatError, SafetensorsError, FileError, LockError, SweepError,
} from '../src/node/index.js';
import { UsageError } from './input.js';
import { registerRun } from './run.js';
import { registerVerify } from './verify.js';
import { registerExperiments } from './experiments.js';
import { registerCompare } from './compare.js';

const program = new Command('grokwasm')
  .description('Grokking experiments on modular arithmetic: L2 weight decay versus Low-Rank Decay, in one WebAssembly module')
  .exitOverride()
  // Errors are printed once, by fail(), as one line.
  .configureOutput({ writeErr: () => {} });
registerRun(program);
registerVerify(program);
registerExperiments(program);
registerCompare(program);

function fail(message: string): never {
  process.stderr.write(`grokwasm: ${message}\n`);
  process.exit(2);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) process.exit(0); // --help, --version
    fail(e.message.replace(/^error: /, ''));
  }
  if (e instanceof ConfigError) fail(`--${e.message}`);
  if (e instanceof UsageError || e instanceof CheckpointError || e instanceof SafetensorsError || e instanceof SweepError ||
    e instanceof FileError || e instanceof FormatError || e instanceof LockError) fail(e.message);
  // Anything else is a bug of ours: still one line, the stack only when asked for.
  if (process.env.GROKWASM_DEBUG) throw e;
  process.stderr.write(`grokwasm: internal error: ${(e as Error).message ?? String(e)} (GROKWASM_DEBUG=1 shows where)\n`);
  process.exit(70);
}
