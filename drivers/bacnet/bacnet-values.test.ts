import {
  ApplicationTag,
  ObjectType,
  PropertyIdentifier as P,
  StatusFlags,
  StatusFlagsBitString,
} from '@bacnet-js/client'
import { describe, expect, it } from 'vitest'
import { classifyFailure, isObjectError, isTooBig, refusesService } from './bacnet-errors.ts'
import { decodeStatusFlags, decodeValue, qualityFromFlags, toReading } from './bacnet-values.ts'

const flags = (...bits: StatusFlags[]) => [
  { type: ApplicationTag.BIT_STRING, value: new StatusFlagsBitString(...bits) },
]

describe('status flags and quality', () => {
  it('decodes the four flags by bit number', () => {
    expect(decodeStatusFlags(flags(StatusFlags.FAULT, StatusFlags.OUT_OF_SERVICE))).toEqual({
      inAlarm: false,
      fault: true,
      overridden: false,
      outOfService: true,
    })
    expect(decodeStatusFlags([{ type: ApplicationTag.REAL, value: 1 }])).toBeUndefined()
  })

  it('fault is bad, out-of-service and in-alarm uncertain, overridden good', () => {
    const q = (...bits: StatusFlags[]) => qualityFromFlags(decodeStatusFlags(flags(...bits))).quality
    expect(q()).toBe('good')
    expect(q(StatusFlags.OVERRIDDEN)).toBe('good')
    expect(q(StatusFlags.IN_ALARM)).toBe('uncertain')
    expect(q(StatusFlags.OUT_OF_SERVICE)).toBe('uncertain')
    expect(q(StatusFlags.FAULT, StatusFlags.IN_ALARM)).toBe('bad')
  })

  it('keeps the value when uncertain, drops it when bad', () => {
    const value = decodeValue(ObjectType.ANALOG_INPUT, P.PRESENT_VALUE, [
      { type: ApplicationTag.REAL, value: 4 },
    ])
    const alarm = toReading('d/p', 1, value, decodeStatusFlags(flags(StatusFlags.IN_ALARM)))
    expect(alarm).toMatchObject({
      value: 4,
      quality: 'uncertain',
      reason: 'EH_ERR_BACNET_FLAGGED: status-flags in-alarm',
    })
    const fault = toReading('d/p', 1, value, decodeStatusFlags(flags(StatusFlags.FAULT)))
    expect(fault).toMatchObject({ value: null, quality: 'bad' })
  })
})

describe('decodeValue', () => {
  it('turns binary present-values into booleans, other enumerations into numbers', () => {
    const en = (v: number) => [{ type: ApplicationTag.ENUMERATED, value: v }]
    expect(decodeValue(ObjectType.BINARY_INPUT, P.PRESENT_VALUE, en(1))).toEqual({ ok: true, value: true })
    expect(decodeValue(ObjectType.ANALOG_INPUT, P.UNITS, en(62))).toEqual({ ok: true, value: 62 })
  })

  it('reports a per-property error of an RPM result', () => {
    const err = [{ type: ApplicationTag.ERROR, value: { errorClass: 1, errorCode: 31 } }]
    expect(decodeValue(ObjectType.ANALOG_INPUT, P.PRESENT_VALUE, err)).toEqual({
      ok: false,
      reason: 'EH_ERR_BACNET_ERROR: object/unknown-object',
    })
  })

  it('trims trailing NULs of a character string; a NUL before its end or a lone surrogate reads bad', () => {
    const cs = (value: string) => [{ type: ApplicationTag.CHARACTER_STRING, value }]
    const name = (value: string) => decodeValue(ObjectType.DEVICE, P.OBJECT_NAME, cs(value))
    expect(name('AHU-1\0\0\0')).toEqual({ ok: true, value: 'AHU-1' })
    expect(name('AB\0CDE')).toEqual({
      ok: false,
      reason: expect.stringMatching(/NUL at offset 2, before its end/),
    })
    expect(name(`AB${String.fromCharCode(0xd800)}`)).toMatchObject({ ok: false })
  })
})

describe('classifyFailure', () => {
  it('reads the library messages', () => {
    expect(classifyFailure(new Error('ERR_TIMEOUT'))).toEqual({ kind: 'timeout' })
    const unknown = classifyFailure(new Error('BacnetError - Class:1 - Code:31'))
    expect(isObjectError(unknown)).toBe(true)
    const reject = classifyFailure(new Error('BacnetAbort - Reason:9'))
    expect([isTooBig(reject), refusesService(reject)]).toEqual([false, true])
    const tooBig = classifyFailure(new Error('BacnetAbort - Reason:4'))
    expect([isTooBig(tooBig), refusesService(tooBig)]).toEqual([true, false])
  })
})
