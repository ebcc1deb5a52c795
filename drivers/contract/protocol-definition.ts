/**
 * What one protocol folder contributes to the registry (drivers/protocols.ts): its names and
 * connection schemas, its point schemas and checks, its planner, a lazily loaded driver, a
 * simulator for the conformance suite, and how `gateway check` names a device. Everything
 * else (gateway config, readers, check, the hub's device API, the console's form, profiles)
 * derives from these entries, so a new protocol is one folder plus one registry line.
 */
import type { TProperties, TSchema } from 'typebox'
import type { DeviceDriver, DriverDevice, DriverPoint } from './device-driver.ts'

/** A problem at a path below the value checked: ['register'], ['points', 3, 'code']. */
export interface Problem {
  readonly path: readonly (string | number)[]
  readonly message: string
  /** A stable key a client translates by (the hub's error rules, docs/errors.md), with its parameters. */
  readonly rule?: string
  readonly params?: Readonly<Record<string, string | number>>
}

/** One protocol name of a family and how a device of it is reached. */
export interface ProtocolVariant {
  /** As stored in device records and config files: `modbus-tcp`. Lower case, digits, dashes. */
  readonly name: string
  readonly title: string
  readonly connection: TSchema
}

/** A point as the hub stores it: the protocol's address apart from the typed columns. */
export interface PointRecord {
  readonly address: Readonly<Record<string, unknown>>
  readonly dataType: string
  readonly byteOrder?: string | null
}

/** One request the planner chose, for `gateway check --plan` and the conformance suite. */
export interface PlannedRequest {
  readonly points: readonly string[]
  readonly describe: string
}

/** The family's part of a profile file (docs/profiles.md), beside the common envelope. */
export interface ProfileParts {
  /** Keys beside profile, protocol, maker, model, description, source, verified. */
  readonly fields: TProperties
  /** Applies the file's defaults and checks what a schema cannot say. Paths are file keys. */
  resolve(doc: Readonly<Record<string, unknown>>): {
    readonly points: DriverPoint[]
    /** Connection keys the maker's document fixes (read limits); the device's own win. */
    readonly connectionDefaults: Readonly<Record<string, unknown>>
    readonly problems: readonly Problem[]
  }
}

/** A running simulator of the family on real sockets, for the conformance suite. */
export interface ProtocolSimulator {
  /** Driver settings to open a driver that talks to this simulator. */
  readonly settings: unknown
  /** A device that answers, with points of every value type the family reads. */
  readonly device: DriverDevice
  /** A point at an address the device does not have. */
  readonly missingPoint: DriverPoint
  /** A device nothing answers for (a closed port, an absent instance). */
  readonly deadDevice: DriverDevice
  /**
   * For families whose devices say who they are (a BACnet device instance): the live device's
   * address configured with an identity the device there does not have. Its driver verifies
   * the identity before trusting a value, so every reading is bad with a reason naming both.
   */
  readonly wrongIdentityDevice?: DriverDevice
  /** The device answers after `ms` (null: not at all). */
  delay(ms: number | null): void
  close(): Promise<void>
}

/** A simulator of a family whose devices push events unasked (alarms, webhooks). */
export interface PushSimulator {
  /** Driver settings to open a driver that hears this simulator. */
  readonly settings: unknown
  /** Makes the device push one event to the driver; resolves once it was sent. */
  push(): Promise<void>
  close(): Promise<void>
}

export type DriverFactory = (settings: unknown) => DeviceDriver

export interface ProtocolDefinition {
  /** The driver family: one driver instance serves every protocol name of it (shared buses). */
  readonly family: string
  readonly protocols: readonly ProtocolVariant[]
  /** A point as a gateway config (and a profile, after defaults) lists it; none: nothing to poll. */
  readonly point?: TSchema
  /** A point's `address` as the hub stores it. */
  readonly address: TSchema
  /** Rules of one config point a schema cannot say; paths below the point. */
  checkPoint?(point: DriverPoint): Problem[]
  /** Rules of one hub point record; the first problem, its path below the body. */
  checkRecord?(point: PointRecord): Problem | undefined
  /** Points the device pushes (subscribed to, not polled). */
  pushed?(point: DriverPoint): boolean
  /** The fewest protocol requests for a device's polled points (pure). */
  plan?(device: DriverDevice): readonly PlannedRequest[]
  /**
   * The connection key naming the device itself rather than where it is (BACnet's
   * `deviceInstance`): the driver checks the device at the address has it before trusting a
   * value, and the simulator gives a `wrongIdentityDevice` for the conformance suite.
   */
  readonly identityKey?: string
  /** The gateway config section the driver is opened with (`bacnet`, `access`). */
  readonly settingsKey?: string
  /** Open the driver whenever its settings section is present, devices or not (a receiver). */
  readonly runsWithoutDevices?: boolean
  readonly profile?: ProfileParts
  /** Loads the driver code on demand, so schema users (the hub) do not load protocol libraries. */
  load(): Promise<DriverFactory>
  /** Starts a simulator on real sockets (tests and the conformance suite). */
  simulate?(): Promise<ProtocolSimulator>
  /** Starts a simulator of devices that push events, for families with `listen`. */
  simulatePush?(): Promise<PushSimulator>
  /** Where a device is, for `gateway check`'s problem lines: `127.0.0.1:502 unit 3`. */
  where?(device: DriverDevice): string
}
