/**
 * A dispatcher process without the gateway's other roles: BullMQ workers (findings,
 * forwarding, re-check, maintenance) against a shared Redis. The same as
 * `node dist/app/main.js --roles dispatch`; kept as its own entry for systemd units and docs.
 *
 *   node dist/app/dispatcher-worker.js --config gateway.yaml [--redis redis://host:6379] [--no-schedulers]
 *
 * Alert changes are not sent to walls from here: each change is appended to the Redis stream
 * `<prefix>:d:events` in the same script that writes it, and the wall process(es) relay the
 * stream to their Socket.IO rooms. See docs/integration.md.
 */
import { pathToFileURL } from 'node:url';
import { main } from './main.js';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--roles' && all[i - 1] !== '--roles');
  await main(['--roles', 'dispatch', ...args]);
}
