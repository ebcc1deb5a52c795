/**
 * What the gateway knows of each configured device, for `/healthz` and the log: every device
 * of every protocol (the registry says which family each belongs to; no protocol is named
 * here), with its state, its last good reading and its last error. Fed by what the gateway
 * sees anyway: the readings of polls and pushes, pushed events, polls that failed outright.
 * A change of state is told once (to `onChange`), not once per poll.
 */
import type { DeviceHealth } from '../../drivers/contract/device-driver.ts'
import { familyOf } from '../../drivers/contract/protocol-registry.ts'
import type { DeviceEvent, Quality, Reading } from '../../drivers/driver-types.ts'

/**
 * `disabled`: `enabled: false`. `not-running`: its family's driver is not open (no config
 * section). `waiting`: nothing heard yet. `ok`: every point's latest reading has a value.
 * `degraded`: some points' latest readings are bad. `failed`: all of them are (or the poll
 * failed): a dead device, a wrong device at the address.
 */
export type DeviceState = 'disabled' | 'not-running' | 'waiting' | 'ok' | 'degraded' | 'failed'

export interface DeviceStatus {
  readonly code: string
  readonly protocol: string
  /** The registry's family (`modbus`, `bacnet`, `access`…); null for a protocol it does not know. */
  readonly family: string | null
  readonly state: DeviceState
  /** The driver's own liveness where it tracks one, else from the state; null when unknown. */
  readonly online: boolean | null
  /** ISO time of the last good reading. */
  readonly lastGoodAt: string | null
  /** ISO time of the last event the device pushed (access controllers, BACnet alarms). */
  readonly lastEventAt: string | null
  /** The last bad reading's reason (or a failed poll's error), kept after the device recovers. */
  readonly lastError: { readonly at: string; readonly reason: string } | null
}

export interface ConfiguredDevice {
  readonly code: string
  readonly protocol: string
  readonly enabled: boolean
}

interface Track {
  readonly device: ConfiguredDevice
  readonly family: string | null
  readonly running: boolean
  readonly points: Map<string, Quality>
  pollError?: string
  lastGoodAt?: number
  lastEventAt?: number
  lastError?: { at: number; reason: string }
  /** What was last told to onChange: the state, and the kind of reason of a failed one. */
  told: string
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

export class DeviceStatusBoard {
  readonly #tracks = new Map<string, Track>()
  readonly #health: (device: ConfiguredDevice) => DeviceHealth | undefined
  readonly #onChange: (status: DeviceStatus) => void

  constructor(options: {
    devices: readonly ConfiguredDevice[]
    /** Families whose drivers are open. */
    runningFamilies: ReadonlySet<string>
    /** The driver's health of a device, where it tracks one. */
    health?: (device: ConfiguredDevice) => DeviceHealth | undefined
    /** Told once per change of state (and of the kind of reason of a failed device). */
    onChange?: (status: DeviceStatus) => void
  }) {
    this.#health = options.health ?? (() => undefined)
    this.#onChange = options.onChange ?? (() => {})
    for (const device of options.devices) {
      const family = familyOf(device.protocol)?.family ?? null
      const running = family !== null && options.runningFamilies.has(family)
      const track: Track = { device, family, running, points: new Map(), told: '' }
      track.told = this.#toldOf(track)
      this.#tracks.set(device.code, track)
    }
  }

  /** Readings of one device's poll, or pushed ones (they name their device). */
  recordReadings(readings: readonly Reading[]) {
    const touched = new Set<Track>()
    for (const reading of readings) {
      const track = this.#trackOf(reading.point)
      if (!track) continue
      track.points.set(reading.point, reading.quality)
      if (reading.quality === 'good') track.lastGoodAt = Math.max(track.lastGoodAt ?? 0, reading.ts)
      else if (reading.quality === 'bad')
        track.lastError = { at: reading.ts, reason: reading.reason ?? 'bad quality' }
      track.pollError = undefined
      touched.add(track)
    }
    for (const track of touched) this.#tell(track)
  }

  /** A poll that failed as a whole (a driver broke its promise never to throw), a refused subscription. */
  recordFailure(device: string, error: unknown, at = Date.now()) {
    const track = this.#tracks.get(device)
    if (!track) return
    const reason = error instanceof Error ? error.message : String(error)
    track.pollError = reason
    track.lastError = { at, reason }
    this.#tell(track)
  }

  recordEvent(event: DeviceEvent) {
    const track = this.#trackOf(event.source)
    if (!track) return
    track.lastEventAt = Math.max(track.lastEventAt ?? 0, event.ts)
  }

  /** Every configured device, in config order. */
  list(): DeviceStatus[] {
    return [...this.#tracks.values()].map((track) => this.#statusOf(track))
  }

  /** `<device>/<point>` or `<device>` → the device's track. */
  #trackOf(source: string): Track | undefined {
    const slash = source.indexOf('/')
    return this.#tracks.get(slash === -1 ? source : source.slice(0, slash))
  }

  #stateOf(track: Track): DeviceState {
    if (!track.device.enabled) return 'disabled'
    if (!track.running) return 'not-running'
    if (track.pollError !== undefined) return 'failed'
    const qualities = [...track.points.values()]
    if (qualities.length === 0) return track.lastEventAt === undefined ? 'waiting' : 'ok'
    const bad = qualities.filter((q) => q === 'bad').length
    if (bad === 0) return 'ok'
    return bad === qualities.length ? 'failed' : 'degraded'
  }

  #statusOf(track: Track): DeviceStatus {
    const state = this.#stateOf(track)
    const health = state === 'disabled' || state === 'not-running' ? undefined : this.#health(track.device)
    const derived = state === 'ok' || state === 'degraded' ? true : state === 'failed' ? false : null
    return {
      code: track.device.code,
      protocol: track.device.protocol,
      family: track.family,
      state,
      online: health ? health.online : derived,
      lastGoodAt: iso(track.lastGoodAt),
      lastEventAt: iso(track.lastEventAt),
      lastError: track.lastError
        ? { at: new Date(track.lastError.at).toISOString(), reason: track.lastError.reason }
        : null,
    }
  }

  #toldOf(track: Track): string {
    const state = this.#stateOf(track)
    if (state !== 'failed') return state
    // A failed device's kind of reason is part of its state: a dead device that turns out to
    // be the wrong one (or the reverse) is news. The kind is the reason's code, before its
    // first colon: details such as "next connect in 750 ms" change on every poll.
    const reason = track.pollError ?? track.lastError?.reason ?? ''
    return `${state}: ${reason.split(':')[0]}`
  }

  #tell(track: Track) {
    const told = this.#toldOf(track)
    if (told === track.told) return
    const first = track.told === 'waiting'
    track.told = told
    // A device answering as it should from the start is not news; anything else is.
    if (first && told === 'ok') return
    this.#onChange(this.#statusOf(track))
  }
}
