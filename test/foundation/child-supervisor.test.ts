/**
 * The child supervisor with real processes: redis-server killed with SIGKILL comes back on the
 * same port and data directory (logged once), a child that ignores SIGTERM or is SIGSTOPped is
 * still gone when close() resolves, and a child that keeps dying is retried with backoff.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../core/redis/embedded-redis.js';
import { FAIL_FAST_REDIS_OPTIONS } from '../../core/redis/redis-connection.js';
import { isRedisUnavailable, redisUnavailableAs } from '../../core/redis/redis-unavailable.js';
import {
  CHILD_TRANSITIONS,
  createChildSupervisor,
  type ChildState,
} from '../../core/process/child-supervisor.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import { captureLogger } from '../config/fixtures.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; level: number; restarts?: number; signal?: string });

describe('child supervisor', () => {
  it('allows only the transitions in its table, and stopped is final', () => {
    const states = Object.keys(CHILD_TRANSITIONS) as ChildState[];
    expect(states.sort()).toEqual(['backoff', 'idle', 'running', 'starting', 'stopped', 'stopping']);
    expect(CHILD_TRANSITIONS.stopped).toEqual([]);
    expect(CHILD_TRANSITIONS.running).not.toContain('starting');
    // every state but `stopped` can reach `stopped`, so close() always has a path
    for (const s of states.filter((x) => x !== 'stopped')) {
      const seen = new Set<ChildState>([s]);
      const todo: ChildState[] = [s];
      for (let cur = todo.pop(); cur !== undefined; cur = todo.pop())
        for (const n of CHILD_TRANSITIONS[cur]) {
          if (seen.has(n)) continue;
          seen.add(n);
          todo.push(n);
        }
      expect(seen.has('stopped'), s).toBe(true);
    }
  });

  it('restarts redis-server after kill -9 on the same port and data dir, logs the exit once, keeps the data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sup-'));
    dirs.push(dir);
    const cap = captureLogger();
    const r = await startEmbeddedRedis({ dir, logger: cap.logger });
    const states: ChildState[] = [];
    r.supervisor.onState((s) => states.push(s));
    const client = new Redis(r.url, { ...FAIL_FAST_REDIS_OPTIONS });
    client.on('error', () => undefined);
    await client.set('gw:kept', 'yes');
    const first = r.pid!;

    process.kill(first, 'SIGKILL');
    await until(
      () => r.supervisor.state() === 'backoff' || r.supervisor.state() === 'starting',
      'exit noticed',
    );
    expect(r.supervisor.up()).toBe(false);
    await until(() => r.supervisor.up(), 'restart');
    expect(r.pid).not.toBe(first);
    expect(alive(r.pid)).toBe(true);
    expect(r.supervisor.restarts()).toBe(1);
    expect(states).toEqual(['backoff', 'starting', 'running']);
    // the same URL works again, and what was written before the kill is still there (AOF)
    await until(() => client.status === 'ready', 'client reconnect');
    expect(await client.get('gw:kept')).toBe('yes');

    const log = lines(cap.text());
    const exits = log.filter((l) => l.msg === 'redis-server exited unexpectedly; restarting');
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ level: 50, signal: 'SIGKILL', restarts: 1 });
    expect(log.filter((l) => l.msg === 'redis-server restarted')).toHaveLength(1);

    client.disconnect();
    await r.close();
    expect(r.supervisor.state()).toBe('stopped');
    expect(alive(first)).toBe(false);
  });

  it('a command while redis is down fails with an error the boundaries map to GW_REDIS_UNAVAILABLE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sup-'));
    dirs.push(dir);
    // A slow restart, so the outage lasts long enough to send a command into it.
    const r = await startEmbeddedRedis({ dir, backoff: { initialMs: 3_000 } });
    const client = new Redis(r.url, { ...FAIL_FAST_REDIS_OPTIONS });
    client.on('error', () => undefined);
    await client.ping();
    process.kill(r.pid!, 'SIGKILL');
    await until(() => !r.supervisor.up(), 'exit noticed');
    const err = await client.get('gw:any').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRedisUnavailable(err)).toBe(true);
    const mapped = redisUnavailableAs(err);
    expect(mapped).toBeInstanceOf(GridwatchError);
    expect((mapped as GridwatchError).code).toBe(Codes.GW_REDIS_UNAVAILABLE);
    expect((mapped as GridwatchError).status).toBe(503);
    await until(() => r.supervisor.up(), 'restart');
    await until(() => client.status === 'ready', 'client reconnect');
    expect(await client.ping()).toBe('PONG');
    // a reply error is not an outage
    expect(isRedisUnavailable(await client.call('NOSUCHCOMMAND').catch((e: unknown) => e))).toBe(false);
    client.disconnect();
    await r.close();
  });

  it('close() ends a SIGSTOPped redis-server within the bound (SIGKILL)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sup-'));
    dirs.push(dir);
    const cap = captureLogger();
    const r = await startEmbeddedRedis({ dir, logger: cap.logger, stopTimeoutMs: 1_500 });
    const pid = r.pid!;
    process.kill(pid, 'SIGSTOP');
    await r.close();
    expect(alive(pid)).toBe(false);
    expect(cap.text()).toContain('redis-server ignored SIGTERM; sending SIGKILL');
    // the stopped child's exit is not taken for a crash: no restart
    expect(cap.text()).not.toContain('exited unexpectedly');
    expect(r.supervisor.state()).toBe('stopped');
  });

  it('close() ends a child that ignores SIGTERM, and close() is memoised', async () => {
    const cap = captureLogger();
    const sup = createChildSupervisor({
      name: 'stubborn',
      command: '/bin/sh',
      args: ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'],
      logger: cap.logger,
      // ready once the trap is set
      probe: () => Promise.resolve(sup.output().includes('ready')),
      stopTimeoutMs: 1_000,
    });
    await sup.start();
    const pid = sup.pid();
    expect(alive(pid)).toBe(true);
    const a = sup.close();
    expect(sup.close()).toBe(a);
    await a;
    expect(alive(pid)).toBe(false);
    expect(cap.text()).toContain('stubborn ignored SIGTERM; sending SIGKILL');
  });

  it('a child that keeps dying is retried with growing delays until close(), which ends the backoff', async () => {
    const cap = captureLogger();
    const marker = join(tmpdir(), `gw-sup-flap-${process.pid}`);
    const sup = createChildSupervisor({
      name: 'flappy',
      command: '/bin/sh',
      // Up at first; after the marker file appears every new child dies at once.
      args: ['-c', `if [ -e ${marker} ]; then exit 3; fi; echo ready; while :; do sleep 0.05; done`],
      logger: cap.logger,
      probe: () => Promise.resolve(sup.output().includes('ready')),
      backoff: { initialMs: 20, maxMs: 200 },
    });
    await sup.start();
    await import('node:fs/promises').then((fs) => fs.writeFile(marker, ''));
    try {
      process.kill(sup.pid()!, 'SIGKILL');
      await until(
        () => lines(cap.text()).filter((l) => l.msg === 'flappy restart failed; retrying').length >= 3,
        'retries',
      );
      const delays = lines(cap.text())
        .filter((l) => l.msg === 'flappy restart failed; retrying')
        .map((l) => (l as unknown as { restartInMs: number }).restartInMs);
      expect(delays.slice(0, 3)).toEqual([40, 80, 160]);
      expect(sup.up()).toBe(false);
      await sup.close();
      expect(sup.state()).toBe('stopped');
    } finally {
      await rm(marker, { force: true });
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('a first start that fails rejects with GW_CHILD_START and leaves nothing running', async () => {
    const sup = createChildSupervisor({
      name: 'broken',
      command: '/bin/sh',
      args: ['-c', 'echo cannot start >&2; exit 1'],
      logger: captureLogger().logger,
      probe: () => Promise.resolve(false),
    });
    const err = await sup.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).code).toBe(Codes.GW_CHILD_START);
    expect((err as GridwatchError).message).toContain('cannot start');
    expect(sup.state()).toBe('stopped');
    await sup.close();
  });
});
