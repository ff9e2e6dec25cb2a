// One long-lived js-libp2p 2.10 node driven by JSON lines, used by the C# integration tests.
//
//   node peer.mjs [--listen MA]... [--seed <64 hex>] [--mdns --mdns-interface NAME] [--no-ping-keepalive]
//
// stdout: first {"event":"listening",...}; then events and command responses, one JSON object a
// line. stdin: commands, one JSON object a line, each answered by one line with the same "id".
// stderr: diagnostics. End of stdin stops the node, so the peer never outlives its driver.
import './polyfill.mjs'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ipv4OfInterface, pinMulticastDnsInterface } from './mdns-interface.mjs'
import {
  ECHO_PROTOCOL, PERF_PROTOCOL, echoOverStream, handleEcho, handlePerf, perfOverStream
} from './protocols.mjs'

/**
 * Outbound ping streams per connection: js's default of 1 makes a `ping` command collide with the
 * connection monitor's keep-alive ping; 2 lets both run (inbound stays at js's default, 2).
 */
const MAX_OUTBOUND_PING_STREAMS = 2

/**
 * Identify streams per connection each way: js's default of 1 makes an `identify` command collide
 * with the automatic identify run when a connection opens.
 */
const MAX_IDENTIFY_STREAMS = 2

/** Streams per connection the echo and perf handlers accept; echoParallel opens many at once. */
const MAX_STREAMS_PER_PROTOCOL = 1024

function usage (message) {
  process.stderr.write(`peer.mjs: ${message}\n` +
    'usage: node peer.mjs [--listen MA]... [--seed HEX64] [--mdns --mdns-interface NAME] [--no-ping-keepalive]\n')
  process.exit(2)
}

function parseArgs (argv) {
  const opts = { listen: [], seed: null, mdns: false, mdnsInterface: null, pingKeepAlive: true }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`)
      return argv[++i]
    }
    switch (arg) {
      case '--listen': opts.listen.push(value()); break
      case '--seed': opts.seed = value(); break
      case '--mdns': opts.mdns = true; break
      case '--mdns-interface': opts.mdnsInterface = value(); break
      case '--no-ping-keepalive': opts.pingKeepAlive = false; break
      default: usage(`unknown argument ${arg}`)
    }
  }
  if (opts.seed != null && !/^[0-9a-fA-F]{64}$/.test(opts.seed)) usage('--seed must be 64 hex characters')
  // Never multicast on the host's real interfaces: mDNS only on an interface named explicitly.
  if (opts.mdns && opts.mdnsInterface == null) usage('--mdns needs --mdns-interface NAME')
  if (opts.listen.length === 0) opts.listen.push('/ip4/127.0.0.1/tcp/0')
  return opts
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const addrsOf = (mas) => mas.map(ma => ma.toString())

async function createNode (opts) {
  const config = {
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify({ maxInboundStreams: MAX_IDENTIFY_STREAMS, maxOutboundStreams: MAX_IDENTIFY_STREAMS }),
      ping: ping({ maxOutboundStreams: MAX_OUTBOUND_PING_STREAMS })
    },
    // Keep-alive pings stay on, but a ping stuck behind a saturating transfer on a busy machine
    // must not abort the connection under test (js's adaptive ping timeout would).
    connectionMonitor: { abortConnectionOnPingFailure: false },
    peerDiscovery: []
  }
  if (opts.seed != null) {
    config.privateKey = await generateKeyPairFromSeed('Ed25519', Buffer.from(opts.seed, 'hex'))
  }
  if (!opts.pingKeepAlive) {
    config.connectionMonitor = { enabled: false }
  }
  if (opts.mdns) {
    pinMulticastDnsInterface(ipv4OfInterface(opts.mdnsInterface))
    const { mdns } = await import('@libp2p/mdns')
    config.peerDiscovery.push(mdns({ interval: 1000 }))
  }
  return createLibp2p(config)
}

function subscribeEvents (node) {
  node.addEventListener('peer:connect', (e) => out({ event: 'peer:connect', peerId: e.detail.toString() }))
  node.addEventListener('peer:disconnect', (e) => out({ event: 'peer:disconnect', peerId: e.detail.toString() }))
  node.addEventListener('peer:discovery', (e) => out({
    event: 'peer:discovery', peerId: e.detail.id.toString(), addrs: addrsOf(e.detail.multiaddrs ?? [])
  }))
  node.addEventListener('peer:identify', (e) => out({
    event: 'peer:identify',
    peerId: e.detail.peerId.toString(),
    agentVersion: e.detail.agentVersion ?? null,
    protocolVersion: e.detail.protocolVersion ?? null,
    protocols: e.detail.protocols ?? [],
    listenAddrs: addrsOf(e.detail.listenAddrs ?? [])
  }))
}

/** A command's target: `addr` (multiaddr, usually with /p2p/) or `peerId` of a connected peer. */
function target (cmd) {
  if (typeof cmd.addr === 'string') return multiaddr(cmd.addr)
  if (typeof cmd.peerId === 'string') return peerIdFromString(cmd.peerId)
  throw new Error('command needs "addr" (multiaddr) or "peerId"')
}

function nonNegativeInt (cmd, name, fallback) {
  const v = cmd[name] ?? fallback
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`"${name}" must be a non-negative integer`)
  return v
}

const textDecoder = new TextDecoder()

const commands = {
  async dial (node, cmd) {
    const conn = await node.dial(target(cmd))
    return { peerId: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString(), direction: conn.direction }
  },
  async ping (node, cmd) {
    const count = nonNegativeInt(cmd, 'count', 1)
    const t = target(cmd)
    const rtts = []
    for (let i = 0; i < count; i++) rtts.push(await node.services.ping.ping(t))
    return { rtts }
  },
  async identify (node, cmd) {
    const conn = await node.dial(target(cmd))
    const result = await node.services.identify.identify(conn)
    const peer = await node.peerStore.get(conn.remotePeer)
    const agent = peer.metadata.get('AgentVersion')
    return {
      peerId: conn.remotePeer.toString(),
      agentVersion: agent != null ? textDecoder.decode(agent) : (result.agentVersion ?? null),
      protocolVersion: result.protocolVersion ?? null,
      protocols: [...peer.protocols].sort(),
      listenAddrs: peer.addresses.map(a => a.multiaddr.toString()),
      observedAddr: result.observedAddr?.toString() ?? null
    }
  },
  async echo (node, cmd) {
    const bytes = nonNegativeInt(cmd, 'bytes', 0)
    const stream = await node.dialProtocol(target(cmd), ECHO_PROTOCOL)
    return echoOverStream(stream, bytes, nonNegativeInt(cmd, 'seed', 1))
  },
  async echoParallel (node, cmd) {
    const streams = nonNegativeInt(cmd, 'streams', 1)
    const bytes = nonNegativeInt(cmd, 'bytes', 0)
    const t = target(cmd)
    const started = process.hrtime.bigint()
    const results = await Promise.all(Array.from({ length: streams }, async (_, i) => {
      const stream = await node.dialProtocol(t, ECHO_PROTOCOL)
      return echoOverStream(stream, bytes, i + 1)
    }))
    return {
      ok: results.every(r => r.ok),
      streams,
      failed: results.filter(r => !r.ok).length,
      totalBytes: results.reduce((s, r) => s + r.receivedBytes, 0),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      results
    }
  },
  async perf (node, cmd) {
    const upload = nonNegativeInt(cmd, 'upload', 0)
    const download = nonNegativeInt(cmd, 'download', 0)
    const stream = await node.dialProtocol(target(cmd), PERF_PROTOCOL)
    return perfOverStream(stream, upload, download)
  },
  async hangup (node, cmd) {
    await node.hangUp(target(cmd))
    return { ok: true }
  },
  async peers (node) {
    return {
      peers: node.getConnections().map(c => ({
        peerId: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction, status: c.status
      }))
    }
  }
}

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  const node = await createNode(opts)
  const handlerOptions = { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL }
  await node.handle(ECHO_PROTOCOL, handleEcho, handlerOptions)
  await node.handle(PERF_PROTOCOL, handlePerf, handlerOptions)
  subscribeEvents(node)
  await node.start()
  out({ event: 'listening', peerId: node.peerId.toString(), addrs: addrsOf(node.getMultiaddrs()) })

  let stopping = null
  const stop = (code) => {
    stopping ??= node.stop().catch(err => process.stderr.write(`stop failed: ${err.stack ?? err}\n`))
      .finally(() => process.exit(code))
    return stopping
  }
  process.on('SIGTERM', () => stop(0))
  process.on('SIGINT', () => stop(0))

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  lines.on('line', (line) => {
    if (line.trim() === '') return
    let cmd
    try {
      cmd = JSON.parse(line)
      if (cmd == null || typeof cmd !== 'object' || Array.isArray(cmd)) throw new Error('command must be a JSON object')
    } catch (err) {
      out({ id: null, error: `bad command line: ${err.message}` })
      return
    }
    const id = cmd.id ?? null
    if (cmd.cmd === 'stop') {
      out({ id, ok: true })
      stop(0)
      return
    }
    const run = Object.hasOwn(commands, cmd.cmd) ? commands[cmd.cmd] : null
    if (run == null) {
      out({ id, error: `unknown command ${JSON.stringify(cmd.cmd)}` })
      return
    }
    // Commands run concurrently; each answers exactly once, with its id.
    run(node, cmd).then(
      (result) => out({ id, ...result }),
      (err) => out({ id, error: `${err.name ?? 'Error'}: ${err.message ?? err}` }))
  })
  lines.on('close', () => stop(0))
}

// A failure inside libp2p (a reset stream, a bad peer) must not end the peer: report it on stderr.
process.on('uncaughtException', (err) => process.stderr.write(`uncaught: ${err.stack ?? err}\n`))
process.on('unhandledRejection', (err) => process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`))

main().catch((err) => {
  process.stderr.write(`peer.mjs failed to start: ${err.stack ?? err}\n`)
  process.exit(1)
})
