import type { ApiRouteGroup } from '../../core/http/api-route-doc.js';
import { Codes } from '../../core/errors.js';
import { CallbackBodySchema, CallbackReplySchema } from './callback-router.js';
import { SIG_HEADERS } from './signing.js';

/** The grid platform's status callbacks: mount at /api/platform (Dispatcher.callbackRouter). */
export const CALLBACKS_API: ApiRouteGroup = {
  mount: '/api/platform',
  tags: [
    {
      name: 'platform',
      description:
        'Status updates from the grid platform a confirmed alert was forwarded to (docs/integrators.md): 派遣, 处置, 核查, 结案',
    },
  ],
  routes: [
    {
      method: 'post',
      path: '/callbacks',
      summary: 'Report a case status (dispatched, handled, verified, closed)',
      description:
        'Signed with the forwarding target’s secret (gateway.yaml forwarding.targets[].secret). A status already recorded ' +
        'answers 200 with changed false; handled schedules the re-check of the camera view.',
      tag: 'platform',
      auth: 'platform',
      headers: [
        { name: SIG_HEADERS.target, description: 'Forwarding target id (gateway.yaml)', required: true },
        { name: SIG_HEADERS.timestamp, description: 'Unix seconds; within the allowed skew', required: true },
        {
          name: SIG_HEADERS.signature,
          description: 'v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>"> with the target’s secret',
          required: true,
        },
      ],
      body: CallbackBodySchema,
      ok: [{ status: 200, description: 'Applied, or already applied', schema: CallbackReplySchema }],
      errors: [Codes.GW_VALIDATION, Codes.GW_NOT_FOUND, Codes.GW_BODY_TOO_LARGE, Codes.GW_REDIS_UNAVAILABLE],
      errorEnvelope: 'ok',
    },
  ],
};
