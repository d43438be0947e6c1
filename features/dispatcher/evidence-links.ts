import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import { Codes, GridwatchError } from '../../core/errors.js';

/**
 * Evidence URLs in forwarded cases. The platform fetches them without a wall session, so each
 * URL carries the target id, an expiry and an HMAC over both and the path, keyed with that
 * target's shared secret: a URL cannot be widened to another image or kept past its expiry,
 * and no new key has to be exchanged (docs/integration.md).
 */
export const EVIDENCE_LINK_TTL_SEC = 30 * 86_400;

/** What signs a link: a forwarding target's id and resolved secret (forwarder.ts's ResolvedTarget). */
export interface LinkSigner {
  id: string;
  secretValue: string;
}

function mac(secret: string, targetId: string, exp: number, rel: string): string {
  return createHmac('sha256', secret).update(`evidence.${targetId}.${exp}.${rel}`).digest('hex');
}

export function evidenceLink(base: string, rel: string, t: LinkSigner, expSec: number): string {
  const q = new URLSearchParams({ t: t.id, exp: String(expSec), sig: mac(t.secretValue, t.id, expSec, rel) });
  return `${base.replace(/\/+$/, '')}/evidence/${rel}?${q.toString()}`;
}

/** GET /:day/:file?t=&exp=&sig= — mount at /evidence. */
export function createEvidenceRouter(opts: {
  targets: readonly LinkSigner[];
  evidence: EvidenceStore;
  clock: () => number;
  logger: Logger;
}): Router {
  const router = express.Router();
  const byId = new Map(opts.targets.map((t) => [t.id, t]));
  router.get('/:day/:file', async (req, res) => {
    const rel = `${String(req.params.day)}/${String(req.params.file)}`;
    const t = byId.get(String(req.query.t ?? ''));
    const exp = Number(req.query.exp);
    const sig = String(req.query.sig ?? '');
    const refuse = (status: number, code: string, message: string) =>
      res.status(status).json({ code, message });
    if (!t || !Number.isInteger(exp) || !/^[0-9a-f]{64}$/.test(sig))
      return refuse(403, Codes.GW_EVIDENCE_LINK, 'invalid evidence link');
    const want = Buffer.from(mac(t.secretValue, t.id, exp, rel), 'hex');
    if (!timingSafeEqual(want, Buffer.from(sig, 'hex')))
      return refuse(403, Codes.GW_EVIDENCE_LINK, 'invalid evidence link');
    if (exp * 1_000 < opts.clock())
      return refuse(403, Codes.GW_EVIDENCE_LINK_EXPIRED, 'evidence link expired');
    try {
      const jpeg = await opts.evidence.read(rel);
      res.setHeader('Content-Type', 'image/jpeg');
      res.setHeader('Cache-Control', 'private, max-age=3600');
      res.end(jpeg);
    } catch (err) {
      if (err instanceof GridwatchError) return refuse(err.status, err.code, err.message);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return refuse(404, Codes.GW_NOT_FOUND, 'evidence no longer kept');
      opts.logger.error({ err, rel }, 'evidence read failed');
      return refuse(500, Codes.GW_INTERNAL, 'evidence read failed');
    }
  });
  return router;
}
