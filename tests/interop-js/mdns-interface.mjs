// @libp2p/mdns 11 passes only { port, ip } to multicast-dns, which then joins the group on every
// interface and binds to all addresses. The tests must never multicast on the host's real
// interfaces, so this shim pins multicast-dns to one named interface: the CommonJS module is
// loaded first, and its cached export is replaced by a wrapper that adds the interface address
// (group membership and outgoing multicast interface) while still binding 0.0.0.0 so group
// traffic is received. Must be called before @libp2p/mdns is imported.
import { createRequire } from 'node:module'
import os from 'node:os'

// Resolve multicast-dns the way @libp2p/mdns does, from its own location.
const require = createRequire(import.meta.resolve('@libp2p/mdns'))

/** Returns the first IPv4 address of the named interface, or throws with the names that exist. */
export function ipv4OfInterface (name) {
  const all = os.networkInterfaces()
  const entries = all[name]
  if (entries == null) {
    throw new Error(`no network interface named ${name} (have: ${Object.keys(all).join(', ')})`)
  }
  const v4 = entries.find(e => e.family === 'IPv4' || e.family === 4)
  if (v4 == null) {
    throw new Error(`network interface ${name} has no IPv4 address`)
  }
  return v4.address
}

/** Pins every multicast-dns instance created from now on to the interface with address `ifaceIp`. */
export function pinMulticastDnsInterface (ifaceIp) {
  const path = require.resolve('multicast-dns')
  const original = require(path)
  const pinned = function multicastDnsPinned (opts = {}) {
    return original({ ...opts, interface: ifaceIp, bind: '0.0.0.0' })
  }
  require.cache[path].exports = pinned
}
