// Hub configuration schema. Every default is chosen so that an empty config (or no
// file at all) runs the embedded single-node setup: local HTTP, PGlite in ./data/hub.
// Units live in the key names (tokenTtlMinutes) so a YAML file is self-explanatory.
import { type Static, Type } from 'typebox'
import { LogConfigSchema, loadConfig, type Problem } from '../../gateway/contract/index.ts'
import { InfluxConfigSchema } from '../timeseries/influx-config.ts'

const TlsSchema = Type.Object(
  { certFile: Type.String({ minLength: 1 }), keyFile: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
)

/** At most `max` requests per `windowSeconds` from one caller. */
const RateLimitSchema = (max: number, windowSeconds: number) =>
  Type.Object(
    {
      max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: max }),
      windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: windowSeconds }),
    },
    { additionalProperties: false, default: {} },
  )

export const HubConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        // Absent => plain HTTP (expected behind a reverse proxy); present => both files needed.
        tls: Type.Optional(TlsSchema),
        // The reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the caller, so
        // rate limits count callers, not the proxy. Absent => the connecting address counts.
        trustProxy: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    // Where Prometheus reads /metrics. Neither key => nowhere: route counts and process details
    // are not for whoever reaches the API port.
    metrics: Type.Object(
      {
        // A listener of its own, host:port (a loopback or monitoring-network address).
        listen: Type.Optional(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$' })),
        // Also (or only) on the API port, for callers sending `Authorization: Bearer <token>`.
        token: Type.Optional(Type.String({ minLength: 24 })),
      },
      { additionalProperties: false, default: {} },
    ),
    // The cheap first line against floods, per caller and route, in the hub's memory (failed
    // logins are also throttled in the store, per address and account: hub/auth/login-throttle.ts).
    rateLimits: Type.Object(
      {
        // Per address: logins across accounts.
        login: RateLimitSchema(30, 60),
        // Per user: spreadsheet imports, and printed receipts.
        import: RateLimitSchema(20, 60),
        receipt: RateLimitSchema(120, 60),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        // Absent => embedded PGlite in dataDir; set => an external PostgreSQL server.
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://.+' })),
        dataDir: Type.String({ minLength: 1, default: './data/hub' }),
        poolMax: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        tokenTtlMinutes: Type.Integer({ minimum: 5, maximum: 43200, default: 720 }),
        // Failed logins are throttled in the database with fixed growing delays (hub/auth/login-throttle.ts);
        // the old loginMaxFailures / loginLockMinutes lock is gone.
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        // embedded: the hub runs its own broker and authenticates gateways itself;
        // external: it consumes from a broker (Mosquitto, EMQX) through a shared subscription.
        mode: Type.Enum(['embedded', 'external'], { default: 'embedded' }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
        tls: Type.Optional(TlsSchema),
        url: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?)://.+' })),
        username: Type.Optional(Type.String({ minLength: 1 })),
        password: Type.Optional(Type.String({ minLength: 1 })),
        clientId: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'estatehub-hub' }),
        shareGroup: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'estatehub' }),
        caFile: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    ingest: Type.Object(
      {
        // Readings stamped further ahead or older than this are kept in unmatched_readings.
        maxFutureMinutes: Type.Integer({ minimum: 1, maximum: 10_080, default: 10 }),
        maxAgeDays: Type.Integer({ minimum: 1, maximum: 3_650, default: 400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    timeseries: Type.Object(
      {
        // Gauges and states older than this are dropped by month; counters are kept for billing.
        gaugeRetentionDays: Type.Integer({ minimum: 31, maximum: 36_500, default: 400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    influx: Type.Optional(InfluxConfigSchema),
    notifications: Type.Object(
      {
        // How often the outbox of webhook and e-mail deliveries is checked (new notices also poke it).
        pollMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 1000 }),
        // Tries per delivery (back-off 30 s, 1 min, 2 min, … up to 1 h apart) before it is marked failed.
        maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        // Absent: e-mail channels fail at once with a clear reason; webhooks need nothing here.
        smtp: Type.Optional(
          Type.Object(
            {
              host: Type.String({ minLength: 1 }),
              port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
              // true: TLS from the first byte (port 465); false: STARTTLS when the server offers it.
              secure: Type.Boolean({ default: false }),
              user: Type.Optional(Type.String({ minLength: 1 })),
              password: Type.Optional(Type.String({ minLength: 1 })),
              from: Type.String({ minLength: 3 }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    log: LogConfigSchema,
  },
  { additionalProperties: false },
)

export type HubConfig = Static<typeof HubConfigSchema>

/** Loads and validates the hub config; `file` undefined means all defaults. Throws ConfigError. */
export function loadHubConfig(file?: string, env: NodeJS.ProcessEnv = process.env): HubConfig {
  return loadConfig(HubConfigSchema, file, env, (config) => {
    const problems: Problem[] = []
    if (config.mqtt.mode === 'external' && config.mqtt.url === undefined)
      problems.push({ path: ['mqtt', 'url'], message: 'is required when mqtt.mode is external' })
    const smtp = config.notifications.smtp
    if (smtp && (smtp.user === undefined) !== (smtp.password === undefined))
      problems.push({
        path: ['notifications', 'smtp', smtp.user === undefined ? 'user' : 'password'],
        message: 'user and password go together (both for an SMTP login, neither without one)',
      })
    return problems
  })
}
