/**
 * Weighted rendezvous (highest-random-weight) hashing of cameras onto nodes. Pure: every node
 * computes the same placement from the same camera list and live-node list, so no coordinator
 * is needed; leases (cluster.ts) only resolve the moments when two nodes' views differ.
 *
 * Score of node n for camera c: -w_n / ln(u), u = hash(n, c) mapped into (0, 1). The highest
 * score wins; this gives each node a share proportional to its weight, and when a node joins
 * or leaves only the cameras whose winner changes move (about 1/N of them).
 */

import { hash53 } from '../../core/util/string-hash.js';

export interface PlacementNode {
  id: string;
  /** Most cameras the node holds; also its weight. A node with 0 gets nothing. */
  capacity: number;
}

const TWO_53 = 2 ** 53;

/** Rendezvous score of a node for a camera (higher wins). */
export function rendezvousScore(nodeId: string, cameraId: string, weight: number): number {
  if (weight <= 0) return -Infinity;
  const u = (hash53(`${nodeId}\u0000${cameraId}`) + 0.5) / TWO_53; // strictly inside (0, 1)
  return -weight / Math.log(u);
}

/**
 * Nodes in preference order for one camera (ties, practically impossible, by id so every
 * node agrees).
 */
export function rankNodes(cameraId: string, nodes: readonly PlacementNode[]): PlacementNode[] {
  return nodes
    .filter((n) => n.capacity > 0)
    .map((n) => ({ n, s: rendezvousScore(n.id, cameraId, n.capacity) }))
    .sort((a, b) => b.s - a.s || (a.n.id < b.n.id ? -1 : 1))
    .map((x) => x.n);
}

/**
 * The owner each camera should have: its highest-ranked node with room left. Capacity only
 * bites when the live nodes together hold fewer cameras than their fair shares (for example
 * after a failure); then cameras spill, in camera-id order, to their next-ranked node, and
 * what fits nowhere is null (unowned, reported by the cluster view).
 */
export function placeCameras(
  cameraIds: readonly string[],
  nodes: readonly PlacementNode[],
): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const left = new Map(nodes.map((n) => [n.id, n.capacity]));
  for (const cam of [...new Set(cameraIds)].sort()) {
    let owner: string | null = null;
    for (const n of rankNodes(cam, nodes)) {
      const room = left.get(n.id)!;
      if (room > 0) {
        left.set(n.id, room - 1);
        owner = n.id;
        break;
      }
    }
    out.set(cam, owner);
  }
  return out;
}

/** Cameras per node and max/mean over the nodes (the balance figure of the benchmark). */
export function balance(
  placement: Map<string, string | null>,
  nodeIds: readonly string[],
): { perNode: Record<string, number>; unowned: number; maxOverMean: number } {
  const perNode: Record<string, number> = Object.fromEntries(nodeIds.map((id) => [id, 0]));
  let unowned = 0;
  for (const owner of placement.values()) {
    if (owner === null) unowned++;
    else perNode[owner] = (perNode[owner] ?? 0) + 1;
  }
  const counts = Object.values(perNode);
  const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
  return { perNode, unowned, maxOverMean: mean > 0 ? Math.max(...counts) / mean : 0 };
}
