import { type Static, type TSchema, Type } from 'typebox'
import type { ProfileParts } from '../contract/protocol-definition.ts'

/**
 * The shape of a device profile file (drivers/profiles/*.yaml; docs/profiles.md): a common
 * envelope (who made the device, which document the map was transcribed from) and the
 * protocol family's own keys (registry entry `profile.fields`). A profile without a source
 * cannot be checked, and a wrong register map bills the wrong number.
 */

const strict = { additionalProperties: false } as const
const Text = Type.String({ minLength: 1, maxLength: 400 })

export { dataTypes as profileDataTypes } from '../driver-types.ts'

const envelope = {
  profile: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
  // The family the map is for (a registry family: modbus, bacnet…); Modbus when absent, as
  // every profile was before other families had them.
  protocol: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' })),
  maker: Text,
  model: Text,
  description: Type.Optional(Text),
  source: Type.Object(
    {
      publisher: Text,
      title: Text,
      version: Type.Optional(Text),
      date: Type.Optional(Type.String({ minLength: 4, maxLength: 32 })),
      section: Type.Optional(Text),
      url: Type.Optional(Text),
    },
    strict,
  ),
  verified: Type.Optional(Text),
}

export const DEFAULT_PROFILE_FAMILY = 'modbus'

/** Just the family key, read before the family's schema is known. */
export const ProfileFamilySchema = Type.Object({ protocol: envelope.protocol })

const Envelope = Type.Object(envelope, strict)
export type ProfileEnvelope = Static<typeof Envelope>

/** The whole file's schema for one family. */
export function profileFileSchema(parts: ProfileParts): TSchema {
  return Type.Object({ ...envelope, ...parts.fields }, strict)
}
