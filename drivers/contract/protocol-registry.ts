/**
 * The protocol registry: the built-in families (drivers/protocols.ts) plus any a test
 * registers. Lookups read it at call time, so a family registered before the gateway or the
 * hub is built is seen by both.
 */
import { builtInProtocols } from '../protocols.ts'
import type { ProtocolDefinition, ProtocolVariant } from './protocol-definition.ts'

const families = new Map<string, ProtocolDefinition>()
const byName = new Map<string, { family: ProtocolDefinition; variant: ProtocolVariant }>()
const namePattern = /^[a-z][a-z0-9-]{0,63}$/

/** Adds a family. Throws when a name is malformed or taken. */
export function registerProtocol(definition: ProtocolDefinition): void {
  if (families.has(definition.family)) throw new Error(`protocol family ${definition.family} is registered`)
  for (const variant of definition.protocols) {
    if (!namePattern.test(variant.name)) throw new Error(`"${variant.name}" is not a protocol name`)
    if (byName.has(variant.name)) throw new Error(`protocol ${variant.name} is registered`)
  }
  families.set(definition.family, definition)
  for (const variant of definition.protocols) byName.set(variant.name, { family: definition, variant })
}

for (const definition of builtInProtocols) registerProtocol(definition)

/** Every protocol name, in registration order. */
export function protocolNames(): string[] {
  return [...byName.keys()]
}

export function protocolFamilies(): ProtocolDefinition[] {
  return [...families.values()]
}

/** The family of a protocol name, or undefined for an unknown name. */
export function familyOf(protocol: string): ProtocolDefinition | undefined {
  return byName.get(protocol)?.family
}

export function variantOf(protocol: string): ProtocolVariant | undefined {
  return byName.get(protocol)?.variant
}

/** A family by its own name (`modbus`), for profiles. */
export function familyNamed(family: string): ProtocolDefinition | undefined {
  return families.get(family)
}
