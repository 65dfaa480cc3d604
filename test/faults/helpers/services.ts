/**
 * Private service instances the fault suite may break: a PostgreSQL cluster in a temporary directory and a Redis
 * server child process, each on a free loopback port. The shared services (5432, 6379) are never touched.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A free TCP port on loopback (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or `PG_BIN` when set. */
function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found (set PG_BIN)');
  return join(root, versions[0], 'bin');
}

/** Uid/gid of the `postgres` account: initdb and the server refuse to run as root. */
async function postgresAccount(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A throwaway PostgreSQL cluster (trust auth, loopback only, socket in its own directory) that a test may restart. */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asRoot: boolean,
  ) {}

  /** Creates and starts the cluster. */
  static async start(): Promise<PrivatePostgres> {
    const bin = postgresBin();
    const asRoot = process.getuid?.() === 0;
    const dir = mkdtempSync(join(tmpdir(), 'act-faults-pg-'));
    const port = await freePort();
    const cluster = new PrivatePostgres(dir, port, bin, asRoot);
    if (asRoot) {
      const { uid, gid } = await postgresAccount();
      chownSync(dir, uid, gid);
    }
    await cluster.exec('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await cluster.startServer();
    return cluster;
  }

  /** URL of `database` on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates a database and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    await client.query(`create database ${name}`);
    await client.end();
    return this.url(name);
  }

  /** When the server process started (changes on every restart). */
  async startedAt(): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    const { rows } = await client.query<{ t: string }>('select pg_postmaster_start_time()::text as t');
    await client.end();
    return rows[0].t;
  }

  /** `pg_ctl restart -m fast`: every connection is terminated, the server is down for a moment, then accepts again. */
  async restart(): Promise<void> {
    await this.exec('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-m',
      'fast',
      '-w',
      'restart',
    ]);
  }

  /**
   * A real outage: stops the server (`immediate`: like a crash, connections cut without goodbye), keeps it down for
   * `downMs`, then starts it again (crash recovery included).
   */
  async outage(downMs: number): Promise<void> {
    const data = join(this.dir, 'data');
    await this.exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    await new Promise((r) => setTimeout(r, downMs));
    await this.startServer();
  }

  private async startServer(): Promise<void> {
    await this.exec('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-o',
      // fsync off: a throwaway cluster needs no durability across machine crashes (process crashes lose nothing).
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
      'start',
    ]);
  }

  /** Stops the server and deletes the cluster. Safe to call twice. */
  async destroy(): Promise<void> {
    if (!existsSync(this.dir)) return;
    await this.exec('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Runs a PostgreSQL tool (as `postgres` when we are root). Waits for the tool's exit, not for its output to close:
   * the server it starts lives on and must not hold our pipes (its output goes to `-l server.log`).
   */
  private async exec(tool: string, args: string[]): Promise<void> {
    const path = join(this.bin, tool);
    const [file, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    const child = spawn(file, argv, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    child.stderr?.destroy();
    if (code !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  }
}

/** A Redis server child process on a free port (no persistence) that a test may stop and start again. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port; resolves once it accepts connections. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([canConnect(this.port), exited]);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the server (SIGKILL: an outage, not a graceful shutdown); resolves once the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
