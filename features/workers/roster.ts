import type { Alert } from '../../core/contracts/alert.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { InputIssue } from '../../core/errors.js';
import {
  WORKER_ROLE_EN,
  WORKER_ROLE_ZH,
  WORKER_ROLES,
  type Worker,
  type WorkersFile,
  type WorkerView,
} from './workers-config.js';

const roleRank = (w: Worker) => WORKER_ROLES.indexOf(w.role);

/** The worker as a reply shows it; the phone only for admins. */
export function workerView(w: Worker, admin: boolean, gridCode?: string): WorkerView {
  return {
    id: w.id,
    name: w.name,
    role: w.role,
    roleZh: WORKER_ROLE_ZH[w.role],
    roleEn: WORKER_ROLE_EN[w.role],
    grids: [...w.grids],
    ...(gridCode ? { gridCode } : {}),
    ...(admin && w.phone ? { phone: w.phone } : {}),
  };
}

/**
 * Who is responsible for an alert: the active workers of its own grid, else of the nearest
 * ancestor grid that has any (a community's 网格长 answers for a grid with no team yet). Leader
 * first, then by role order and id. `gridCode` null: nobody on the whole path.
 */
export function responsibleFor(
  list: readonly Worker[],
  a: Pick<Alert, 'gridCode' | 'gridPath'>,
): { gridCode: string | null; workers: Worker[] } {
  const path = [a.gridCode, ...[...a.gridPath].reverse().map((g) => g.code)];
  for (const code of new Set(path)) {
    const team = list
      .filter((w) => w.active && w.grids.includes(code))
      .sort((x, y) => roleRank(x) - roleRank(y) || x.id.localeCompare(y.id));
    if (team.length) return { gridCode: code, workers: team };
  }
  return { gridCode: null, workers: [] };
}

/**
 * Checks beyond the schema: unique ids, one worker per account, and grid codes the grid file
 * knows (a typo would leave a grid without its team, silently). Issues name line and field.
 */
export function checkRoster(
  file: string,
  v: WorkersFile,
  locate: (p: (string | number)[]) => { line?: number; column?: number },
  grids: GridIndex,
): InputIssue[] {
  const issues: InputIssue[] = [];
  const ids = new Map<string, number>();
  const accounts = new Map<string, number>();
  const issue = (path: (string | number)[], expected: string, found: string, message: string) =>
    issues.push({
      source: file,
      ...locate(path),
      path: path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join(''),
      expected,
      found,
      message,
    });
  v.workers.forEach((w, i) => {
    const first = ids.get(w.id);
    if (first !== undefined)
      issue(
        ['workers', i, 'id'],
        'a unique worker id',
        JSON.stringify(w.id),
        `id ${w.id} is also workers[${first}]`,
      );
    else ids.set(w.id, i);
    if (w.account) {
      const other = accounts.get(w.account);
      if (other !== undefined)
        issue(
          ['workers', i, 'account'],
          'one worker per wall user',
          JSON.stringify(w.account),
          `account ${w.account} is also workers[${other}]`,
        );
      else accounts.set(w.account, i);
    }
    w.grids.forEach((g, j) => {
      if (!grids.get(g))
        issue(
          ['workers', i, 'grids', j],
          'a grid code of the grid file',
          JSON.stringify(g),
          `unknown grid ${g}`,
        );
    });
  });
  return issues;
}
