#!/usr/bin/env node
// The grokwasm command line: a thin shell over src/. It parses flags, shows progress and
// writes files; every number it prints is computed in src/.
import { Command, CommanderError } from 'commander';
import {
  CheckpointError, ConfigError, FormatError, NoSimdError, SafetensorsError, FileError, LockError, SweepError, hasWasmSimd, noSimdMessage,
} from '../src/node/index.js';
import { UsageError, repeatedFlag } from './input.js';
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

/** A control character (a newline in a file name or a flag's value) escaped, so every error is one line. */
function oneLine(message: string): string {
  return message.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function fail(message: string, code = 2): never {
  process.stderr.write(`grokwasm: ${oneLine(message)}\n`);
  process.exit(code);
}

// Exit status where the engine lacks something grokwasm needs (sysexits' EX_UNAVAILABLE).
const UNAVAILABLE = 69;

// A reader that closes the pipe early (`grokwasm verify r.json | head -1`) ends the command as a
// SIGPIPE would, without a stack trace; the exit handlers (the sweep lock's release) still run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

const repeated = repeatedFlag(process.argv.slice(2));
if (repeated) fail(repeated);

// The commands that train need Wasm SIMD: without it, one plain sentence, not the engine's compile error.
if (['run', 'verify', 'mechanism', 'compare', 'sweep'].includes(process.argv[2] ?? '') && !hasWasmSimd()) fail(noSimdMessage('node'), UNAVAILABLE);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) process.exit(0); // --help, --version
    // No command at all: the help is the answer, on stderr, as a usage error.
    if (e.code === 'commander.help') {
      process.stderr.write(program.helpInformation());
      process.exit(2);
    }
    fail(e.message.replace(/^error: /, ''));
  }
  if (e instanceof ConfigError) fail(`--${e.message}`);
  if (e instanceof NoSimdError) fail(e.message, UNAVAILABLE);
  if (e instanceof UsageError || e instanceof CheckpointError || e instanceof SafetensorsError || e instanceof SweepError ||
    e instanceof FileError || e instanceof FormatError || e instanceof LockError) fail(e.message);
  // Anything else is a bug of ours: still one line, the stack only when asked for.
  if (process.env.GROKWASM_DEBUG) throw e;
  process.stderr.write(`grokwasm: internal error: ${oneLine((e as Error).message ?? String(e))} (GROKWASM_DEBUG=1 shows where)\n`);
  process.exit(70);
}
