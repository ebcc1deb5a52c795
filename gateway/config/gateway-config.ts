// Gateway configuration schema. Unlike the hub, a gateway cannot run on defaults alone:
// it must know who it is (id) and how to authenticate to the hub (secret).
import { type Static, Type } from 'typebox'
import { LogConfigSchema } from '../../hub/config/hub-config.ts'
import { loadConfig } from '../../hub/config/load-config.ts'

export const GatewayConfigSchema = Type.Object(
  {
    gateway: Type.Object(
      {
        // Used in MQTT topics and client ids, hence the restricted character set.
        id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
        // Shared secret with the hub; 16 characters minimum so it is not guessable.
        secret: Type.String({ minLength: 16 }),
        hubUrl: Type.String({ pattern: '^mqtts?://[^\\s/]+(:\\d+)?/?$', default: 'mqtt://127.0.0.1:1883' }),
      },
      { additionalProperties: false },
    ),
    log: LogConfigSchema,
  },
  { additionalProperties: false },
)

export type GatewayConfig = Static<typeof GatewayConfigSchema>

/** Loads and validates a gateway config; the `gateway` section is required. Throws ConfigError. */
export function loadGatewayConfig(file?: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(GatewayConfigSchema, file, env)
}
