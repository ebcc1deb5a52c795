/**
 * The protocols this build speaks: one line per protocol folder. Everything that lists,
 * checks or reads a protocol (gateway config, readers, `gateway check`, the hub's device API
 * and its database, the console's form, profiles) derives from these entries
 * (contract/protocol-registry.ts; docs/architecture.md "How to add a protocol").
 */
import { accessProtocol } from './access/access-protocol.ts'
import { bacnetProtocol } from './bacnet/bacnet-protocol.ts'
import type { ProtocolDefinition } from './contract/protocol-definition.ts'
import { modbusProtocol } from './modbus/modbus-protocol.ts'

export const builtInProtocols: readonly ProtocolDefinition[] = [
  modbusProtocol,
  bacnetProtocol,
  accessProtocol,
]
