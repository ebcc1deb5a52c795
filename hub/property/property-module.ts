import type { HubModule } from '../kernel/hub-module.ts'
import { buildingResource } from './building-resource.ts'
import { customerCredentialResource } from './customer-credential-resource.ts'
import { customerResource } from './customer-resource.ts'
import { occupancyResource } from './occupancy-resource.ts'
import { unitResource } from './unit-resource.ts'

/** Buildings, units, customers, who occupies what, and customers' access credentials. */
export const propertyModule: HubModule = {
  name: 'property',
  tags: [
    { name: 'property', description: 'Buildings and units' },
    { name: 'customers', description: 'Owners and tenants, occupancies, access credentials' },
  ],
  permissions: ['property.write', 'customers.write'],
  resources: [
    buildingResource,
    unitResource,
    customerResource,
    customerCredentialResource,
    occupancyResource,
  ],
}
