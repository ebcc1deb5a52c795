import type { HubModule } from '../kernel/hub-module.ts'
import { registerBillingRoutes } from './billing-routes.ts'
import { feeResources } from './fee-resources.ts'
import { lateFeeAccrualJob } from './late-fee-job.ts'
import * as lateFeeOnce from './migrations/0009-late-fee-once.ts'
import { registerReportRoutes } from './report-routes.ts'

/** Fee standards, bill runs, receivables, the desk, approvals, late fees and the ledger. */
export const billingModule: HubModule = {
  name: 'billing',
  tags: [
    { name: 'billing', description: 'Fees, bill runs, the desk, approvals and receipts' },
    { name: 'reports', description: 'Finance, alarm, repair and access reports (JSON, CSV, XLSX)' },
  ],
  permissions: ['billing.configure', 'billing.run', 'payments.take', 'payments.approve'],
  resources: feeResources,
  migrations: { '0009-late-fee-once': lateFeeOnce },
  jobs: (context) => [lateFeeAccrualJob(context)],
  routes(app, db) {
    registerBillingRoutes(app, db)
    registerReportRoutes(app, db)
  },
}
