/**
 * The simulator's object table: a Device object (§12.11) and a few input/value objects (§12.2
 * Analog Input, §12.4 Analog Value, §12.6 Binary Input, §12.8 Binary Value, §12.18 Multi-state
 * Input, §12.20 Multi-state Value), each with the properties a reader asks for, encoded as the
 * library's application-tagged values. Pure: no sockets here.
 */
import {
  ApplicationTag,
  type BACNetAppData,
  type BACNetReadAccess,
  type BACNetReadAccessSpecification,
  ErrorClass,
  ErrorCode,
  ObjectType,
  PropertyIdentifier as P,
  Reliability,
  StatusFlags,
  StatusFlagsBitString,
} from '@bacnet-js/client'
import rpmServiceModule from '@bacnet-js/client/dist/lib/services/ReadPropertyMultiple.js'
import { objectTypeId } from '../bacnet-names.ts'

export type SimObjectType =
  | 'analog-input'
  | 'analog-value'
  | 'binary-input'
  | 'binary-value'
  | 'multi-state-input'
  | 'multi-state-value'

export interface SimStatusFlags {
  readonly inAlarm?: boolean
  readonly fault?: boolean
  readonly overridden?: boolean
  readonly outOfService?: boolean
}

export interface SimObjectInit {
  readonly type: SimObjectType
  readonly instance: number
  readonly name?: string
  readonly value: number | boolean
  /** EngineeringUnits (analog objects); default no-units (95). */
  readonly units?: number
  /** §13.1.4: an analog value notifies COV when it moved at least this much; default 0. */
  readonly covIncrement?: number
  /** Multi-state State_Text; its length is Number_Of_States. */
  readonly stateText?: readonly string[]
  readonly statusFlags?: SimStatusFlags
}

export interface SimObject {
  readonly type: number
  readonly typeName: SimObjectType
  readonly instance: number
  readonly name: string
  value: number | boolean
  readonly units: number
  readonly covIncrement: number
  readonly stateText: readonly string[]
  flags: Required<SimStatusFlags>
  eventState: number
  /** Value in the last COV notification (§13.1.4 compares against it). */
  lastCovValue: number | boolean
}

export interface SimDevice {
  readonly instance: number
  readonly name: string
  readonly vendorId: number
  readonly maxApdu: number
  /**
   * Answers the Device instance 4194303 as its own (§12.11.1, Protocol_Revision 4 and later);
   * false: an older device, answering it object/unknown-object. Default true.
   */
  readonly answersWildcard?: boolean
}

const WILDCARD_INSTANCE = 4194303

export type PropertyRead =
  | { readonly ok: true; readonly values: BACNetAppData[] }
  | { readonly ok: false; readonly errorClass: number; readonly errorCode: number }

const ARRAY_ALL = 0xffffffff

// The RPM encoder is not exported from the package root; the simulator uses it to measure replies.
// Node hands an ES module `module.exports` (class at `.default`); vitest's interop the class.
type RpmService = typeof rpmServiceModule.default
function pickRpmService(mod: unknown): RpmService {
  const inner = (mod as { default?: unknown } | null)?.default
  const candidate =
    typeof (inner as Partial<RpmService> | undefined)?.encodeAcknowledge === 'function' ? inner : mod
  if (typeof (candidate as Partial<RpmService> | null)?.encodeAcknowledge !== 'function') {
    throw new Error('@bacnet-js/client: ReadPropertyMultiple encoder not found')
  }
  return candidate as RpmService
}
const rpmService = pickRpmService(rpmServiceModule)

/** APDU size of an RPM ack (3-byte Complex-ACK header + results, §20.1.5), by encoding it. */
export function rpmAckSize(values: BACNetReadAccess[]): number {
  const scratch = { buffer: Buffer.alloc(16_384), offset: 0 }
  try {
    rpmService.encodeAcknowledge(scratch, values)
  } catch {
    return Number.POSITIVE_INFINITY
  }
  return 3 + scratch.offset
}

export function createSimObject(init: SimObjectInit): SimObject {
  const type = objectTypeId(init.type)
  if (type === undefined) throw new Error(`unknown object type ${init.type}`)
  return {
    type,
    typeName: init.type,
    instance: init.instance,
    name: init.name ?? `${init.type}-${init.instance}`,
    value: init.value,
    units: init.units ?? 95,
    covIncrement: init.covIncrement ?? 0,
    stateText: init.stateText ?? ['state-1', 'state-2', 'state-3'],
    flags: { inAlarm: false, fault: false, overridden: false, outOfService: false, ...init.statusFlags },
    eventState: 0,
    lastCovValue: init.value,
  }
}

export const isAnalog = (o: SimObject): boolean =>
  o.type === ObjectType.ANALOG_INPUT || o.type === ObjectType.ANALOG_VALUE
const isBinary = (o: SimObject): boolean =>
  o.type === ObjectType.BINARY_INPUT || o.type === ObjectType.BINARY_VALUE
const isMultiState = (o: SimObject): boolean => !isAnalog(o) && !isBinary(o)

const real = (v: number): BACNetAppData => ({ type: ApplicationTag.REAL, value: v })
const unsigned = (v: number): BACNetAppData => ({ type: ApplicationTag.UNSIGNED_INTEGER, value: v })
const enumerated = (v: number): BACNetAppData => ({ type: ApplicationTag.ENUMERATED, value: v })
const bool = (v: boolean): BACNetAppData => ({ type: ApplicationTag.BOOLEAN, value: v })
const text = (v: string): BACNetAppData => ({ type: ApplicationTag.CHARACTER_STRING, value: v })
const objectId = (type: number, instance: number): BACNetAppData => ({
  type: ApplicationTag.OBJECTIDENTIFIER,
  value: { type, instance },
})

export function presentValue(o: SimObject): BACNetAppData {
  if (isAnalog(o)) return real(Number(o.value))
  if (isBinary(o)) return enumerated(o.value === true || o.value === 1 ? 1 : 0)
  return unsigned(Number(o.value))
}

export function statusFlags(o: SimObject): BACNetAppData {
  const bits: StatusFlags[] = []
  if (o.flags.inAlarm) bits.push(StatusFlags.IN_ALARM)
  if (o.flags.fault) bits.push(StatusFlags.FAULT)
  if (o.flags.overridden) bits.push(StatusFlags.OVERRIDDEN)
  if (o.flags.outOfService) bits.push(StatusFlags.OUT_OF_SERVICE)
  return { type: ApplicationTag.BIT_STRING, value: new StatusFlagsBitString(...bits) }
}

/** Properties of an object as (id → values); arrays are lists of more than one value. */
function objectProperties(o: SimObject): Map<number, BACNetAppData[]> {
  const props = new Map<number, BACNetAppData[]>([
    [P.OBJECT_IDENTIFIER, [objectId(o.type, o.instance)]],
    [P.OBJECT_NAME, [text(o.name)]],
    [P.OBJECT_TYPE, [enumerated(o.type)]],
    [P.PRESENT_VALUE, [presentValue(o)]],
    [P.STATUS_FLAGS, [statusFlags(o)]],
    [P.EVENT_STATE, [enumerated(o.eventState)]],
    [P.OUT_OF_SERVICE, [bool(o.flags.outOfService)]],
    [
      P.RELIABILITY,
      [enumerated(o.flags.fault ? Reliability.UNRELIABLE_OTHER : Reliability.NO_FAULT_DETECTED)],
    ],
  ])
  if (isAnalog(o)) {
    props.set(P.UNITS, [enumerated(o.units)])
    props.set(P.COV_INCREMENT, [real(o.covIncrement)])
  }
  if (o.type === ObjectType.BINARY_INPUT) props.set(P.POLARITY, [enumerated(0)])
  if (isMultiState(o)) {
    props.set(P.NUMBER_OF_STATES, [unsigned(o.stateText.length)])
    props.set(P.STATE_TEXT, o.stateText.map(text))
  }
  return props
}

function deviceProperties(d: SimDevice, objects: readonly SimObject[]): Map<number, BACNetAppData[]> {
  return new Map<number, BACNetAppData[]>([
    [P.OBJECT_IDENTIFIER, [objectId(ObjectType.DEVICE, d.instance)]],
    [P.OBJECT_NAME, [text(d.name)]],
    [P.OBJECT_TYPE, [enumerated(ObjectType.DEVICE)]],
    [P.SYSTEM_STATUS, [enumerated(0)]],
    [P.VENDOR_NAME, [text('EstateHub simulator')]],
    [P.VENDOR_IDENTIFIER, [unsigned(d.vendorId)]],
    [P.MODEL_NAME, [text('bacnet-device-sim')]],
    [P.PROTOCOL_VERSION, [unsigned(1)]],
    [P.PROTOCOL_REVISION, [unsigned(14)]],
    [P.MAX_APDU_LENGTH_ACCEPTED, [unsigned(d.maxApdu)]],
    [P.SEGMENTATION_SUPPORTED, [enumerated(3)]],
    [P.APDU_TIMEOUT, [unsigned(3000)]],
    [P.NUMBER_OF_APDU_RETRIES, [unsigned(3)]],
    [
      P.OBJECT_LIST,
      [objectId(ObjectType.DEVICE, d.instance), ...objects.map((o) => objectId(o.type, o.instance))],
    ],
  ])
}

const arrays: ReadonlySet<number> = new Set([P.OBJECT_LIST, P.STATE_TEXT])

export class SimObjectTable {
  readonly device: SimDevice
  readonly #objects = new Map<string, SimObject>()

  constructor(device: SimDevice, inits: readonly SimObjectInit[]) {
    this.device = device
    for (const init of inits) {
      const o = createSimObject(init)
      this.#objects.set(`${o.type}:${o.instance}`, o)
    }
  }

  get(type: number, instance: number): SimObject | undefined {
    return this.#objects.get(`${type}:${instance}`)
  }

  /** By configured name; throws for an object the simulator does not have. */
  require(type: SimObjectType, instance: number): SimObject {
    const o = this.get(objectTypeId(type) ?? -1, instance)
    if (!o) throw new Error(`simulator has no ${type} ${instance}`)
    return o
  }

  #properties(type: number, instance: number): Map<number, BACNetAppData[]> | undefined {
    const wildcard = instance === WILDCARD_INSTANCE && this.device.answersWildcard !== false
    if (type === ObjectType.DEVICE && (instance === this.device.instance || wildcard)) {
      return deviceProperties(this.device, [...this.#objects.values()])
    }
    const o = this.get(type, instance)
    return o ? objectProperties(o) : undefined
  }

  /** Property ids of an object, for RPM's ALL (§15.7.3.1.1); empty for an unknown object. */
  propertyIds(type: number, instance: number): number[] {
    return [...(this.#properties(type, instance)?.keys() ?? [])]
  }

  /** §15.5.1.3 ReadProperty semantics, including array index 0 (the length). */
  read(type: number, instance: number, propertyId: number, index = ARRAY_ALL): PropertyRead {
    const props = this.#properties(type, instance)
    if (!props) return { ok: false, errorClass: ErrorClass.OBJECT, errorCode: ErrorCode.UNKNOWN_OBJECT }
    const values = props.get(propertyId)
    if (!values) return { ok: false, errorClass: ErrorClass.PROPERTY, errorCode: ErrorCode.UNKNOWN_PROPERTY }
    if (index === ARRAY_ALL) return { ok: true, values }
    if (!arrays.has(propertyId)) {
      return { ok: false, errorClass: ErrorClass.PROPERTY, errorCode: ErrorCode.PROPERTY_IS_NOT_AN_ARRAY }
    }
    if (index === 0) return { ok: true, values: [unsigned(values.length)] }
    const element = values[index - 1]
    if (!element)
      return { ok: false, errorClass: ErrorClass.PROPERTY, errorCode: ErrorCode.INVALID_ARRAY_INDEX }
    return { ok: true, values: [element] }
  }

  /**
   * §15.7 ReadPropertyMultiple results: an unknown object or property yields an error in its
   * place (§15.7.3.1.2), not an Error-PDU; ALL expands to every property (§15.7.3.1.1).
   */
  readMultiple(specs: readonly BACNetReadAccessSpecification[]): BACNetReadAccess[] {
    return specs.map((spec) => {
      const { type, instance } = spec.objectId
      const ids = spec.properties.flatMap((p) =>
        p.id === P.ALL ? this.propertyIds(type, instance).map((id) => ({ id, index: ARRAY_ALL })) : [p],
      )
      return {
        objectId: spec.objectId,
        values: ids.map((p) => {
          const r = this.read(type, instance, p.id, p.index)
          // the library encodes an error result from this shape (asn1 encodeReadAccessResult)
          const value = r.ok
            ? r.values
            : [{ value: { type: 'BacnetError', errorClass: r.errorClass, errorCode: r.errorCode } }]
          return { property: { id: p.id, index: p.index }, value }
        }),
      }
    })
  }
}
