import { z } from 'zod';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';

/** gateway.yaml `workers:` — the grid-worker roster (off unless a roster file is named). */
export const WorkersConfigSchema = z
  .strictObject({
    file: z
      .string()
      .optional()
      .describe(
        'workers.yaml, relative to gateway.yaml; the roster and the worker page (/m/) are off without it',
      ),
    photoMaxBytes: z
      .number()
      .int()
      .positive()
      .max(32 * 1024 * 1024)
      .default(5 * 1024 * 1024)
      .describe('Largest disposal photo (as uploaded), bytes'),
  })
  .describe(
    'Grid workers (网格员): roster, 派遣 to a worker and 处置反馈 from the worker page (docs/workers.md)',
  );
export type WorkersConfig = z.infer<typeof WorkersConfigSchema>;

/**
 * The roles of a grid's 一长多员 team: one 网格长 and the members around them. A closed set, so
 * statistics and the wall group the same way everywhere; the order is the order in which an
 * alert names its responsible workers (the leader first).
 */
export const WORKER_ROLES = [
  'leader',
  'full_time',
  'part_time',
  'instructor',
  'police',
  'supervisor',
] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** zh-CN names of the roles; the CSV import also accepts these. */
export const WORKER_ROLE_ZH: Readonly<Record<WorkerRole, string>> = {
  leader: '网格长',
  full_time: '专职网格员',
  part_time: '兼职网格员',
  instructor: '网格指导员',
  police: '网格警员',
  supervisor: '网格监督员',
};

/** The same roles in English, for the wall's language switch (sent with the Chinese label). */
export const WORKER_ROLE_EN: Readonly<Record<WorkerRole, string>> = {
  leader: 'Grid leader',
  full_time: 'Full-time grid worker',
  part_time: 'Part-time grid worker',
  instructor: 'Grid instructor',
  police: 'Grid police officer',
  supervisor: 'Grid supervisor',
};

export const WorkerRoleSchema = z
  .enum(WORKER_ROLES)
  .describe(
    'Role in the grid’s 一长多员 team: leader 网格长, full_time 专职网格员, part_time 兼职网格员, instructor 网格指导员 (a township cadre), police 网格警员 (community police), supervisor 网格监督员',
  );

export const WorkerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'letters, digits, - and _, at most 32')
  .describe('Worker id (工号), unique in the roster');

export const WorkerSchema = z
  .strictObject({
    id: WorkerIdSchema,
    name: z.string().min(1).max(50).describe('Name shown on alerts and the wall, e.g. 王芳'),
    grids: z
      .array(GridCodeSchema)
      .min(1)
      .max(50)
      .describe('Grids the worker is responsible for (usually one 15-digit grid)'),
    role: WorkerRoleSchema,
    phone: z
      .string()
      .regex(/^\+?[0-9][0-9 -]{4,19}$/, 'digits, spaces and -, optionally a leading +')
      .optional()
      .describe('Phone; private: shown to admins only, never logged'),
    account: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{2,64}$/)
      .optional()
      .describe(
        'Wall user (gateway.yaml users:) the worker logs in to the worker page with; without it the worker is named on alerts but cannot log in',
      ),
    active: z.boolean().default(true).describe('false: kept in the file, not named and cannot log in'),
  })
  .describe('One grid worker');
export type Worker = z.infer<typeof WorkerSchema>;

export const WorkersFileSchema = z
  .strictObject({
    workers: z.array(WorkerSchema).describe('The roster'),
  })
  .describe('workers.yaml: the grid-worker roster');
export type WorkersFile = z.infer<typeof WorkersFileSchema>;

export const DispatchBodySchema = z
  .strictObject({
    workerId: WorkerIdSchema.optional().describe(
      'Dispatch to this worker; omitted: to the grid’s team (every responsible worker sees it)',
    ),
    note: z.string().max(1_000).optional().describe('Note for the worker, added to the audit'),
    version: z.number().int().optional().describe('Alert version the operator saw; a stale one is refused'),
  })
  .describe('派遣: send a confirmed alert to a grid worker or the grid’s team');

export const DisposalFieldsSchema = z
  .strictObject({
    note: z.string().trim().min(1).max(1_000).describe('What was done (处置情况)'),
    // A form field is text: digits only (z.coerce would read an empty field as version 0).
    version: z
      .string()
      .regex(/^[0-9]{1,15}$/, 'a whole number')
      .transform(Number)
      .optional()
      .describe('Alert version the worker saw'),
  })
  .describe('处置反馈: the text fields of the multipart form (the photo is the `photo` part)');

/** A worker as a reply shows it: no phone unless the reader is an admin. */
export const WorkerViewSchema = z
  .strictObject({
    id: z.string().describe('Roster id'),
    name: z.string().describe('Name'),
    role: WorkerRoleSchema,
    roleZh: z.string().describe('Role in the 一长多员 team, in Chinese'),
    roleEn: z.string().describe('The same role in English'),
    grids: z.array(z.string()).describe('Grid codes the worker serves'),
    gridCode: z.string().optional().describe('The grid through which the worker is responsible'),
    phone: z.string().optional().describe('Admins only'),
  })
  .describe('A grid worker as a reply shows them');
export type WorkerView = z.infer<typeof WorkerViewSchema>;
