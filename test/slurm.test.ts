// The Slurm example (examples/slurm) on a real one-node Slurm cluster started here: munged (when
// none answers), slurmctld and slurmd from Debian's slurm-wlm, with a slurm.conf, state, spool
// and logs in a temporary directory and free ports of their own. The job array runs the sweep
// sharded, the afterok merge combines the shards, and the result must equal an unsharded sweep
// run locally; then a running task is requeued and must resume without losing or repeating cells.
//
// Needs root and `apt-get install slurm-wlm munge`. Without them the file is skipped, saying
// why, except under CI (CI set), where it runs and fails.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/grokwasm.js');
const SUBMIT = join(ROOT, 'examples/slurm/submit.sh');

const CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());
const TOOLS = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo', 'munged', 'munge', 'unmunge'];
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = TOOLS.filter((t) => !onPath(t));
const notRoot = process.getuid?.() !== 0;
const unavailable = missing.length ? `${missing.join(', ')} not on PATH (apt-get install slurm-wlm munge)`
  : notRoot ? 'not running as root (the test cluster runs its daemons as root)' : '';
if (unavailable && !CI) console.warn(`test/slurm.test.ts skipped: ${unavailable}`);

// The 8-cell grid runs in about a second; the slow one (about 1.5 s a cell on one core) leaves
// time to catch an array task between two cells.
const FAST = '--p 7 --dim 8 --heads 2 --mlp 8 --batch 16 --steps 30 --evalEvery 10 --fracs 0.5,0.6 --rates 0.001,0.01 --arms l2,lrd';
const SLOW = '--p 7 --dim 8 --heads 2 --mlp 8 --batch 16 --steps 15000 --evalEvery 5000 --fracs 0.5,0.6,0.7 --rates 0.01 --arms l2,lrd';

/** The environment without a surrounding Slurm job's or Indexed Job's shard variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SLURM_') || k === 'JOB_COMPLETION_INDEX') delete env[k];
  return env;
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`}): ${r.stderr}${r.stdout}`);
  return String(r.stdout);
}

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false, diagnose: () => string = () => ''): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${diagnose()}`);
    await sleep(200);
  }
}

/** cells.jsonl as records without wallMs, the one field that differs between two runs. */
function cells(dir: string): string[] {
  const text = readFileSync(join(dir, 'cells.jsonl'), 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const { wallMs: _, ...rest } = JSON.parse(line);
    return JSON.stringify(rest);
  });
}
const cellKey = (line: string) => { const r = JSON.parse(line); return `${r.arm}|${r.frac}|${r.rate}|${r.seed}`; };

/** A one-node cluster in its own directory; stop() ends what start() began, by pid. */
class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'grokwasm-slurm-'));
  readonly conf = join(this.dir, 'slurm.conf');
  private daemons: { name: string; child: ChildProcess }[] = [];
  private jobs: string[] = [];

  get env(): NodeJS.ProcessEnv { return { ...cleanEnv(), SLURM_CONF: this.conf }; }

  async start(): Promise<void> {
    if (unavailable) throw new Error(`Slurm tests cannot run: ${unavailable}`);
    await this.startMunge();
    // This machine as slurmd sees it: NodeName (the short host name), CPUs, sockets, memory.
    const node = run('slurmd', ['-C'], { env: cleanEnv() }).split('\n')[0].trim();
    const host = /^NodeName=(\S+) /.exec(node)?.[1];
    if (!host) throw new Error(`slurmd -C printed no node line: ${node}`);
    for (const d of ['state', 'spool', 'log']) mkdirSync(join(this.dir, d));
    const ctldPort = await freePort();
    let slurmdPort = await freePort();
    while (slurmdPort === ctldPort) slurmdPort = await freePort();
    writeFileSync(this.conf, [
      'ClusterName=grokwasmtest',
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SlurmUser=root',
      'SlurmdUser=root',
      'ReturnToService=2',
      'MpiDefault=none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'JobCompType=jobcomp/none',
      'KillWait=5',
      // Backfill every second (default 30 s): it starts a requeued task once its BeginTime passes.
      'SchedulerParameters=bf_interval=1',
      'MinJobAge=600',
      `SlurmctldPidFile=${this.dir}/slurmctld.pid`,
      `SlurmdPidFile=${this.dir}/slurmd.pid`,
      `StateSaveLocation=${this.dir}/state`,
      `SlurmdSpoolDir=${this.dir}/spool`,
      `SlurmctldLogFile=${this.dir}/log/slurmctld.log`,
      `SlurmdLogFile=${this.dir}/log/slurmd.log`,
      node,
      'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'));
    this.daemon('slurmctld', 'slurmctld', ['-D']);
    this.daemon('slurmd', 'slurmd', ['-D']);
    await until('the node to be idle in sinfo', 60_000, () => {
      for (const { name, child } of this.daemons) if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}\n${this.logs()}`);
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', env: this.env });
      return r.status === 0 && r.stdout.trim() === 'idle';
    }, () => this.logs());
  }

  /** Uses the munged that answers, else starts one as the munge user (and stops it at the end). */
  private async startMunge(): Promise<void> {
    const answers = () => spawnSync('sh', ['-c', 'munge -n | unmunge'], { stdio: 'ignore' }).status === 0;
    if (answers()) return;
    const uid = Number(run('id', ['-u', 'munge']));
    const gid = Number(run('id', ['-g', 'munge']));
    if (!existsSync('/etc/munge/munge.key')) {
      run('mungekey', ['--create']);
      chownSync('/etc/munge/munge.key', uid, gid);
    }
    for (const d of ['/run/munge', '/var/lib/munge', '/var/log/munge']) {
      mkdirSync(d, { recursive: true, mode: 0o755 });
      chownSync(d, uid, gid);
    }
    // --force: a socket left by a munged that was killed does not stop this one.
    this.daemon('munged', 'munged', ['--foreground', '--force'], { uid, gid });
    await until('munged to answer', 20_000, answers, () => this.logs());
  }

  private daemon(name: string, cmd: string, args: string[], ids: { uid?: number; gid?: number } = {}): void {
    const fd = openSync(join(this.dir, `${name}.out`), 'a');
    try {
      const child = spawn(cmd, args, { env: this.env, cwd: this.dir, stdio: ['ignore', fd, fd], ...ids });
      child.on('error', () => {}); // reported through exitCode and the logs
      this.daemons.push({ name, child });
    } finally {
      closeSync(fd);
    }
  }

  /** The tails of the daemons' output, for failure messages. */
  logs(): string {
    return readdirSync(this.dir).filter((f) => f.endsWith('.out')).map((f) => {
      const lines = readFileSync(join(this.dir, f), 'utf8').trimEnd().split('\n');
      return `--- ${f}\n${lines.slice(-15).join('\n')}`;
    }).join('\n');
  }

  slurm(cmd: string, ...args: string[]): string {
    return run(cmd, args, { env: this.env });
  }

  /** examples/slurm/submit.sh with the given environment and sbatch options: [array, merge]. */
  submit(vars: Record<string, string>, sbatchArgs: string[]): [string, string] {
    const ids = run('bash', [SUBMIT, ...sbatchArgs], { env: { ...this.env, ...vars } }).trim().split('\n');
    expect(ids).toHaveLength(2);
    this.jobs.push(...ids);
    return ids as [string, string];
  }

  /** Squeue's lines for the given jobs (or array tasks): 'ID STATE REASON'. */
  queue(...ids: string[]): string[] {
    return this.slurm('squeue', '-h', '-o', '%i %T %r', '-j', ids.join(',')).split('\n').filter((l) => l.trim() !== '');
  }

  /** Waits until none of the jobs is pending, running or completing. */
  async drain(ids: string[], timeoutMs: number, diagnose: () => string): Promise<void> {
    await until(`jobs ${ids.join(', ')} to finish`, timeoutMs, () => this.queue(...ids).length === 0,
      () => `${this.queue(...ids).join('\n')}\n${diagnose()}\n${this.logs()}`);
  }

  /** JobState and ExitCode from scontrol show job. */
  state(id: string): string {
    const text = this.slurm('scontrol', 'show', 'job', id);
    return `${/JobState=(\S+)/.exec(text)?.[1]} ${/ExitCode=(\S+)/.exec(text)?.[1]}`;
  }

  async stop(): Promise<void> {
    try {
      if (this.jobs.length && this.daemons.some((d) => d.name === 'slurmctld' && d.child.exitCode === null)) {
        spawnSync('scancel', this.jobs, { env: this.env, stdio: 'ignore' });
        const end = Date.now() + 15_000;
        while (Date.now() < end && spawnSync('squeue', ['-h', '-j', this.jobs.join(',')], { encoding: 'utf8', env: this.env }).stdout?.trim()) await sleep(250);
      }
    } finally {
      // slurmd first (it asks nothing more of slurmctld), munged last (both use it).
      for (const { child } of [...this.daemons].reverse()) {
        if (child.exitCode === null && child.signalCode === null && child.pid) {
          try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone already */ }
        }
      }
      for (const { child } of this.daemons) {
        const end = Date.now() + 10_000;
        while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(100);
        if (child.exitCode === null && child.signalCode === null && child.pid) {
          try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone already */ }
        }
      }
      this.daemons = [];
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

describe.skipIf(unavailable !== '' && !CI)('examples/slurm on a one-node Slurm cluster', () => {
  let cluster: Cluster | undefined;
  let setupError: unknown;
  let work = ''; // the jobs' shards, logs and merges, and the local sweeps
  // A cluster that did not start fails each test (so CI counts them failed, not skipped).
  const ready = (): Cluster => {
    if (!cluster) throw setupError;
    return cluster;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'grokwasm-slurm-work-'));
    const c = new Cluster();
    try {
      await c.start();
      cluster = c;
    } catch (e) {
      setupError = e;
      await c.stop();
    }
  }, 120_000);

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  /** The unsharded sweep of the same grid, run here. */
  function local(grid: string, out: string): string[] {
    run(process.execPath, [CLI, 'sweep', ...grid.split(' '), '--workers', '2', '--out', out, '--quiet'], { env: cleanEnv() });
    return cells(out);
  }

  function vars(name: string, grid: string): Record<string, string> {
    return {
      GROKWASM_SWEEP_ARGS: grid,
      GROKWASM_SHARDS: join(work, name, 'shards'),
      GROKWASM_OUT: join(work, name, 'merged'),
      GROKWASM_LOGS: join(work, name, 'logs'),
      GROKWASM_NODE: process.execPath,
    };
  }

  const jobLogs = (name: string) => () => {
    const dir = join(work, name, 'logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').trimEnd()}`).join('\n');
  };

  it('the array and its afterok merge give exactly the cells of an unsharded sweep', async () => {
    const c = ready();
    const v = vars('fast', FAST);
    const [array, merge] = c.submit(v, ['--array=0-2', '--cpus-per-task=1', '--mem=100M', '--time=00:10:00']);
    await c.drain([array, merge], 90_000, jobLogs('fast'));
    expect(c.state(merge), jobLogs('fast')()).toBe('COMPLETED 0:0');
    for (const t of [0, 1, 2]) expect(c.state(`${array}_${t}`)).toBe('COMPLETED 0:0');
    // Three shards of 3, 3 and 2 cells, each in its own directory.
    expect([0, 1, 2].map((t) => cells(join(v.GROKWASM_SHARDS, String(t))).length)).toEqual([3, 3, 2]);
    const merged = cells(v.GROKWASM_OUT);
    const whole = local(FAST, join(work, 'fast', 'local'));
    expect(whole).toHaveLength(8);
    expect(merged.map(cellKey)).toEqual(whole.map(cellKey));
    expect(merged).toEqual(whole);
    for (const f of ['summary.csv', 'phase.png']) expect(existsSync(join(v.GROKWASM_OUT, f))).toBe(true);
    expect(readFileSync(join(v.GROKWASM_OUT, 'summary.csv'), 'utf8')).toBe(readFileSync(join(work, 'fast', 'local', 'summary.csv'), 'utf8'));
  }, 150_000);

  it('a running task requeued by scontrol resumes: every cell once, equal to the unsharded sweep', async () => {
    const c = ready();
    const v = vars('requeue', `${SLOW} --json`);
    const logs = jobLogs('requeue');
    // append: the log keeps both runs of the requeued task.
    const [array, merge] = c.submit(v, ['--array=0-1', '--cpus-per-task=1', '--mem=100M', '--time=00:10:00', '--open-mode=append']);
    const task = `${array}_0`;
    const shard = join(v.GROKWASM_SHARDS, '0');
    // Catch task 0 running with at least one of its three cells written.
    const before = await until('task 0 to write its first cell', 60_000, () => {
      const running = c.queue(task).some((l) => l.split(' ')[1] === 'RUNNING');
      const done = existsSync(join(shard, 'cells.jsonl')) ? cells(shard).length : 0;
      return running && done >= 1 && done;
    }, logs);
    c.slurm('scontrol', 'requeue', task);
    // Slurm holds a requeued job back (BeginTime, CredExpire + 1 = 121 s by default); let it start
    // in 2 s instead. Not in the same second as the requeue: slurmd compares the new launch
    // credential's time with the revocation's, in whole seconds, and refuses the launch
    // ('Job credential revoked'), which fails the task.
    await until('the requeued task to be held', 30_000, () => {
      const line = c.queue(task)[0] ?? '';
      return / PENDING BeginTime$/.test(line) || / RUNNING /.test(line);
    }, () => `${c.slurm('scontrol', 'show', 'job', task)}\n${logs()}\n${c.logs()}`);
    if (/ PENDING /.test(c.queue(task)[0] ?? '')) c.slurm('scontrol', 'update', `JobId=${task}`, 'StartTime=now+2');
    await c.drain([array, merge], 120_000, logs);
    expect(c.state(task), `${logs()}\n${c.logs()}`).toBe('COMPLETED 0:0');
    expect(c.state(merge), logs()).toBe('COMPLETED 0:0');
    expect(c.slurm('scontrol', 'show', 'job', task)).toMatch(/Restarts=1\b/);
    // The second run found the cells of the first and ran only the rest.
    const log = readFileSync(join(v.GROKWASM_LOGS, 'grokwasm-sweep-0.out'), 'utf8');
    expect(log).toMatch(/DUE TO JOB REQUEUE/);
    const last = JSON.parse(log.trimEnd().split('\n').at(-1)!);
    expect(last.skipped, log).toBeGreaterThanOrEqual(before);
    expect(last.ran + last.skipped).toBe(3);
    expect(last.ran, log).toBeGreaterThanOrEqual(1);
    // Every cell exactly once across the shards, and in the merge.
    const sharded = [0, 1].flatMap((t) => cells(join(v.GROKWASM_SHARDS, String(t))).map(cellKey));
    expect(sharded).toHaveLength(6);
    expect(new Set(sharded).size).toBe(6);
    const whole = local(SLOW, join(work, 'requeue', 'local'));
    const merged = cells(v.GROKWASM_OUT);
    expect(merged.map(cellKey)).toEqual(whole.map(cellKey));
    expect(merged).toEqual(whole);
  }, 180_000);
});
