import { Type } from 'typebox'

// The hub's and the gateway's `log` section: the same level names as the logger (pino).
export const LogLevelSchema = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  default: 'info',
})

export const LogConfigSchema = Type.Object(
  { level: LogLevelSchema },
  { additionalProperties: false, default: {} },
)
