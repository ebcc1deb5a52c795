import type { HubModule } from '../kernel/hub-module.ts'
import { registerImportRoutes } from './import-routes.ts'

/** Spreadsheet (CSV/XLSX) import of buildings, units, customers and meters. */
export const importModule: HubModule = {
  name: 'import',
  tags: [{ name: 'import', description: 'Spreadsheet import, checked row by row' }],
  routes: registerImportRoutes,
}
