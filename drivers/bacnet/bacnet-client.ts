/**
 * The one place that touches how `@bacnet-js/client` is loaded.
 *
 * The package is CommonJS with `exports.default = BACnetClient`. From an ES module, Node hands
 * the default import the whole `module.exports` object, so the class sits at `.default`
 * (TypeScript's NodeNext types agree). Tools that apply `__esModule` interop hand the class
 * itself; both shapes are accepted.
 */
import bacnetModule from '@bacnet-js/client'

type ClientConstructor = typeof bacnetModule.default
export type BacnetClient = InstanceType<ClientConstructor>

function pickConstructor(mod: unknown): ClientConstructor {
  if (typeof mod === 'function') return mod as ClientConstructor
  const inner = (mod as { default?: unknown } | null)?.default
  if (typeof inner === 'function') return inner as ClientConstructor
  throw new Error('@bacnet-js/client: no client class found in the module')
}

const Client = pickConstructor(bacnetModule)

export interface BacnetClientOptions {
  readonly port: number
  readonly interface?: string
  readonly broadcastAddress?: string
  readonly apduTimeoutMs: number
}

/**
 * Creates a client and waits until its UDP socket is bound. `reuseAddr` is forced off: the
 * library turns it on by default, and then a second stack on the same port binds silently and
 * steals unicast replies instead of failing with EADDRINUSE.
 */
export async function openBacnetClient(opts: BacnetClientOptions): Promise<BacnetClient> {
  const client = new Client({
    port: opts.port,
    interface: opts.interface ?? '0.0.0.0',
    broadcastAddress: opts.broadcastAddress ?? '255.255.255.255',
    apduTimeout: opts.apduTimeoutMs,
    reuseAddr: false,
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      client.off('listening', onListening)
      try {
        client.close()
      } catch {
        // the socket never bound; nothing to close
      }
      reject(err)
    }
    const onListening = (): void => {
      client.off('error', onError)
      resolve()
    }
    client.once('error', onError)
    client.once('listening', onListening)
  })
  return client
}

/** Closes the client's socket; resolves once it is closed (or was never open). */
export function closeBacnetClient(client: BacnetClient): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      client.close()
    } catch {
      // already closed
    }
    // dgram's close is synchronous enough for our purposes; yield once so the close event runs.
    setImmediate(resolve)
  })
}
