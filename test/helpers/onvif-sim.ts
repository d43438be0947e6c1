import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A small ONVIF device simulator (no ONVIF simulator is published on npm, and the `onvif`
 * package's own mock is not in its tarball). It speaks just enough Profile S over SOAP 1.2 for
 * the `onvif` client: GetSystemDateAndTime, GetCapabilities (GetServices answers a fault so
 * the client falls back), GetDeviceInformation, GetProfiles, GetVideoSources, GetStreamUri,
 * GetSnapshotUri; checks WS-Security UsernameToken digests; serves a snapshot JPEG behind HTTP
 * digest auth; and answers WS-Discovery probes on UDP 3702 (only start that inside a private
 * network namespace: it joins a multicast group).
 */
export interface OnvifSimOptions {
  username: string;
  password: string;
  /** Profiles the device reports; stream URIs usually point at the test RTSP server. */
  profiles: { token: string; name: string; width: number; height: number; streamUri: string }[];
  /** JPEG served at /snapshot.jpg (digest auth). */
  snapshotJpeg: Buffer;
  model?: string;
  /** Answer WS-Discovery probes (multicast 239.255.255.250:3702). */
  discovery?: boolean;
  host?: string;
}

export interface OnvifSim {
  port: number;
  host: string;
  xaddr: string;
  requests: string[];
  close(): Promise<void>;
}

const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" ' +
  'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"';
const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}><s:Body>${body}</s:Body></s:Envelope>`;
const fault = (sub: string, text: string) =>
  envelope(
    `<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>${sub}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${text}</s:Text></s:Reason></s:Fault>`,
  );
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function wsseOk(body: string, user: string, pass: string): boolean {
  const u = /<(?:\w+:)?Username>([^<]*)</.exec(body)?.[1];
  const p = /<(?:\w+:)?Password[^>]*>([^<]*)</.exec(body)?.[1];
  const n = /<(?:\w+:)?Nonce[^>]*>([^<]*)</.exec(body)?.[1];
  const c = /<(?:\w+:)?Created[^>]*>([^<]*)</.exec(body)?.[1];
  if (u !== user || !p || !n || !c) return false;
  const digest = createHash('sha1')
    .update(Buffer.concat([Buffer.from(n, 'base64'), Buffer.from(c), Buffer.from(pass)]))
    .digest('base64');
  return digest === p;
}

export async function startOnvifSim(opts: OnvifSimOptions): Promise<OnvifSim> {
  const host = opts.host ?? '127.0.0.1';
  const requests: string[] = [];
  const realm = 'IP Camera(sim)';
  const nonce = randomBytes(16).toString('hex');
  let port = 0;
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');

  function snapshot(req: IncomingMessage, res: ServerResponse): void {
    const auth = req.headers.authorization ?? '';
    const f = Object.fromEntries([...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
    if (/^Digest /.test(auth) && f.username === opts.username && f.nonce === nonce) {
      const ha1 = md5(`${opts.username}:${realm}:${opts.password}`);
      const ha2 = md5(`GET:${f.uri}`);
      const expect = f.qop
        ? md5(`${ha1}:${nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`)
        : md5(`${ha1}:${nonce}:${ha2}`);
      if (expect === f.response) {
        res
          .writeHead(200, { 'content-type': 'image/jpeg', 'content-length': opts.snapshotJpeg.length })
          .end(opts.snapshotJpeg);
        return;
      }
    }
    res
      .writeHead(401, {
        'www-authenticate': `Digest realm="${realm}", qop="auth", nonce="${nonce}", algorithm=MD5`,
      })
      .end();
  }

  function soap(body: string): { status: number; xml: string } {
    const op = /<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)/.exec(body)?.[1] ?? 'unknown';
    requests.push(op);
    if (op === 'GetSystemDateAndTime') {
      const d = new Date();
      return {
        status: 200,
        xml: envelope(
          `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
            `<tt:UTCDateTime><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
            `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime>` +
            `</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`,
        ),
      };
    }
    if (!wsseOk(body, opts.username, opts.password))
      return { status: 400, xml: fault('ter:NotAuthorized', 'Sender not Authorized') };
    const base = `http://${host}:${port}`;
    switch (op) {
      case 'GetServices':
        return { status: 400, xml: fault('ter:ActionNotSupported', 'GetServices not supported') };
      case 'GetCapabilities':
        return {
          status: 200,
          xml: envelope(
            `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr></tt:Device>` +
              `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
              `</tds:Capabilities></tds:GetCapabilitiesResponse>`,
          ),
        };
      case 'GetDeviceInformation':
        return {
          status: 200,
          xml: envelope(
            `<tds:GetDeviceInformationResponse><tds:Manufacturer>GridwatchSim</tds:Manufacturer><tds:Model>${esc(opts.model ?? 'SIM-IPC-2')}</tds:Model>` +
              `<tds:FirmwareVersion>1.0</tds:FirmwareVersion><tds:SerialNumber>SIM0001</tds:SerialNumber><tds:HardwareId>sim</tds:HardwareId></tds:GetDeviceInformationResponse>`,
          ),
        };
      case 'GetVideoSources':
        return {
          status: 200,
          xml: envelope(
            `<trt:GetVideoSourcesResponse><trt:VideoSources token="vs0"><tt:Framerate>25</tt:Framerate><tt:Resolution><tt:Width>${opts.profiles[0]?.width ?? 0}</tt:Width><tt:Height>${opts.profiles[0]?.height ?? 0}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`,
          ),
        };
      case 'GetProfiles':
        return {
          status: 200,
          xml: envelope(
            `<trt:GetProfilesResponse>${opts.profiles
              .map(
                (p, i) =>
                  `<trt:Profiles token="${esc(p.token)}" fixed="true"><tt:Name>${esc(p.name)}</tt:Name>` +
                  `<tt:VideoSourceConfiguration token="vsc0"><tt:Name>vsc0</tt:Name><tt:UseCount>${opts.profiles.length}</tt:UseCount><tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x="0" y="0" width="${p.width}" height="${p.height}"/></tt:VideoSourceConfiguration>` +
                  `<tt:VideoEncoderConfiguration token="vec${i}"><tt:Name>vec${i}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
                  `<tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality>` +
                  `<tt:RateControl><tt:FrameRateLimit>10</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>1024</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration>` +
                  `</trt:Profiles>`,
              )
              .join('')}</trt:GetProfilesResponse>`,
          ),
        };
      case 'GetStreamUri': {
        const token = /<(?:\w+:)?ProfileToken>([^<]*)</.exec(body)?.[1];
        const p = opts.profiles.find((x) => x.token === token);
        if (!p) return { status: 400, xml: fault('ter:NoProfile', 'no such profile') };
        return {
          status: 200,
          xml: envelope(
            `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${esc(p.streamUri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`,
          ),
        };
      }
      case 'GetSnapshotUri':
        return {
          status: 200,
          xml: envelope(
            `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${base}/snapshot.jpg</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>`,
          ),
        };
      default:
        return { status: 400, xml: fault('ter:ActionNotSupported', `${op} not supported`) };
    }
  }

  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/snapshot.jpg')) return snapshot(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = soap(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(r.status, { 'content-type': 'application/soap+xml; charset=utf-8' }).end(r.xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  port = (server.address() as { port: number }).port;
  const xaddr = `http://${host}:${port}/onvif/device_service`;

  let udp: Socket | null = null;
  if (opts.discovery) {
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    udp = sock;
    sock.on('message', (msg, rinfo) => {
      const text = msg.toString('utf8');
      if (!/Probe\b/.test(text) || /ProbeMatches/.test(text)) return;
      const relates = /<(?:\w+:)?MessageID[^>]*>([^<]*)</.exec(text)?.[1] ?? '';
      const reply =
        `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">` +
        `<SOAP-ENV:Header><wsa:MessageID>uuid:${randomBytes(16).toString('hex')}</wsa:MessageID><wsa:RelatesTo>${esc(relates)}</wsa:RelatesTo><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action></SOAP-ENV:Header>` +
        `<SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:gridwatch-sim-${port}</wsa:Address></wsa:EndpointReference>` +
        `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/${esc(opts.model ?? 'SIM-IPC-2')} onvif://www.onvif.org/name/GridwatchSim</d:Scopes>` +
        `<d:XAddrs>${xaddr}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
      sock.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(3702, () => {
        sock.addMembership('239.255.255.250');
        resolve();
      });
    });
  }

  return {
    port,
    host,
    xaddr,
    requests,
    async close() {
      udp?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
