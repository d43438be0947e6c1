/** Names of every Redis key the dispatcher's own data lives under (BullMQ keeps its own). */
export function redisKeys(prefix: string) {
  const p = `${prefix}:d`;
  return {
    alert: (id: string) => `${p}:alert:${id}`,
    audit: (id: string) => `${p}:audit:${id}`,
    dedup: (key: string) => `${p}:dedup:${key}`,
    seen: (findingId: string) => `${p}:seen:${findingId}`,
    seq: `${p}:seq`,
    /** Random id of this installation, made once: keeps idempotency keys unique across gateways sharing a platform. */
    install: `${p}:install`,
    byTime: `${p}:idx:time`,
    byGrid: (code: string) => `${p}:idx:grid:${code}`,
    byType: (type: string) => `${p}:idx:type:${type}`,
    byState: (state: string) => `${p}:idx:state:${state}`,
    byCamera: (id: string) => `${p}:idx:camera:${id}`,
    /** Unclaimed alerts by the time they escalate next. */
    escalation: `${p}:escalation`,
    /** Confirmed alerts whose forward jobs may not have been queued yet (outbox). */
    outbox: `${p}:outbox`,
    fwdAck: (alertId: string, targetId: string, seq: number) => `${p}:fwd:ack:${alertId}:${targetId}:${seq}`,
    fwdSeq: (alertId: string, targetId: string) => `${p}:fwd:seq:${alertId}:${targetId}`,
    caseIndex: (targetId: string, caseId: string) => `${p}:case:${targetId}:${caseId}`,
    deadLetters: `${p}:dead`,
    /** Messages of one target not yet acknowledged (sorted set: [alertId, seq] JSON → queued at). */
    fwdPending: (targetId: string) => `${p}:fwd:pending:${targetId}`,
    /** One target's last success and last failure (hash). */
    fwdTarget: (targetId: string) => `${p}:fwd:target:${targetId}`,
    /** Confirmed alerts no target takes (sorted set: alert id → confirmed at). */
    fwdUntargeted: `${p}:fwd:untargeted`,
    rejections: (cameraId: string, zoneId: string | null, type: string) =>
      `${p}:rej:${cameraId}|${zoneId ?? '-'}|${type}`,
    suppressions: `${p}:suppressions`,
    /** Rejected objects of one camera, zone and rule (hash: alert id → RejectedObject JSON). */
    rejectedObjects: (cameraId: string, zoneId: string | null, type: string) =>
      `${p}:rejobj:${cameraId}|${zoneId ?? '-'}|${type}`,
    /** Set while a camera, zone and rule is cooling down after an alert was raised. */
    cooldown: (cameraId: string, zoneId: string | null, type: string) =>
      `${p}:cool:${cameraId}|${zoneId ?? '-'}|${type}`,
    events: `${p}:events`,
    tmp: (name: string) => `${p}:tmp:${name}`,
    unrouted: `${p}:unrouted`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * The prefix of the dispatcher's keys and BullMQ queues on Redis Cluster: the configured prefix
 * as a hash tag (`gw` → `{gw}`), so every key lands in one slot. The commit script, MULTI and
 * pipelines then touch keys of that one slot only, as Redis Cluster requires, and BullMQ's
 * queue keys are co-located as its docs ask (`prefix: '{bull}'`). The cost: one master holds
 * all dispatcher data (docs/decisions.md, "Redis Cluster"). A single Redis keeps the plain
 * prefix, so its existing keys stay where they are.
 */
export function clusterPrefix(prefix: string): string {
  return /\{[^{}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}
