/**
 * How a serial line is driven, and when two devices may share one: every device on an RS-485
 * line must agree on baud rate and character framing, whatever protocol it speaks.
 */
import type { CharacterFrame } from './line-timing.ts'

export type Parity = CharacterFrame['parity']

export interface LineSettings extends CharacterFrame {
  readonly baudRate: number
}

/** A device's configured line keys, each optional: the protocol's defaults fill the rest. */
export type LineConfig = Partial<Readonly<Record<keyof LineSettings, unknown>>>

export function lineSettingsOf(config: LineConfig, defaults: LineSettings): LineSettings {
  return {
    baudRate: (config.baudRate as number | undefined) ?? defaults.baudRate,
    parity: (config.parity as Parity | undefined) ?? defaults.parity,
    dataBits: (config.dataBits as number | undefined) ?? defaults.dataBits,
    stopBits: (config.stopBits as number | undefined) ?? defaults.stopBits,
  }
}

/** Two devices claiming one line must agree on how it is driven. */
export function sameLineSettings(a: LineSettings, b: LineSettings): boolean {
  return (
    a.baudRate === b.baudRate &&
    a.parity === b.parity &&
    a.dataBits === b.dataBits &&
    a.stopBits === b.stopBits
  )
}
