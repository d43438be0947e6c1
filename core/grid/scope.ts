import type { GridIndex } from '../contracts/grid-index.js';

/** Who asks: the role and the grid subtree of a wall user (an Actor or a session's user). */
export interface ScopeUser {
  role: 'admin' | 'operator' | 'viewer';
  scope: string;
}

/**
 * What is asked about: an alert (its grid and the path stored when it was routed), a camera
 * (its grid, null when it is in none) or a grid code.
 */
export interface ScopeTarget {
  gridCode: string | null;
  gridPath?: ReadonlyArray<{ code: string }>;
}

/**
 * The grid codes whose users see the target: the target's grid and every ancestor, from the
 * path stored on the target (where it was routed when it was raised, also what the platform
 * got) and from the live grid index (where it is now, after a grid-file reload). Both count,
 * so a reload never hides an open alert from the county that received it. Empty when the
 * target is in no grid either knows: such targets are unplaced. Socket rooms are these codes,
 * so broadcast delivery and the request checks are the same rule.
 */
export function scopeGrids(target: ScopeTarget, grids: GridIndex): string[] {
  const codes = new Set<string>();
  for (const g of target.gridPath ?? []) codes.add(g.code);
  if (target.gridCode !== null) for (const g of grids.path(target.gridCode)) codes.add(g.code);
  return [...codes];
}

/**
 * The one scope rule, used by every HTTP route, socket event, the live-view proxy, socket
 * delivery and the dispatcher's alert service:
 * - a user sees a target when the user's scope grid is the target's grid or one of its
 *   ancestors (scopeGrids above);
 * - the admin role widens nothing inside the grid tree (a county admin stays in the county),
 *   and adds only unplaced targets (camera without a grid, alert whose grid no index knows):
 *   someone must see them to fix the config, and only admins can.
 */
export function inScope(user: ScopeUser, target: ScopeTarget, grids: GridIndex): boolean {
  const codes = scopeGrids(target, grids);
  if (codes.length === 0) return user.role === 'admin';
  return codes.includes(user.scope);
}
