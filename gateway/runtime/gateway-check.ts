import { familyOf } from '../../drivers/contract/protocol-registry.ts'
import type { Reading } from '../../drivers/driver-types.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import { closeDrivers, familiesToOpen, openDrivers } from './device-drivers.ts'
import { type PointReader, pointReaders } from './device-readers.ts'

export interface CheckResult {
  readonly readings: readonly (Reading & { unit: string })[]
  /** One line per problem: a device that did not answer, or a point that read bad. */
  readonly problems: readonly string[]
}

/**
 * `estatehub gateway check`: reads every configured device once, for the installer on site,
 * and says what is wrong in words they can act on (a device that does not answer is one
 * line, not one line per point).
 */
export async function checkDevices(config: GatewayConfig): Promise<CheckResult> {
  const drivers = await openDrivers(config, familiesToOpen(config, 'check'))
  try {
    const readers = pointReaders(config, drivers)
    const results = await Promise.all(
      readers.map(async (reader) => ({ reader, readings: await reader.read() })),
    )
    return summarise(results, whereOf(config))
  } finally {
    await closeDrivers(drivers)
  }
}

/** Each device's location as its protocol says it (`127.0.0.1:502 unit 3`), for problem lines. */
function whereOf(config: GatewayConfig): Map<string, string> {
  const where = new Map<string, string>()
  for (const device of config.devices) {
    const text = familyOf(device.protocol)?.where?.({ ...device, points: [] })
    if (text) where.set(device.code, text)
  }
  return where
}

function summarise(
  results: readonly { reader: PointReader; readings: readonly Reading[] }[],
  where: ReadonlyMap<string, string>,
): CheckResult {
  const readings: (Reading & { unit: string })[] = []
  const byDevice = new Map<string, Reading[]>()
  for (const { reader, readings: batch } of results) {
    for (const reading of batch) {
      const code = reading.point.slice(reading.point.indexOf('/') + 1)
      readings.push({ ...reading, unit: reader.units.get(code) ?? '' })
      byDevice.set(reader.device, [...(byDevice.get(reader.device) ?? []), reading])
    }
  }
  readings.sort((a, b) => a.point.localeCompare(b.point))
  const problems: string[] = []
  for (const [device, all] of byDevice) {
    const bad = all.filter((r) => r.quality === 'bad').sort((a, b) => a.point.localeCompare(b.point))
    // A device none of whose points read is one problem (wiring, address, power), told by
    // the first reason; the other points' reasons only repeat it.
    if (bad.length > 0 && bad.length === all.length) {
      const at = where.has(device) ? ` (${where.get(device)})` : ''
      problems.push(`${device}: no point could be read: ${bad[0]!.reason ?? 'bad quality'}${at}`)
      continue
    }
    for (const reading of bad) problems.push(`${reading.point}: ${reading.reason ?? 'bad quality'}`)
  }
  return { readings, problems }
}

export function formatCheckTable(result: CheckResult): string {
  const rows = [
    ['point', 'value', 'unit', 'quality', 'reason'],
    ...result.readings.map((r) => [
      r.point,
      r.value === null ? '-' : String(r.value),
      r.unit,
      r.quality,
      r.reason ?? '',
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
