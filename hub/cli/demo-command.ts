import { loadHubConfig } from '../config/hub-config.ts'
import { startDemoEdge } from '../demo/demo-edge.ts'
import { seedDemo } from '../demo/seed-demo.ts'
import { startHub } from './hub-command.ts'

/** `npm start`: the hub on embedded defaults with a seeded demo estate and a printed login. */
export async function runDemo(configFile: string | undefined) {
  const config = loadHubConfig(configFile)
  const hub = await startHub(config)
  const login = await seedDemo(hub.store.db)
  // The site: simulated meters and the demo gateway polling them. A taken port leaves the
  // demo with the hub alone rather than failing it.
  const edge = await startDemoEdge(hub.store.db, `${config.database.dataDir}-gateway-outbox`).catch(
    (error: Error) => {
      console.log(`  (demo meters not started: ${error.message})`)
      return undefined
    },
  )
  console.log('')
  console.log('  Demo estate 华景花园 is ready.')
  console.log(`  Log in:   ${login.username} / ${login.password}`)
  console.log(`  API docs: ${hub.url}/docs`)
  console.log(
    `  Try:      curl -s -X POST ${hub.url}/api/v1/auth/login -H 'content-type: application/json' \\`,
  )
  console.log(`              -d '{"username":"${login.username}","password":"${login.password}"}'`)
  if (edge)
    console.log(
      `  Gateway:  demo-gw-1 polls ${edge.meters} simulated meters; health ${edge.gatewayHealthUrl}`,
    )
  console.log('  Stop with Ctrl-C.')
}
