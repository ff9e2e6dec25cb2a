// js<->js /perf/1.0.0 over loopback between two peer.mjs processes (separate OS processes, as in
// the interop tests). For each size, runs upload-only and download-only transfers RUNS times and
// prints one JSON object with every run and the median Mbit/s each way.
//
//   node perf-bench.mjs [--sizes 104857600,1073741824] [--runs 3]
import './polyfill.mjs'
import { startPeer } from './driver.mjs'

const args = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const sizes = opt('--sizes', `${100 * 1024 * 1024},${1024 * 1024 * 1024}`).split(',').map(Number)
const runs = Number(opt('--runs', '3'))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const server = await startPeer(['--no-ping-keepalive'])
const client = await startPeer(['--no-ping-keepalive'])
const addr = server.info.addrs[0]
const report = { what: 'js-libp2p 2.10 <-> js-libp2p 2.10, /perf/1.0.0, tcp+noise+yamux, loopback', node: process.version, runs, results: [] }
try {
  const dial = await client.send({ cmd: 'dial', addr })
  if (dial.error) throw new Error(dial.error)
  for (const size of sizes) {
    const up = []
    const down = []
    for (let i = 0; i < runs; i++) {
      const u = await client.send({ cmd: 'perf', addr, upload: size, download: 0 }, 600000)
      if (u.error) throw new Error(u.error)
      up.push(u.uploadBytes * 8 / u.totalSeconds / 1e6)
      const d = await client.send({ cmd: 'perf', addr, upload: 0, download: size }, 600000)
      if (d.error) throw new Error(d.error)
      down.push(d.downloadBytes * 8 / d.totalSeconds / 1e6)
    }
    report.results.push({
      bytes: size,
      uploadMbps: up.map(x => +x.toFixed(1)),
      downloadMbps: down.map(x => +x.toFixed(1)),
      uploadMedianMbps: +median(up).toFixed(1),
      downloadMedianMbps: +median(down).toFixed(1)
    })
  }
} finally {
  await client.stop()
  await server.stop()
}
console.log(JSON.stringify(report, null, 2))
