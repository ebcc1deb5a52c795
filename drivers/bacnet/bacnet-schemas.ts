/** How a BACnet/IP device is reached and how its points are addressed (via the registry). */
import { Type } from 'typebox'
import { PointCode, PointEventSchema, PointKindSchema, strict, Unit } from '../contract/point-parts.ts'

const Instance = Type.Integer({ minimum: 0, maximum: 4194302 })

export const bacnetConnection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    deviceInstance: Instance,
  },
  strict,
)

export const bacnetAddress = Type.Object(
  {
    objectType: Type.String({ minLength: 1, description: 'e.g. analog-input, binary-value' }),
    instance: Instance,
    property: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
)

const pointKeys = {
  code: PointCode,
  objectType: Type.String({ minLength: 1 }),
  instance: Instance,
  property: Type.Optional(Type.String({ minLength: 1 })),
  unit: Type.Optional(Unit),
  kind: PointKindSchema,
  cov: Type.Optional(Type.Boolean({ description: 'subscribe to changes instead of polling' })),
}

/** A point as a gateway config lists it. */
export const BacnetPointSchema = Type.Object({ ...pointKeys, event: Type.Optional(PointEventSchema) }, strict)

/** A point as a profile lists it: no events (those belong to one site's wiring). */
export const BacnetProfilePointSchema = Type.Object(
  { ...pointKeys, description: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })) },
  strict,
)
