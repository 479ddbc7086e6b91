// A throwaway PostgreSQL cluster for the tests: the real server, started from the
// installed binaries in a temporary folder on a free loopback port, so the
// PostgreSQL backend is tested against what it will meet (transaction ids,
// snapshots, advisory locks, a crash and restart), never against a mock.
// PostgreSQL refuses to run as root, so as root every server command runs as the
// `postgres` OS user in a folder that user owns.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** initdb and pg_ctl: Debian's versioned folder first, then PATH. */
function serverBinaries(): { initdb: string; pgCtl: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const dir of [...versions.map((v) => join(root, v, 'bin')), ...(process.env.PATH ?? '').split(':')]) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
      return { initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') };
  }
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found; install them with `apt-get install postgresql`');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const isRoot = process.getuid?.() === 0;

export class PostgresServer {
  private databases = 0;
  private running = false;
  private readonly onExit = (): void => this.stopSync();

  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly pgCtl: string,
  ) {
    // A test run that dies must not leave a server behind.
    process.on('exit', this.onExit);
  }

  /** initdb + start; the cluster lives until dispose(). */
  static async start(): Promise<PostgresServer> {
    const { initdb, pgCtl } = serverBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'picsift-pg-'));
    mkdirSync(join(dir, 'sock'));
    if (isRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
      chownSync(join(dir, 'sock'), uid, gid);
    }
    const user = isRoot ? 'postgres' : userInfo().username;
    await PostgresServer.exec(initdb, [
      '-D',
      join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]).catch((err: Error) => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (as ${user}): ${err.message}`);
    });
    const server = new PostgresServer(dir, await freePort(), pgCtl);
    await server.start();
    return server;
  }

  private static async exec(file: string, args: string[]): Promise<void> {
    const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    await run(cmd, argv, { timeout: 120_000 });
  }

  url(database: string, user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** A fresh, empty database; returns its URL. */
  async createDatabase(): Promise<string> {
    const name = `t${++this.databases}_${process.pid}`;
    await this.admin(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** Runs one statement as the superuser in the `postgres` database. */
  async admin(sql: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** Starts the server (again) and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${join(this.dir, 'sock')} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await PostgresServer.exec(this.pgCtl, [
      'start',
      '-w',
      '-t',
      '60',
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      options,
    ]);
    this.running = true;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.admin('SELECT 1');
        return;
      } catch (err) {
        if (attempt > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops the server: 'fast' (clean, disconnects clients) or 'immediate' (as a crash: recovery on next start). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await PostgresServer.exec(this.pgCtl, ['stop', '-w', '-D', join(this.dir, 'data'), '-m', mode]);
    this.running = false;
  }

  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash. */
  kill(mode: 'immediate' = 'immediate'): Promise<void> {
    return this.stop(mode);
  }

  async restart(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Stops the server and removes its folder. */
  async dispose(): Promise<void> {
    if (this.running) await this.stop('immediate').catch(() => {});
    process.off('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private stopSync(): void {
    if (!this.running) return;
    try {
      const args = ['stop', '-D', join(this.dir, 'data'), '-m', 'immediate'];
      if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', this.pgCtl, ...args], { stdio: 'ignore' });
      else execFileSync(this.pgCtl, args, { stdio: 'ignore' });
    } catch {
      // Best effort at exit.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
