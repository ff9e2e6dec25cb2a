// Drives peer.mjs processes from Node (used by selftest.mjs and perf-bench.mjs): start a peer,
// wait for its "listening" line, send commands and await the response with the same id.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const PEER_SCRIPT = fileURLToPath(new URL('./peer.mjs', import.meta.url))

export async function startPeer (args = [], { timeoutMs = 20000, prefix = [] } = {}) {
  const argv = [...prefix, process.execPath, PEER_SCRIPT, ...args]
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
  const pending = new Map()
  const events = []
  const waiters = []
  let stderr = ''
  let nextId = 1
  child.stderr.on('data', (d) => { stderr += d })
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not start: ${stderr}`)), timeoutMs)
    child.on('exit', (code) => reject(new Error(`peer exited with ${code}: ${stderr}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line)
      if (msg.event === 'listening') { clearTimeout(timer); resolve(msg); return }
      if (msg.event != null) {
        events.push(msg)
        for (const w of waiters.splice(0)) if (!w(msg)) waiters.push(w)
        return
      }
      const p = pending.get(msg.id)
      if (p != null) { pending.delete(msg.id); p(msg) }
    })
  })
  const info = await listening
  return {
    info,
    events,
    get stderr () { return stderr },
    send (cmd, ms = 120000) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timeout on ${JSON.stringify(cmd)}`)), ms)
        pending.set(id, (msg) => { clearTimeout(timer); resolve(msg) })
        child.stdin.write(JSON.stringify({ id, ...cmd }) + '\n')
      })
    },
    sendRaw (line) { child.stdin.write(line + '\n') },
    waitEvent (pred, ms = 20000) {
      const found = events.find(pred)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout waiting for event')), ms)
        waiters.push((msg) => { if (pred(msg)) { clearTimeout(timer); resolve(msg); return true } return false })
      })
    },
    async stop () {
      const exited = new Promise((resolve) => child.exitCode != null ? resolve() : child.on('exit', resolve))
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}
