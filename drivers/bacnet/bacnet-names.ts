/**
 * Names as configured (kebab-case, as ASHRAE 135 §21 spells the enumerations: `analog-input`,
 * `present-value`, `high-limit`) ↔ the library's numeric enumerations.
 */
import {
  DEFAULT_BACNET_PORT,
  EngineeringUnits,
  ErrorClass,
  ErrorCode,
  EventState,
  EventType,
  NotifyType,
  ObjectType,
  PropertyIdentifier,
  Segmentation,
} from '@bacnet-js/client'

type NumericEnum = Record<string, string | number>

function toKebab(constant: string): string {
  return constant.toLowerCase().replaceAll('_', '-')
}

function lookup(group: NumericEnum, name: string): number | undefined {
  const value = group[name.trim().toUpperCase().replaceAll('-', '_')]
  return typeof value === 'number' ? value : undefined
}

function nameOf(group: NumericEnum, value: number): string {
  const name = group[value]
  return typeof name === 'string' ? toKebab(name) : `unknown-${value}`
}

/** `analog-input` → 0; undefined when the name is not a BACnet object type. */
export function objectTypeId(name: string): number | undefined {
  return lookup(ObjectType, name)
}

export function objectTypeName(id: number): string {
  return nameOf(ObjectType, id)
}

/** `present-value` → 85; undefined when unknown. */
export function propertyId(name: string): number | undefined {
  return lookup(PropertyIdentifier, name)
}

export function propertyName(id: number): string {
  return nameOf(PropertyIdentifier, id)
}

export function eventStateName(id: number): string {
  return nameOf(EventState, id)
}

export function eventStateId(name: string): number | undefined {
  return lookup(EventState, name)
}

export function eventTypeName(id: number): string {
  return nameOf(EventType, id)
}

export function notifyTypeName(id: number): string {
  return nameOf(NotifyType, id)
}

export function segmentationName(id: number): string {
  return nameOf(Segmentation, id)
}

export function unitsName(id: number): string {
  return nameOf(EngineeringUnits, id)
}

/** `object/unknown-object` from an Error-PDU's class and code (§18, §21 Error). */
export function errorName(errorClass: number, errorCode: number): string {
  return `${nameOf(ErrorClass, errorClass)}/${nameOf(ErrorCode, errorCode)}`
}

/**
 * `host` or `host:port` → `host:port`. The library reports senders on the standard port 47808
 * without the port, others with it; keys compare the normalised form.
 */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim()
  return trimmed.includes(':') ? trimmed : `${trimmed}:${DEFAULT_BACNET_PORT}`
}
