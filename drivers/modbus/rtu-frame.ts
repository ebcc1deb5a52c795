/**
 * RTU request framing for a slave-side reader (the RTU simulator). Over TCP there is no
 * inter-frame silence to delimit frames, so the length comes from the function code's PDU
 * layout (Modbus Application Protocol V1.1b3 §6), as serial servers do.
 */
import { hasValidCrc } from './modbus-crc.ts'

/**
 * Bytes of the request frame (address + PDU + CRC) at the start of `buffer`: a number, or
 * 'need-more' when too little has arrived to tell, or 'unknown' for a function code whose
 * request length we cannot know.
 */
export function rtuRequestLength(buffer: Uint8Array): number | 'need-more' | 'unknown' {
  if (buffer.length < 2) return 'need-more'
  switch (buffer[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6: // address, FC, 2+2 bytes, CRC
      return 8
    case 15:
    case 16: // address, FC, start, quantity, byte count, N bytes, CRC
      return buffer.length < 7 ? 'need-more' : 9 + buffer[6]!
    default:
      return 'unknown'
  }
}

export interface SplitFrames {
  /** Complete frames with a valid CRC. */
  readonly frames: Buffer[]
  /** Bytes of a frame still arriving. */
  readonly rest: Buffer
  /** Frames or bytes dropped: bad CRC or unknown function (a slave ignores those, §2.5.1.2). */
  readonly dropped: number
}

export function splitRtuRequests(buffer: Buffer): SplitFrames {
  const frames: Buffer[] = []
  let rest = buffer
  let dropped = 0
  for (;;) {
    const length = rtuRequestLength(rest)
    if (length === 'need-more') break
    if (length === 'unknown') {
      // Without a length we cannot find the next frame boundary: drop what we have.
      dropped++
      rest = Buffer.alloc(0)
      break
    }
    if (rest.length < length) break
    const frame = rest.subarray(0, length)
    rest = rest.subarray(length)
    if (hasValidCrc(frame)) frames.push(frame)
    else dropped++
  }
  return { frames, rest, dropped }
}
