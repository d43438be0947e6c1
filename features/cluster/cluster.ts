/**
 * Camera ownership by Redis lease. Every ingest node heartbeats into a registry with its
 * capacity; every node computes the same weighted rendezvous placement over the live nodes
 * (placement.ts) and claims the cameras placed on it with `SET lease owner NX PX`, renews them
 * with a compare-and-renew script and releases, after it stopped them, the cameras placed
 * elsewhere. Each claim increments the camera's epoch, the fencing token findings carry.
 *
 * Timing (defaults): heartbeat and renewal every 1 s, node and lease ttl 4 s. A dead node's
 * cameras are free and re-placed after at most max(nodeTtl, leaseTtl) plus one tick (~5 s).
 * A node that cannot renew in time (Redis unreachable, the process paused) drops the camera
 * locally when its lease would have expired, so two nodes never both believe they own it;
 * findings from a node that missed that are fenced by the token.
 *
 * States: idle → running → closing → closed (start once; close is memoised).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type Cluster as RedisCluster, type RedisOptions } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { fenceEpochKey, leaseKey } from '../../core/contracts/fence.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ClusterConfig } from './cluster-config.js';
import { clusterKeys, defineLeaseScripts, NodeInfoSchema } from './lease-scripts.js';
import { parseStored } from '../../core/redis/parse-stored.js';
import { placeCameras, type PlacementNode } from './placement.js';
import { redisOptionsFromUrl } from '../../core/redis/redis-url.js';

export interface CreateClusterOptions {
  config: ClusterConfig;
  /** redis:// URL (no password; that comes in redisOptions) or `redis://sentinel`. */
  redisUrl: string;
  redisOptions?: RedisOptions;
  logger: Logger;
  metrics: Registry;
  /** Default: config.nodeId, else the host name. */
  nodeId?: string;
  /** Default: config.capacity. */
  capacity?: number;
  /**
   * Opens the connection (lazyConnect), e.g. an ioredis Cluster for Redis Cluster; default a
   * Redis from redisUrl. The scripts and batches work on both (test/cluster/redis-cluster.test.ts).
   */
  connect?: () => Redis | RedisCluster;
}

export interface ClusterNodeView {
  id: string;
  capacity: number;
  /** Cameras the node reported owning at its last heartbeat. */
  owned: number;
  /** ms since the node's last heartbeat, on the Redis clock. */
  ageMs: number;
}

export interface ClusterView {
  nodes: ClusterNodeView[];
  camerasPerNode: Record<string, number>;
  /** Cameras in the list that no live node reported owning. */
  unowned: number;
  /** Round trip of this node's last batch of lease renewals, ms; null before the first. */
  renewMs: number | null;
}

export interface OwnershipChange {
  added: string[];
  removed: string[];
}

export interface Cluster {
  readonly nodeId: string;
  /** Registers the node and starts the heartbeat; cameras are claimed from the next tick. */
  start(): Promise<void>;
  /** The cameras to share (same list on every node: the shared config). */
  update(cameraIds: readonly string[]): void;
  owned(): Set<string>;
  /** Fencing token of an owned camera; null when this node does not own it. */
  token(cameraId: string): number | null;
  /**
   * Called after ownership changed. Removals are reported before the lease is released, so a
   * listener that stops the camera synchronously stops it before another node can claim it.
   */
  onChange(cb: (owned: Set<string>, change: OwnershipChange) => void): () => void;
  view(): ClusterView;
  /** Stops this node's cameras, releases their leases and leaves the registry. */
  close(): Promise<void>;
}

type State = 'idle' | 'running' | 'closing' | 'closed';
type Conn = Redis | RedisCluster;

/**
 * Runs the calls together, results in order like a pipeline's. Not a pipeline: on Redis
 * Cluster one pipeline may not span slots, while auto-pipelining (on in the connection)
 * batches concurrent commands per server either way, so a tick stays one round trip per server.
 */
async function batch<T>(calls: Array<() => Promise<T>>): Promise<Array<[Error | null, T | undefined]>> {
  return (await Promise.allSettled(calls.map((c) => c()))).map((r) =>
    r.status === 'fulfilled' ? [null, r.value] : [r.reason as Error, undefined],
  );
}

interface Held {
  token: number;
  /** Monotonic time (performance.now) after which the lease may have expired in Redis. */
  validUntil: number;
}

export function createCluster(o: CreateClusterOptions): Cluster {
  const cfg = o.config;
  const nodeId = o.nodeId ?? cfg.nodeId ?? hostname();
  const capacity = o.capacity ?? cfg.capacity;
  // A second process started with the same node id must not renew the first one's leases.
  const instance = randomBytes(6).toString('hex');
  const owner = `${nodeId}/${instance}`;
  const log = o.logger.child({ component: 'cluster', node: nodeId });
  const keys = clusterKeys(cfg.prefix);

  const ownedGauge = new Gauge({
    name: 'gridwatch_cluster_owned_cameras',
    help: 'Cameras whose lease this node holds',
    registers: [o.metrics],
  });
  const liveGauge = new Gauge({
    name: 'gridwatch_cluster_live_nodes',
    help: 'Live ingest nodes seen at the last heartbeat',
    registers: [o.metrics],
  });
  const unownedGauge = new Gauge({
    name: 'gridwatch_cluster_unowned_cameras',
    help: 'Cameras no live node reported owning at the last heartbeat',
    registers: [o.metrics],
  });
  // Per live node, from the heartbeats: the cluster view in /metrics of every ingest node.
  new Gauge({
    name: 'gridwatch_cluster_node_cameras',
    help: 'Cameras each live node reported owning at its last heartbeat (this node: now)',
    labelNames: ['node'] as const,
    registers: [o.metrics],
    collect() {
      this.reset();
      for (const n of liveInfo) this.set({ node: n.id }, n.id === nodeId ? held.size : n.owned);
    },
  });
  const renewHist = new Histogram({
    name: 'gridwatch_cluster_lease_renew_seconds',
    help: 'Round trip of one batch of lease renewals (all owned cameras)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [o.metrics],
  });
  const changes = new Counter({
    name: 'gridwatch_cluster_lease_changes_total',
    help: 'Leases claimed, released (handover), lost (not renewed in time or taken)',
    labelNames: ['change'] as const,
    registers: [o.metrics],
  });

  let state: State = 'idle';
  let redis: Conn | null = null;
  let cameras: string[] = [];
  let camerasVersion = 0;
  const held = new Map<string, Held>();
  const listeners = new Set<(owned: Set<string>, change: OwnershipChange) => void>();
  let live: PlacementNode[] = [];
  let liveInfo: ClusterNodeView[] = [];
  let placement = new Map<string, string | null>();
  let placementSig = '';
  let ticks = 0;
  let tickTimer: NodeJS.Timeout | null = null;
  let fenceTimer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let lastErrorLog = 0;
  let lastRenewMs: number | null = null;
  let closing: Promise<void> | null = null;

  const emit = (change: OwnershipChange) => {
    if (!change.added.length && !change.removed.length) return;
    ownedGauge.set(held.size);
    const snapshot = new Set(held.keys());
    for (const cb of listeners) {
      try {
        cb(snapshot, change);
      } catch (err) {
        log.error({ err }, 'ownership listener failed');
      }
    }
  };

  /** Drops, locally, every camera whose lease may have expired: stop before another claims. */
  const selfFence = () => {
    const now = performance.now();
    const lost: string[] = [];
    for (const [cam, h] of held) if (h.validUntil <= now) lost.push(cam);
    if (!lost.length) return;
    for (const cam of lost) held.delete(cam);
    changes.inc({ change: 'lost' }, lost.length);
    log.warn({ cameras: lost.length }, 'leases not renewed in time; cameras stopped');
    emit({ added: [], removed: lost });
  };

  const recomputePlacement = () => {
    const sig = `${camerasVersion}|${live.map((n) => `${n.id}:${n.capacity}`).join(',')}`;
    if (sig === placementSig) return;
    placementSig = sig;
    placement = placeCameras(cameras, live);
  };

  const heartbeat = async (r: Conn) => {
    const info = JSON.stringify(NodeInfoSchema.parse({ capacity, owned: held.size, instance }));
    const reply = await r.gwClusterHeartbeat(keys.live, keys.info, nodeId, info, cfg.nodeTtlMs);
    const now = Number(reply[0]);
    const nodes: PlacementNode[] = [];
    const views: ClusterNodeView[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const id = reply[i]!;
      const parsed = parseStored(NodeInfoSchema, reply[i + 1]!);
      // A foreign or damaged entry: not a node we can place cameras on.
      if (!parsed.ok) continue;
      const cap = parsed.value.capacity;
      nodes.push({ id, capacity: cap });
      views.push({
        id,
        capacity: cap,
        owned: parsed.value.owned,
        ageMs: Math.max(0, now - Number(reply[i + 2])),
      });
    }
    // This node is live by definition (it just heartbeated), even if a damaged entry hid it.
    if (!nodes.some((n) => n.id === nodeId)) nodes.push({ id: nodeId, capacity });
    live = nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
    liveInfo = views;
    liveGauge.set(live.length);
  };

  const tick = async () => {
    const r = redis!;
    // Taken before the requests are sent: Redis starts each lease's ttl later than this.
    const t0 = performance.now();
    selfFence();
    await heartbeat(r);
    if (state !== 'running') return;
    ticks++;
    recomputePlacement();
    const camSet = new Set(cameras);

    // 1. Renew what stays ours; a lease found taken or gone is lost.
    const keep = [...held.keys()].filter((c) => camSet.has(c) && placement.get(c) === nodeId);
    if (keep.length) {
      const s = performance.now();
      const res = await batch(
        keep.map((c) => () => r.gwClusterRenew(leaseKey(cfg.prefix, c), owner, cfg.leaseTtlMs)),
      );
      lastRenewMs = performance.now() - s;
      renewHist.observe(lastRenewMs / 1000);
      const lost: string[] = [];
      keep.forEach((c, i) => {
        const [err, ok] = res[i] ?? [new Error('no reply'), 0];
        if (!err && ok === 1) {
          const h = held.get(c);
          if (h) h.validUntil = t0 + cfg.leaseTtlMs;
        } else if (!err) lost.push(c);
      });
      if (lost.length) {
        for (const c of lost) held.delete(c);
        changes.inc({ change: 'lost' }, lost.length);
        log.warn({ cameras: lost.length }, 'leases taken by another node; cameras stopped');
        emit({ added: [], removed: lost });
      }
    }

    // 2. Hand over what is placed elsewhere: stop (listeners) first, then release.
    const give = [...held.keys()].filter((c) => !camSet.has(c) || placement.get(c) !== nodeId);
    if (give.length) {
      for (const c of give) held.delete(c);
      emit({ added: [], removed: give });
      await batch(give.map((c) => () => r.gwClusterRelease(leaseKey(cfg.prefix, c), owner)));
      changes.inc({ change: 'released' }, give.length);
    }

    // 3. Claim what is placed here and free. The first tick only registers, so nodes starting
    // together see each other before anyone claims (no claim-then-hand-over churn).
    if (ticks < 2) return;
    const want = cameras.filter((c) => placement.get(c) === nodeId && !held.has(c));
    if (want.length) {
      const res = await batch(
        want.map(
          (c) => () =>
            r.gwClusterClaim(leaseKey(cfg.prefix, c), fenceEpochKey(cfg.prefix, c), owner, cfg.leaseTtlMs),
        ),
      );
      const added: string[] = [];
      want.forEach((c, i) => {
        const [err, epoch] = res[i] ?? [new Error('no reply'), 0];
        if (!err && typeof epoch === 'number' && epoch > 0) {
          held.set(c, { token: epoch, validUntil: t0 + cfg.leaseTtlMs });
          added.push(c);
        }
      });
      if (added.length) {
        changes.inc({ change: 'claimed' }, added.length);
        emit({ added, removed: [] });
      }
    }
    let reported = 0;
    for (const n of liveInfo) reported += n.id === nodeId ? held.size : n.owned;
    unownedGauge.set(Math.max(0, cameras.length - reported));
  };

  const schedule = () => {
    if (state !== 'running') return;
    tickTimer = setTimeout(() => {
      running = tick()
        .catch((err: unknown) => {
          // Redis away: keep ticking; selfFence stops cameras whose leases may lapse.
          if (Date.now() - lastErrorLog > 10_000) {
            lastErrorLog = Date.now();
            log.error({ err }, 'cluster tick failed');
          }
        })
        .finally(() => {
          running = null;
          schedule();
        });
    }, cfg.heartbeatMs);
  };

  return {
    nodeId,
    async start() {
      if (state !== 'idle')
        throw new GridwatchError(Codes.GW_CLOSED, `cluster node ${nodeId} was already started or closed`);
      state = 'running';
      const r: Conn =
        o.connect?.() ??
        new Redis({
          ...redisOptionsFromUrl(o.redisUrl, o.redisOptions),
          lazyConnect: true,
          // Fail fast instead of queueing: a tick that cannot reach Redis must not block the
          // next one, and leases are judged by local time anyway.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          enableAutoPipelining: true,
        });
      r.on('error', (err) => {
        if (Date.now() - lastErrorLog > 10_000) {
          lastErrorLog = Date.now();
          log.error({ err }, 'cluster redis connection error');
        }
      });
      defineLeaseScripts(r);
      redis = r;
      try {
        await r.connect();
        await tick();
      } catch (err) {
        state = 'closed';
        r.disconnect();
        throw new GridwatchError(Codes.GW_CLUSTER_UNAVAILABLE, undefined, { cause: err });
      }
      // Local expiry check on its own timer: a tick stuck on a hung Redis must not keep a
      // camera running past its lease.
      fenceTimer = setInterval(selfFence, Math.max(50, Math.min(500, cfg.heartbeatMs / 2)));
      schedule();
      log.info(
        { capacity, heartbeatMs: cfg.heartbeatMs, leaseTtlMs: cfg.leaseTtlMs },
        'cluster node registered',
      );
    },
    update(ids) {
      cameras = [...new Set(ids)].sort();
      camerasVersion++;
    },
    owned: () => new Set(held.keys()),
    token: (cam) => held.get(cam)?.token ?? null,
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    view() {
      const camerasPerNode: Record<string, number> = {};
      let reported = 0;
      for (const n of liveInfo) {
        const owned = n.id === nodeId ? held.size : n.owned;
        camerasPerNode[n.id] = owned;
        reported += owned;
      }
      return {
        nodes: liveInfo.map((n) => (n.id === nodeId ? { ...n, owned: held.size } : n)),
        camerasPerNode,
        unowned: Math.max(0, cameras.length - reported),
        renewMs: lastRenewMs === null ? null : Math.round(lastRenewMs * 10) / 10,
      };
    },
    close() {
      closing ??= (async () => {
        const wasRunning = state === 'running';
        state = 'closing';
        if (tickTimer) clearTimeout(tickTimer);
        if (fenceTimer) clearInterval(fenceTimer);
        await running;
        const r = redis;
        if (wasRunning && r) {
          const give = [...held.keys()];
          held.clear();
          emit({ added: [], removed: give });
          try {
            const res = await batch([
              ...give.map((c) => () => r.gwClusterRelease(leaseKey(cfg.prefix, c), owner)),
              () => r.gwClusterLeave(keys.live, keys.info, nodeId, instance),
            ]);
            const failed = res.find(([err]) => err);
            if (failed) throw failed[0];
            changes.inc({ change: 'released' }, give.length);
            log.info({ released: give.length }, 'cluster node left');
          } catch (err) {
            log.warn({ err }, 'could not release leases; they expire on their own');
          }
        }
        if (r) await r.quit().catch(() => r.disconnect());
        state = 'closed';
      })();
      return closing;
    },
  };
}
