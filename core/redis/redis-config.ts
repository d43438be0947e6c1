import { z } from 'zod';
import { SecretRefSchema } from '../contracts/common-schema.js';

export const RedisConfigSchema = z
  .union([
    z.strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .describe('redis:// or rediss:// URL; put the password under password:, not in the URL'),
      password: SecretRefSchema.optional(),
    }),
    z.strictObject({
      sentinels: z
        .array(
          z.strictObject({
            host: z.string().describe('Sentinel host'),
            port: z.number().int().min(1).max(65_535).describe('Sentinel port'),
          }),
        )
        .min(1)
        .describe('Sentinel addresses'),
      name: z.string().describe('Master group name'),
      password: SecretRefSchema.optional(),
    }),
    z.strictObject({
      cluster: z
        .strictObject({
          nodes: z
            .array(
              z.strictObject({
                host: z.string().describe('Cluster node host'),
                port: z.number().int().min(1).max(65_535).describe('Cluster node port'),
              }),
            )
            .min(1)
            .describe('Seed nodes: one or more masters; the client discovers the others'),
        })
        .describe(
          'Redis Cluster (redis-server --cluster-enabled yes); only the dispatch role runs on it so far (docs/deployment.md, "Redis Cluster")',
        ),
      password: SecretRefSchema.optional(),
    }),
    z.strictObject({
      embedded: z
        .strictObject({
          port: z.number().int().min(0).max(65_535).default(0).describe('0 = a free loopback port'),
        })
        .describe('Run a private redis-server child with AOF in the data directory'),
    }),
  ])
  .describe('Redis: a URL, a Sentinel group, a Redis Cluster, or embedded (the default when omitted)');
export type RedisConfig = z.infer<typeof RedisConfigSchema>;
