/**
 * Schema parts every protocol's point shares in the gateway config and in profiles: code,
 * kind, unit, decimals, and the events a state point may raise. One place, so a new protocol
 * writes only its address keys.
 */
import { Type } from 'typebox'
import { pointKinds } from '../driver-types.ts'

export const strict = { additionalProperties: false } as const
export const PointCode = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })
export const PointKindSchema = Type.Enum(pointKinds)
export const Decimalish = Type.Union([Type.Number(), Type.String({ pattern: '^-?\\d+(\\.\\d+)?$' })])
export const Unit = Type.String({ maxLength: 32 })

// A state point (a discrete input, a BACnet binary input) may raise events when it changes:
// a leak sensor, a fire-panel dry contact, a door contact.
export const PointEventSchema = Type.Object(
  {
    type: Type.Enum(['alarm_input', 'state_change', 'forced', 'held_open', 'tamper']),
    activeWhen: Type.Optional(Type.Boolean({ description: 'the raw state meaning active; default true' })),
    input: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'fire, leak, intrusion…' })),
  },
  strict,
)
