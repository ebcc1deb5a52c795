import iAmModule from '@bacnet-js/client/dist/lib/services/IAm.js'
import { describe, expect, it } from 'vitest'
import { encodeAbort, encodeIAm, encodeReject } from './bacnet-raw-apdu.ts'

const IAm: any = (iAmModule as any).decode ? iAmModule : (iAmModule as any).default

describe('raw PDUs', () => {
  it('encodes an I-Am the library decodes, with a legal max APDU', () => {
    const bytes = Buffer.from(encodeIAm(4194302, 206, 3, 999))
    expect([...bytes.subarray(0, 4)]).toEqual([0x01, 0x00, 0x10, 0x00]) // NPDU, unconfirmed I-Am
    expect(IAm.decode(bytes, 4)).toMatchObject({
      deviceId: 4194302,
      maxApdu: 206,
      segmentation: 3,
      vendorId: 999,
    })
  })

  it('encodes Reject and Abort (server) PDUs', () => {
    expect(encodeReject(7, 9)).toEqual([0x01, 0x00, 0x60, 7, 9])
    expect(encodeAbort(7, 4)).toEqual([0x01, 0x00, 0x71, 7, 4])
  })
})
