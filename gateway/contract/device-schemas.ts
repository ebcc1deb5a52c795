/**
 * How a device is reached and how its points are addressed, per protocol: shared by the hub
 * (which stores device records) and the gateway (whose config lists devices), so both accept
 * exactly the same shapes. Every list and schema here derives from the protocol registry
 * (drivers/protocols.ts): a protocol added there is known to both sides with no edit here.
 * Only schemas are loaded: drivers come in lazily, when a gateway opens them.
 */
import type { TSchema } from 'typebox'
import type { PointRecord, Problem } from '../../drivers/contract/protocol-definition.ts'
import {
  familyOf,
  protocolFamilies,
  protocolNames,
  registerProtocol,
  variantOf,
} from '../../drivers/contract/protocol-registry.ts'

export type { PointRecord, Problem }
export { protocolNames, registerProtocol }

/** A protocol name of the registry (`modbus-tcp`); checked at run time, since tests may add one. */
export type DeviceProtocol = string

/** The connection schema of a protocol, or undefined for an unknown name. */
export function connectionSchemaOf(protocol: string): TSchema | undefined {
  return variantOf(protocol)?.connection
}

/** The schema of a point's `address` on a device of this protocol. */
export function pointAddressSchemaOf(protocol: string): TSchema | undefined {
  return familyOf(protocol)?.address
}

/** The first rule of the protocol a point record breaks beyond its address schema. */
export function checkPointRecord(protocol: string, point: PointRecord): Problem | undefined {
  return familyOf(protocol)?.checkRecord?.(point)
}

/** What the console needs to draw a device form: each protocol and its JSON schemas. */
export interface ProtocolDescription {
  readonly name: string
  readonly family: string
  readonly title: string
  readonly connection: TSchema
  readonly address: TSchema
}

export function describeProtocols(): ProtocolDescription[] {
  return protocolFamilies().flatMap((family) =>
    family.protocols.map((variant) => ({
      name: variant.name,
      family: family.family,
      title: variant.title,
      connection: variant.connection,
      address: family.address,
    })),
  )
}

// One list of data types and widths for drivers, gateway config and hub records.
export { type DataType, dataTypes, registerSpan } from '../../drivers/driver-types.ts'
