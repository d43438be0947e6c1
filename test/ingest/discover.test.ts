import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/media.js';

/**
 * WS-Discovery uses multicast: the simulator and the probe run inside a private network
 * namespace (unshare -rn) with only `lo`, so nothing leaves this machine.
 */
describe('scripts/discover (ONVIF WS-Discovery)', () => {
  it('finds the simulated device, lists its profiles and writes a camera YAML skeleton', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-discover-'));
    const ready = join(dir, 'ready');
    const out = join(dir, 'found.yaml');
    const script = [
      'set -e',
      'ip link set lo up',
      'ip link set lo multicast on',
      'ip route add 224.0.0.0/4 dev lo',
      `node --import tsx test/ingest/onvif-sim-main.ts ${ready} & SIM=$!`,
      `for i in $(seq 100); do [ -f ${ready} ] && break; sleep 0.1; done`,
      `node --import tsx scripts/discover.ts --timeout 1500 --user admin --password-env CAM_PW --json --out ${out}`,
      'kill $SIM',
    ].join('\n');
    const stdout = execFileSync('unshare', ['-rn', 'bash', '-c', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIM_PW: 'Disc-Pw-9', CAM_PW: 'Disc-Pw-9' },
      timeout: 60_000,
    }).toString();
    const devices = JSON.parse(stdout) as {
      host: string;
      port: number;
      model: string;
      profiles: { token: string; width: number }[];
    }[];
    expect(devices).toHaveLength(1);
    expect(devices[0]!.host).toBe('127.0.0.1');
    expect(devices[0]!.model).toBe('DS-2CD-SIM');
    expect(devices[0]!.profiles.map((p) => [p.token, p.width])).toEqual([
      ['Profile_1', 1920],
      ['Profile_2', 640],
    ]);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('Disc-Pw-9');
    const doc = parse(text) as { cameras: { source: unknown; credentials: unknown; enabled: boolean }[] };
    expect(doc.cameras[0]).toMatchObject({
      enabled: false,
      source: { kind: 'onvif', host: '127.0.0.1', port: devices[0]!.port },
      credentials: { username: 'admin', password: { env: 'CAM_PW' } },
    });
  });
});
