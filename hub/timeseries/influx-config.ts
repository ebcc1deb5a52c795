import { type Static, Type } from 'typebox'

/** `influx:` in the hub config: absent means no InfluxDB copy of the readings. */
export const InfluxConfigSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://.+' }),
    token: Type.Optional(Type.String({ minLength: 1 })),
    org: Type.String({ minLength: 1, default: 'estatehub' }),
    bucket: Type.String({ minLength: 1, default: 'estatehub' }),
    flushIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 1000 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000 }),
    // About 470 bytes per queued reading: 200,000 is ~95 MB held while InfluxDB is away.
    maxQueue: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 200_000 }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  },
  { additionalProperties: false },
)

export type InfluxConfig = Static<typeof InfluxConfigSchema>
