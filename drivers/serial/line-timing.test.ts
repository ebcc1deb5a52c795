import { describe, expect, it } from 'vitest'
import { bitsPerCharacter, characterTimeMs, frameWireTimeMs, silenceMs } from './line-timing.ts'

describe('serial line timing', () => {
  it('counts start, data, parity and stop bits: 8E1 and 8N2 are 11, 8N1 is 10', () => {
    expect(bitsPerCharacter({ dataBits: 8, parity: 'even', stopBits: 1 })).toBe(11)
    expect(bitsPerCharacter({ dataBits: 8, parity: 'none', stopBits: 2 })).toBe(11)
    expect(bitsPerCharacter({ dataBits: 8, parity: 'none', stopBits: 1 })).toBe(10)
  })

  it('times characters, frames and silences, with a floor at high baud rates', () => {
    expect(characterTimeMs(2400, 11)).toBeCloseTo(4.583, 3)
    expect(frameWireTimeMs(16, 2400, 11)).toBeCloseTo(73.33, 2)
    expect(silenceMs(3.5, 9600, 11)).toBeCloseTo(4.01, 2)
    expect(silenceMs(3.5, 115_200, 11, 1.75)).toBe(1.75)
    expect(() => characterTimeMs(0, 11)).toThrow(RangeError)
  })
})
