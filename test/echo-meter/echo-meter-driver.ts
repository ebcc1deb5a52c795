/**
 * The echo meter's driver: one TCP connection per read, one line per point, in order. Every
 * failure (refused, timed out, closed, an ERR line) becomes a bad reading: read() never throws.
 */
import { connect, type Socket } from 'node:net'
import type { DeviceDriver, DriverDevice } from '../../drivers/contract/device-driver.ts'
import type { CancelOptions, Reading } from '../../drivers/driver-types.ts'

interface Connection {
  readonly host: string
  readonly port: number
  readonly meterId: string
  readonly timeoutMs?: number
}

/** Sends lines one at a time on one socket; each answer or failure settles its own promise. */
function lineClient(c: Connection, signal: AbortSignal) {
  const socket: Socket = connect({ host: c.host, port: c.port })
  let buffer = ''
  let waiting: ((line: string | Error) => void) | undefined
  let failure: Error | undefined
  const fail = (error: Error) => {
    failure ??= error
    waiting?.(failure)
    socket.destroy()
  }
  socket.on('error', fail)
  socket.on('close', () => fail(new Error('connection closed')))
  signal.addEventListener('abort', () => fail(new Error('aborted')), { once: true })
  socket.on('data', (data) => {
    buffer += data.toString('utf8')
    const at = buffer.indexOf('\n')
    if (at < 0 || !waiting) return
    const line = buffer.slice(0, at)
    buffer = buffer.slice(at + 1)
    waiting(line)
  })
  return {
    ask(line: string): Promise<string> {
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(new Error('timeout')), c.timeoutMs ?? 1000)
        waiting = (answer) => {
          clearTimeout(timer)
          waiting = undefined
          if (answer instanceof Error) reject(answer)
          else resolve(answer)
        }
        socket.write(`${line}\n`)
      })
    },
    close: () => socket.destroy(),
  }
}

export function createEchoMeterDriver(): DeviceDriver {
  const running = new Set<AbortController>()
  let closed = false
  return {
    async open() {},
    async read(device: DriverDevice, options: CancelOptions = {}): Promise<Reading[]> {
      const c = device.connection as unknown as Connection
      const stop = new AbortController()
      running.add(stop)
      if (closed) stop.abort()
      options.signal?.addEventListener('abort', () => stop.abort(), { once: true })
      const client = lineClient(c, stop.signal)
      const readings: Reading[] = []
      try {
        for (const point of device.points) {
          const base = { point: `${device.code}/${point.code}` }
          try {
            const answer = await client.ask(`READ ${c.meterId} ${point.register}`)
            const [status, ...rest] = answer.split(' ')
            const text = rest.join(' ')
            if (status !== 'OK')
              readings.push({ ...base, ts: Date.now(), value: null, quality: 'bad', reason: text })
            else
              readings.push({
                ...base,
                ts: Date.now(),
                value: point.dataType === 'text' ? text : Number(text),
                quality: 'good',
              })
          } catch (error) {
            readings.push({
              ...base,
              ts: Date.now(),
              value: null,
              quality: 'bad',
              reason: (error as Error).message,
            })
          }
        }
      } finally {
        client.close()
        running.delete(stop)
      }
      return readings
    },
    health: () => undefined,
    async close() {
      closed = true
      for (const stop of running) stop.abort()
    },
  }
}
