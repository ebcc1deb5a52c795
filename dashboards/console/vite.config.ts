import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'
import vue from '@vitejs/plugin-vue'
import { defineConfig, type Plugin } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
const outDir = join(root, 'dist')

/**
 * Writes `x.br` and `x.gz` beside every text file of the build over 1 KB; the hub sends them
 * to browsers that accept them (@fastify/static `preCompressed`), so nothing is compressed
 * per request.
 */
function precompress(): Plugin {
  const brotli = promisify(brotliCompress)
  const gz = promisify(gzip)
  const walk = async (dir: string): Promise<string[]> =>
    (
      await Promise.all(
        (
          await readdir(dir, { withFileTypes: true })
        ).map((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)])),
      )
    ).flat()
  return {
    name: 'estatehub-precompress',
    apply: 'build',
    async closeBundle() {
      const files = (await walk(outDir)).filter((f) => /\.(js|css|html|svg|json)$/.test(f))
      await Promise.all(
        files.map(async (file) => {
          if ((await stat(file)).size < 1024) return
          const data = await readFile(file)
          await writeFile(
            `${file}.br`,
            await brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } }),
          )
          await writeFile(`${file}.gz`, await gz(data, { level: 9 }))
        }),
      )
    },
  }
}

/** Vendor code in a few long-cached chunks that change less often than the pages. */
function vendorChunk(id: string): string | undefined {
  if (!id.includes('node_modules')) return undefined
  if (/node_modules\/(echarts|zrender)\//.test(id)) return 'echarts'
  if (
    /node_modules\/(element-plus|@element-plus|@floating-ui|@popperjs|dayjs|async-validator|lodash)/.test(id)
  )
    return 'element-plus'
  if (/node_modules\/(@vue|vue|vue-router|vue-i18n|@intlify)\//.test(id)) return 'vue'
  return undefined
}

// `npm run build:console` builds it into dist/, which the hub serves at /;
// `npm run dev:console` serves it with hot reload, the API going to a hub on :8080.
export default defineConfig({
  root,
  base: '/',
  plugins: [vue(), precompress()],
  define: {
    // vue-i18n: the Composition API only, no devtools in production.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
    rollupOptions: { output: { manualChunks: vendorChunk } },
  },
  server: {
    proxy: {
      '/api': { target: process.env.ESTATEHUB_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
})
