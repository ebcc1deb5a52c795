import { loadGatewayConfig } from '../../gateway/config/gateway-config.ts'

/**
 * The gateway process. Until the device drivers and the uplink land (issue 3) it checks its
 * configuration and says what it would run, so installers can validate files already.
 */
export async function runGateway(configFile: string | undefined) {
  const config = loadGatewayConfig(configFile)
  console.log(`gateway ${config.gateway.id}: configuration is valid (hub ${config.gateway.hubUrl}).`)
  console.log('Device polling and the MQTT uplink are not part of this build yet; nothing to run.')
}
