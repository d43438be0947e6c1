/**
 * Split-screen wall benchmark (npm run bench:wall-tiles): CPU per live tile. The real wall
 * (test harness: dispatcher, ingest with its live relay, wall server) with 16 extra RTSP
 * cameras (one clip fanned out), Debian chromium (playwright-core) logged in as an operator on
 * the 分屏 view. For 0 (the alert wall), 1, 4, 9 and 16 tiles, once every tile plays, CPU time
 * is read from /proc over a fixed window, per process group: chromium (all its processes), the
 * relay ffmpegs (one `-c copy` push per watched camera), the media server, and this gateway
 * process (the same-origin FLV proxy among the rest). Per tile = (n tiles − 0 tiles) / n.
 *   npm run bench:wall-tiles [-- --seconds 10]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { launchChromium, openWall } from '../test/wall/helpers/browser.js';
import { PASSWORD, startHarness } from '../test/wall/helpers/wall-harness.js';
import { recordResults } from './lib/record.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const WINDOW_SEC = Number(values.seconds);
const TICKS = 100; // USER_HZ on Linux

type Group = 'chromium' | 'relay' | 'nms' | 'other';
/** CPU seconds so far of every descendant of this process, by group. */
function childCpu(): Record<Group, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      // Gone between readdir and read: it used no CPU we can still count.
      continue;
    }
  }
  const out: Record<Group, number> = { chromium: 0, relay: 0, nms: 0, other: 0 };
  for (const [pid, t] of ticks) {
    let p = parent.get(pid);
    while (p !== undefined && p !== process.pid && p > 1) p = parent.get(p);
    if (p !== process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    const g: Group = /chrom/.test(cmd)
      ? 'chromium'
      : /ffmpeg/.test(cmd) && /rtmp:\/\//.test(cmd)
        ? 'relay'
        : /nms-child/.test(cmd)
          ? 'nms'
          : 'other';
    out[g] += t / TICKS;
  }
  return out;
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const load0 = loadavg();
  const h = await startHarness({ logLevel: 'warn', tileCameras: 16 });
  const browser = await launchChromium();
  try {
    const w = await openWall(browser, h.url, 'zhangwei', PASSWORD, { width: 1920, height: 1080 });
    const page = w.page;
    // Every tile camera online before anything is measured.
    for (let i = 0; ; i++) {
      const online = h.cameras.list().filter((c) => c.id.startsWith('cam-tile-') && c.state === 'online');
      if (online.length === 16) break;
      if (i > 120) throw new Error(`only ${online.length} of 16 tile cameras online after 60 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const measure = async (): Promise<{ chromium: number; relay: number; nms: number; gateway: number }> => {
      await new Promise((r) => setTimeout(r, 3_000)); // settle: players past their start-up
      const c0 = childCpu();
      const s0 = selfCpu();
      await new Promise((r) => setTimeout(r, WINDOW_SEC * 1_000));
      const c1 = childCpu();
      const s1 = selfCpu();
      return {
        chromium: (c1.chromium - c0.chromium) / WINDOW_SEC,
        relay: (c1.relay - c0.relay) / WINDOW_SEC,
        nms: (c1.nms - c0.nms) / WINDOW_SEC,
        gateway: (s1 - s0) / WINDOW_SEC,
      };
    };
    const rows: Array<{ n: number; m: Awaited<ReturnType<typeof measure>> }> = [];
    rows.push({ n: 0, m: await measure() });
    await page.locator('#nav a[data-view="tiles"]').click();
    await page.locator('#tiles-grid-filter').selectOption('330101001');
    for (const [key, n] of [
      ['1', 1],
      ['2', 4],
      ['3', 9],
      ['4', 16],
    ] as const) {
      await page.keyboard.press(key);
      const playing = page.locator('#tiles-grid .tile[data-tile="playing"]');
      for (let i = 0; (await playing.count()) < n && i < 480; i++)
        await new Promise((r) => setTimeout(r, 250));
      const got = await playing.count();
      if (got < n) {
        // Measured all the same, per tile that plays; the others are named.
        const stuck = await page
          .locator('#tiles-grid .tile:not([data-tile="playing"])')
          .evaluateAll((els) =>
            els.map(
              (e) => `${e.getAttribute('data-camera')}: ${e.getAttribute('data-tile')} ${e.textContent}`,
            ),
          );
        process.stdout.write(`${n} tiles: only ${got} playing after 120 s: ${stuck.join('; ')}\n`);
      }
      rows.push({ n: got, m: await measure() });
      process.stdout.write(`${n} tiles: ${JSON.stringify(rows.at(-1)!.m)}\n`);
    }
    const base = rows[0]!.m;
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const table = [
      '| tiles | chromium | relay ffmpeg | media server | gateway process | chromium per tile | relay per tile | all per tile |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(({ n, m }) => {
        const per = (x: number, b: number) => (n ? pct((x - b) / n) : '—');
        const all = m.chromium + m.relay + m.nms + m.gateway;
        const allBase = base.chromium + base.relay + base.nms + base.gateway;
        return `| ${n} | ${pct(m.chromium)} | ${pct(m.relay)} | ${pct(m.nms)} | ${pct(m.gateway)} | ${per(m.chromium, base.chromium)} | ${per(m.relay, base.relay)} | ${per(all, allBase)} |`;
      }),
    ].join('\n');
    const load1 = loadavg();
    const md = `Debian chromium (headless, --disable-gpu: software decoding) at 1920×1080 on the 分屏 view, logged in as an operator; 16 RTSP cameras (vtest clip, 768×576 H.264 at 10 fps, one clip fanned out by the test RTSP server) relayed on demand (one \`ffmpeg -c copy\` push per watched camera into node-media-server) and played over the wall's same-origin WebSocket (WS-FLV) proxy with mpegts.js. CPU from /proc over ${WINDOW_SEC} s per layout after every tile played and 3 s settled; 100 % = one core. "0" is the alert wall with no video (the baseline the per-tile figures subtract).

${table}

Load average at the start: ${load0.map((x) => x.toFixed(1)).join(' / ')}; at the end: ${load1.map((x) => x.toFixed(1)).join(' / ')} (2 cores shared with other jobs: the per-tile ratios of this one run are the figures to compare).

Command: \`npm run bench:wall-tiles -- --seconds ${WINDOW_SEC}\``;
    process.stdout.write(`${md}\n`);
    if (!process.env.BENCH_NO_RECORD) recordResults('wall-tiles', 'Split-screen wall: CPU per live tile', md);
    await w.context.close();
  } finally {
    await browser.close();
    await h.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:wall-tiles failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
