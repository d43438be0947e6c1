/**
 * ONVIF discovery: sends a WS-Discovery Probe (UDP multicast 239.255.255.250:3702), lists what
 * answers (address, model, profiles) and, given credentials, writes a camera YAML skeleton.
 *
 *   npx tsx scripts/discover.ts [--timeout 3000] [--user admin --password-env CAM_PW] [--out cameras/found.yaml] [--json]
 *
 * The password is read from the environment variable named by --password-env (never from the
 * command line, where `ps` would show it) and the YAML refers to that variable, not the value.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { resolveOnvif, type OnvifProfileInfo } from '../features/ingest/onvif-resolver.js';
import { createLogger, type Logger } from '../core/logger.js';
import { redactText } from '../core/util/redact.js';

export interface FoundDevice {
  /** Device service URL from XAddrs. */
  xaddr: string;
  host: string;
  port: number;
  endpoint: string;
  model: string | null;
  name: string | null;
  profiles: OnvifProfileInfo[] | null;
  /** Why profiles are missing (no credentials given, or the device refused them). */
  error: string | null;
}

const PROBE = (id: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">` +
  `<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>uuid:${id}</a:MessageID>` +
  `<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
  `<s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dp0="http://www.onvif.org/ver10/network/wsdl">dp0:NetworkVideoTransmitter</d:Types></Probe></s:Body></s:Envelope>`;

const tag = (xml: string, name: string) =>
  new RegExp(`<(?:\\w+:)?${name}[^>]*>([^<]*)</`).exec(xml)?.[1]?.trim() ?? null;

/** Sends one Probe and collects ProbeMatches for `timeoutMs`. */
export async function probe(timeoutMs: number, logger: Logger): Promise<FoundDevice[]> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const found = new Map<string, FoundDevice>();
  const id = randomUUID();
  sock.on('message', (msg) => {
    const xml = msg.toString('utf8');
    if (!/ProbeMatch/.test(xml)) return;
    const xaddrs = (tag(xml, 'XAddrs') ?? '').split(/\s+/).filter(Boolean);
    const scopes = (tag(xml, 'Scopes') ?? '').split(/\s+/);
    const scope = (k: string) => {
      const s = scopes.find((x) => x.startsWith(`onvif://www.onvif.org/${k}/`));
      return s ? decodeURIComponent(s.slice(`onvif://www.onvif.org/${k}/`.length)) : null;
    };
    const xaddr = xaddrs.find((x) => /^http:\/\/(\d+\.){3}\d+/.test(x)) ?? xaddrs[0];
    if (!xaddr || found.has(xaddr)) return;
    let url: URL;
    try {
      url = new URL(xaddr);
    } catch {
      logger.warn({ xaddr }, 'ignoring a ProbeMatch with an invalid XAddr');
      return;
    }
    found.set(xaddr, {
      xaddr,
      host: url.hostname,
      port: Number(url.port || 80),
      endpoint: tag(xml, 'Address') ?? '',
      model: scope('hardware'),
      name: scope('name'),
      profiles: null,
      error: null,
    });
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, () => resolve());
  });
  sock.setMulticastTTL(1);
  await new Promise<void>((resolve, reject) =>
    sock.send(PROBE(id), 3702, '239.255.255.250', (e) => (e ? reject(e) : resolve())),
  );
  await new Promise((r) => setTimeout(r, timeoutMs));
  sock.close();
  return [...found.values()];
}

/** Fills in profiles with the onvif client when credentials are known. */
export async function describeDevices(
  devices: FoundDevice[],
  creds: { username: string; password: string } | null,
  logger: Logger,
): Promise<FoundDevice[]> {
  for (const d of devices) {
    if (!creds) {
      d.error = 'no credentials given: profiles unknown';
      continue;
    }
    try {
      const r = await resolveOnvif({ host: d.host, port: d.port, ...creds, timeoutMs: 5_000, logger });
      d.profiles = r.profiles;
    } catch (e) {
      d.error = redactText(e instanceof Error ? e.message : String(e), [creds.password]);
    }
  }
  return devices;
}

/** A camera file skeleton: the integrator fills in names, location and rules before enabling. */
export function cameraYaml(devices: FoundDevice[], user: string | null, passwordEnv: string | null): string {
  const cameras = devices.map((d, i) => ({
    id: `onvif-${d.host.replace(/[^A-Za-z0-9]/g, '-')}${d.port === 80 ? '' : `-${d.port}`}`,
    name: d.name ?? d.model ?? `ONVIF camera ${i + 1}`,
    enabled: false,
    source: { kind: 'onvif', host: d.host, port: d.port },
    ...(user && passwordEnv ? { credentials: { username: user, password: { env: passwordEnv } } } : {}),
    location: { lon: 0, lat: 0, crs: 'WGS84' },
    samplingIntervalSec: 5,
    detectors: [],
  }));
  const head =
    '# Written by scripts/discover.ts. Before enabling each camera: set its name, location\n' +
    '# (lon/lat: 0 is a placeholder and fails validation on purpose), grid and rules.\n' +
    devices
      .map(
        (d) =>
          `# ${d.host}:${d.port} model=${d.model ?? '?'} profiles=${d.profiles?.map((p) => `${p.token}(${p.width}x${p.height})`).join(',') ?? d.error}`,
      )
      .join('\n') +
    '\n';
  return head + stringify({ site: 'ONVIF discovery', cameras });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      timeout: { type: 'string', default: '3000' },
      user: { type: 'string' },
      'password-env': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const logger = createLogger({ level: 'warn' });
  const envName = values['password-env'] ?? null;
  const password = envName ? process.env[envName] : undefined;
  if (envName && password === undefined) {
    process.stderr.write(`discover: environment variable ${envName} is not set\n`);
    process.exit(2);
  }
  const devices = await probe(Number(values.timeout), logger);
  await describeDevices(
    devices,
    values.user && password !== undefined ? { username: values.user, password } : null,
    logger,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
  else {
    if (!devices.length) process.stdout.write('no ONVIF device answered\n');
    for (const d of devices) {
      process.stdout.write(`${d.host}:${d.port}  model=${d.model ?? '?'}  name=${d.name ?? '?'}\n`);
      for (const p of d.profiles ?? [])
        process.stdout.write(`  profile ${p.token} ${p.name} ${p.width}x${p.height} ${p.encoding ?? ''}\n`);
      if (d.error) process.stdout.write(`  (${d.error})\n`);
    }
  }
  if (values.out) {
    writeFileSync(values.out, cameraYaml(devices, values.user ?? null, envName));
    process.stderr.write(`wrote ${devices.length} camera(s) to ${values.out}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`discover: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
