// A progress bar with ETA on stderr (only when it is a terminal), and log lines that print
// above it without tearing it.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string>): void;
  log(line: string): void;
  stop(): void;
}

export function createProgress(total: number, label: string, quiet: boolean): Progress {
  if (quiet) return { update() {}, log() {}, stop() {} };
  if (!process.stderr.isTTY) {
    return { update() {}, log: (line) => console.log(line), stop() {} };
  }
  const multi = new cliProgress.MultiBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% | step {value}/{total} | ETA {eta_formatted} | {status}`,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const bar = multi.create(total, 0, { status: '' });
  return {
    update: (done, fields) => bar.update(done, fields),
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}
