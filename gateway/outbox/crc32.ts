/**
 * CRC-32 (IEEE 802.3, the zlib/PNG one). Written out because `zlib.crc32` only exists from
 * Node 20.15 and package.json allows 20.11. It guards journal records against torn writes,
 * not against an attacker: the journal is ours, on our disk.
 */
const table = new Uint32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  table[n] = c >>> 0
}

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
