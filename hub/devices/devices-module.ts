import type { HubModule } from '../kernel/hub-module.ts'
import { deviceResource } from './device-resource.ts'
import { gatewayResource } from './gateway-resource.ts'
import { registerGatewayRoutes } from './gateway-routes.ts'
import * as deviceProtocolRegistry from './migrations/0007-device-protocol-registry.ts'
import * as pointPlausibleRange from './migrations/0011-point-plausible-range.ts'
import { pointResource } from './point-resource.ts'
import { registerPresenceRoutes } from './presence-routes.ts'
import { registerProtocolRoutes } from './protocol-routes.ts'

/** Gateways, the devices they read and the devices' points; who is online. */
export const devicesModule: HubModule = {
  name: 'devices',
  tags: [
    { name: 'devices', description: 'Gateways, devices and points' },
    { name: 'presence', description: 'Gateways and devices online' },
  ],
  permissions: ['devices.write'],
  resources: [gatewayResource, deviceResource, pointResource],
  migrations: {
    '0007-device-protocol-registry': deviceProtocolRegistry,
    '0011-point-plausible-range': pointPlausibleRange,
  },
  routes(app, db) {
    registerGatewayRoutes(app, db)
    registerPresenceRoutes(app, db)
    registerProtocolRoutes(app)
  },
}
