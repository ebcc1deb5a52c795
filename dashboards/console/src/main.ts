import 'element-plus/dist/index.css'
import './styles.css'
import ElementPlus, { ElMessage } from 'element-plus'
import { createApp } from 'vue'
import App from './App.vue'
import { setUnauthenticatedHandler } from './api/client.ts'
import { setStreamUnauthenticatedHandler } from './api/sse.ts'
import { i18n } from './i18n/index.ts'
import { router, toLogin } from './router.ts'
import { restoreSession } from './session/session.ts'

restoreSession()
// A 401 from any request or stream: the session ended; log in again and come back.
const sessionEnded = () => {
  ElMessage({ type: 'warning', message: i18n.global.t('shell.sessionExpired'), grouping: true })
  toLogin()
}
setUnauthenticatedHandler(sessionEnded)
setStreamUnauthenticatedHandler(sessionEnded)

// Element Plus is registered whole, so pages use <el-…> without imports; its labels follow
// the language through <el-config-provider> in App.vue.
createApp(App).use(i18n).use(router).use(ElementPlus).mount('#app')
