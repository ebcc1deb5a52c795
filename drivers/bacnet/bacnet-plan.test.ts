import { ObjectType, PropertyIdentifier as P } from '@bacnet-js/client'
import { describe, expect, it } from 'vitest'
import {
  apduNeeded,
  estimateObjectReplyBytes,
  groupByObject,
  type PlannedPoint,
  planRpmBatches,
} from './bacnet-plan.ts'

const ai = (index: number, instance = index, propertyId: number = P.PRESENT_VALUE): PlannedPoint => ({
  index,
  objectType: ObjectType.ANALOG_INPUT,
  instance,
  propertyId,
})

describe('groupByObject', () => {
  it('reads each object once, with Status_Flags last', () => {
    const objects = groupByObject([ai(0, 1), ai(1, 1, P.UNITS), ai(2, 2)])
    expect(objects.map((o) => [o.instance, o.propertyIds])).toEqual([
      [1, [P.PRESENT_VALUE, P.UNITS, P.STATUS_FLAGS]],
      [2, [P.PRESENT_VALUE, P.STATUS_FLAGS]],
    ])
    expect(objects[0]?.points.map((p) => p.index)).toEqual([0, 1])
  })

  it('asks a device object for no Status_Flags', () => {
    const [device] = groupByObject([
      { index: 0, objectType: ObjectType.DEVICE, instance: 7, propertyId: P.VENDOR_IDENTIFIER },
    ])
    expect(device?.propertyIds).toEqual([P.VENDOR_IDENTIFIER])
  })
})

describe('planRpmBatches', () => {
  const objects = groupByObject(Array.from({ length: 12 }, (_, i) => ai(i)))

  it('fills each batch up to the APDU budget', () => {
    const batches = planRpmBatches(objects, 206, 20)
    expect(batches.map((b) => b.length)).toEqual([7, 5])
    for (const b of batches) expect(apduNeeded(b)).toBeLessThanOrEqual(206)
  })

  it('caps objects per request', () => {
    expect(planRpmBatches(objects, 1476, 5).map((b) => b.length)).toEqual([5, 5, 2])
  })

  it('gives an object too big for the APDU a batch of its own', () => {
    expect(planRpmBatches(objects.slice(0, 2), 20, 20).map((b) => b.length)).toEqual([1, 1])
  })

  it('estimates a REAL and the status flags at no less than their encoded size', () => {
    // encoded: object id 5, [1] 2, pv id 2 + [4] 2 + REAL 5, status id 2 + [4] 2 + bit string 3 = 23
    expect(estimateObjectReplyBytes(objects[0]!)).toBeGreaterThanOrEqual(23)
  })
})
