// js<->js check of peer.mjs over loopback: two processes, every command once.
import { startPeer } from './driver.mjs'

const SEED = '11'.repeat(32)
const a = await startPeer(['--seed', SEED])
const b = await startPeer([])
const check = (name, cond, detail) => {
  console.log(`${cond ? 'PASS' : 'FAIL'} ${name}${cond ? '' : ' ' + JSON.stringify(detail)}`)
  if (!cond) process.exitCode = 1
}
try {
  const addr = a.info.addrs[0]
  console.log('A', JSON.stringify(a.info))
  const dial = await b.send({ cmd: 'dial', addr })
  check('dial', dial.peerId === a.info.peerId, dial)
  const ping = await b.send({ cmd: 'ping', addr, count: 3 })
  check('ping', ping.rtts?.length === 3, ping)
  const id = await b.send({ cmd: 'identify', addr })
  check('identify', id.agentVersion?.startsWith('js-libp2p') && id.protocols.includes('/echo/1.0.0'), id)
  const ev = await b.waitEvent(e => e.event === 'peer:identify' && e.peerId === a.info.peerId)
  check('peer:identify event', ev.protocols.includes('/perf/1.0.0'), ev)
  await a.waitEvent(e => e.event === 'peer:connect' && e.peerId === b.info.peerId)
  check('peer:connect event', true)
  const echo = await b.send({ cmd: 'echo', addr, bytes: 1 << 20 })
  check('echo 1MiB', echo.ok && echo.receivedBytes === 1 << 20, echo)
  const echo0 = await b.send({ cmd: 'echo', addr, bytes: 0 })
  check('echo 0', echo0.ok, echo0)
  const par = await b.send({ cmd: 'echoParallel', addr, streams: 16, bytes: 65536 + 7 })
  check('echoParallel', par.ok && par.streams === 16, { ...par, results: undefined })
  const perf = await b.send({ cmd: 'perf', addr, upload: 16 << 20, download: 16 << 20 })
  check('perf 16MiB', perf.downloadBytes === 16 << 20, perf)
  const perf0 = await b.send({ cmd: 'perf', addr, upload: 0, download: 0 })
  check('perf 0/0', perf0.downloadBytes === 0, perf0)
  const peers = await b.send({ cmd: 'peers' })
  check('peers', peers.peers.some(p => p.peerId === a.info.peerId), peers)
  const bad = await b.send({ cmd: 'nope' })
  check('unknown command', typeof bad.error === 'string', bad)
  b.sendRaw('{not json')
  const badAddr = await b.send({ cmd: 'dial', addr: '/ip4/127.0.0.1/tcp/1' }, 30000)
  check('dial refused', typeof badAddr.error === 'string', badAddr)
  const hang = await b.send({ cmd: 'hangup', addr })
  check('hangup', hang.ok === true, hang)
  await a.waitEvent(e => e.event === 'peer:disconnect' && e.peerId === b.info.peerId)
  check('peer:disconnect event', true)
  const stop = await b.send({ cmd: 'stop' })
  check('stop', stop.ok === true, stop)
} finally {
  await a.stop()
  await b.stop()
}
