import { loadGatewayConfig } from '../../gateway/config/gateway-config.ts'
import { checkDevices, formatCheckTable } from '../../gateway/runtime/gateway-check.ts'

/**
 * `estatehub gateway [check]`. `check` validates the file and reads every device once,
 * printing a table for the installer; it exits non-zero when anything could not be read.
 */
export async function runGateway(action: string | undefined, configFile: string | undefined) {
  const config = loadGatewayConfig(configFile)
  if (action === 'check') {
    const result = await checkDevices(config)
    console.log(formatCheckTable(result))
    if (result.problems.length > 0) {
      console.error(`\n${result.problems.length} problem(s):`)
      for (const problem of result.problems) console.error(problem)
      process.exitCode = 1
    }
    return
  }
  if (action !== undefined) throw new Error(`gateway: unknown action "${action}" (only "check")`)
  const { runGatewayProcess } = await import('../../gateway/runtime/gateway-process.ts')
  await runGatewayProcess(config)
}
