import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Session } from './auth.js';

export type Access = 'public' | 'any' | 'operator' | 'admin';

export interface RouteCtx<P, Q, B> {
  req: Request;
  res: Response;
  session: Session | null;
  params: P;
  query: Q;
  body: B;
}

/** One HTTP route: its schemas drive both validation and the OpenAPI document. */
export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'delete';
  /** Express path under /api/v1, with :params. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** JSON response schema; omitted with `produces` for binary bodies. */
  response?: z.ZodType;
  produces?: 'image/jpeg' | 'text/csv';
  handler(ctx: RouteCtx<P, Q, B>): Promise<unknown>;
}

/** Keeps each definition's generic types while building a heterogeneous list. */
export function route<P, Q, B>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}
