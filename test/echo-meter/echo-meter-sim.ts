/**
 * A line-based TCP "echo meter" for the test-only protocol: `READ <meter> <register>\n` is
 * answered `OK <value>\n` or `ERR <reason>\n`. Register 0 holds the meter id (text).
 */
import { createServer, type Socket } from 'node:net'

export interface EchoMeterSim {
  readonly port: number
  /** Answers after `ms`; null: never. */
  delay(ms: number | null): void
  close(): Promise<void>
}

export async function startEchoMeterSim(
  meters: Record<string, Record<number, number>>,
): Promise<EchoMeterSim> {
  let delayMs: number | null = 0
  const sockets = new Set<Socket>()
  const answer = (line: string): string => {
    const [verb, meter, register] = line.trim().split(' ')
    const registers = meter === undefined ? undefined : meters[meter]
    if (verb !== 'READ' || !registers) return 'ERR unknown meter'
    if (register === '0') return `OK ${meter}`
    const value = registers[Number(register)]
    return value === undefined ? `ERR no register ${register}` : `OK ${value}`
  }
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = ''
    socket.on('data', (data) => {
      pending += data.toString('utf8')
      for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
        const reply = `${answer(pending.slice(0, at))}\n`
        pending = pending.slice(at + 1)
        if (delayMs === null) continue
        if (delayMs === 0) socket.write(reply)
        else setTimeout(() => socket.writable && socket.write(reply), delayMs)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    delay: (ms) => {
      delayMs = ms
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
