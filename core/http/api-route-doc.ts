import { z } from 'zod';
import type { ErrorCode } from '../errors.js';

/**
 * How a feature describes the HTTP routes it mounts beside the wall's /api/v1 router, for the
 * wall's OpenAPI document. The schemas are the ones the feature validates with; the composition
 * hands each feature's list to the wall with the router it mounts, so the wall imports no feature.
 */

export const ErrorBodySchema = z
  .strictObject({
    code: z.string().describe('Stable error code, e.g. GW_VALIDATION, GW_FORBIDDEN, GW_CONFLICT'),
    message: z.string(),
    field: z.string().optional().describe('Dotted field at fault'),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .describe('Every error response');

/**
 * Who may call a route: `public` nobody in particular; `session` a wall user (session cookie
 * plus X-CSRF-Token on writes, or Authorization: Bearer); `source` an events source of
 * sources.yaml (HMAC signature or API key); `session-or-department` a wall user or a department
 * system signing with its forward secret (departments.yaml); `platform` the grid platform a
 * forwarding target names, signing with that target's secret (gateway.yaml forwarding).
 */
export type ApiAuth = 'public' | 'session' | 'source' | 'session-or-department' | 'platform';

/** A multipart/form-data body: its text fields, an optional part holding JSON, its file parts. */
export interface MultipartDoc {
  /** Schema of the text fields (an object). */
  fields?: z.ZodType;
  /** A part whose content is JSON, e.g. the events API's `event`. */
  jsonPart?: { name: string; schema: z.ZodType };
  files: Array<{ name: string; description: string; required: boolean; multiple: boolean }>;
}

export interface ApiRouteDoc {
  method: 'get' | 'post' | 'delete';
  /** Express path under the router's mount point, with :params ('/' for the mount itself). */
  path: string;
  summary: string;
  /** Who beyond the auth kind may call it (roles, scope), and anything else a client must know. */
  description?: string;
  tag: string;
  auth: ApiAuth;
  params?: z.ZodType;
  query?: z.ZodType;
  headers?: Array<{ name: string; description: string; required: boolean }>;
  /** JSON body. */
  body?: z.ZodType;
  multipart?: MultipartDoc;
  /** Success replies. */
  ok: Array<{ status: number; description: string; schema?: z.ZodType; produces?: 'image/jpeg' }>;
  /**
   * Catalogue codes the route answers with besides its auth kind's (which the document adds);
   * grouped by their catalogue status in the document.
   */
  errors: readonly ErrorCode[];
  /** `ok`: the error body is wrapped as {ok: false, error} (the events API); default bare. */
  errorEnvelope?: 'bare' | 'ok';
}

/** A feature's routes and where its router is mounted (e.g. /api/v1/workers). */
export interface ApiRouteGroup {
  mount: string;
  /** The tags its routes use, with their text. */
  tags: ReadonlyArray<{ name: string; description: string }>;
  routes: readonly ApiRouteDoc[];
}
