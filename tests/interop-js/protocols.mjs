// Hand-written stream protocols of the interop peer: /echo/1.0.0 and /perf/1.0.0
// (libp2p-wire.md §10), server and client sides, plus the deterministic test payload.
import { createCipheriv, createHash } from 'node:crypto'

export const ECHO_PROTOCOL = '/echo/1.0.0'
export const PERF_PROTOCOL = '/perf/1.0.0'

/** Size of each chunk written by the echo and perf clients and the perf server. */
export const CHUNK_SIZE = 64 * 1024

/** Length of the perf request header: the number of bytes the client wants back, BE u64. */
const PERF_HEADER_LENGTH = 8

const ZERO_CHUNK = new Uint8Array(CHUNK_SIZE)

/**
 * Deterministic pseudo-random bytes: AES-128-CTR keystream with the key derived from `seed`.
 * The same (seed, length) always yields the same bytes, so both sides of a test can predict them.
 */
export async function * pseudoRandomChunks (seed, length) {
  const key = createHash('sha256').update(`pgm-interop-seed:${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  let left = length
  while (left > 0) {
    const n = Math.min(CHUNK_SIZE, left)
    yield new Uint8Array(cipher.update(ZERO_CHUNK.subarray(0, n)))
    left -= n
  }
}

async function * zeroChunks (length) {
  let left = length
  while (left > 0) {
    const n = Math.min(CHUNK_SIZE, left)
    yield ZERO_CHUNK.subarray(0, n)
    left -= n
  }
}

/** Wraps a chunk source so every chunk also goes into `hash` and is counted in `counter.bytes`. */
async function * tap (source, hash, counter) {
  for await (const chunk of source) {
    hash.update(chunk)
    counter.bytes += chunk.byteLength
    yield chunk
  }
}

/** Server side of /echo/1.0.0: echoes every byte until the remote closes its write side, then closes. */
export async function handleEcho ({ stream }) {
  try {
    await stream.sink(stream.source)
  } catch (err) {
    stream.abort(err)
  }
}

/** Server side of /perf/1.0.0: read the u64, drain until EOF, only then send that many bytes and close. */
export async function handlePerf ({ stream }) {
  try {
    const header = new Uint8Array(PERF_HEADER_LENGTH)
    let headerFilled = 0
    for await (const list of stream.source) {
      const chunk = list.subarray()
      if (headerFilled < PERF_HEADER_LENGTH) {
        const take = Math.min(PERF_HEADER_LENGTH - headerFilled, chunk.byteLength)
        header.set(chunk.subarray(0, take), headerFilled)
        headerFilled += take
      }
    }
    if (headerFilled < PERF_HEADER_LENGTH) {
      throw new Error(`perf request ended after ${headerFilled} of ${PERF_HEADER_LENGTH} header bytes`)
    }
    const wanted = new DataView(header.buffer).getBigUint64(0, false)
    if (wanted > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`perf request for ${wanted} bytes is beyond what this peer can send`)
    }
    await stream.sink(zeroChunks(Number(wanted)))
  } catch (err) {
    stream.abort(err)
  }
}

/**
 * Client side of /echo/1.0.0 on an open stream: sends `bytes` pseudo-random bytes from `seed`,
 * closes the write side, reads everything back and compares SHA-256 digests.
 */
export async function echoOverStream (stream, bytes, seed) {
  const sentHash = createHash('sha256')
  const receivedHash = createHash('sha256')
  const sent = { bytes: 0 }
  let received = 0
  const started = process.hrtime.bigint()
  const reading = (async () => {
    for await (const list of stream.source) {
      for (const chunk of list) {
        receivedHash.update(chunk)
        received += chunk.byteLength
      }
    }
  })()
  // sink returns once the source is exhausted and the write side is closed.
  await Promise.all([stream.sink(tap(pseudoRandomChunks(seed, bytes), sentHash, sent)), reading])
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const sentSha256 = sentHash.digest('hex')
  const receivedSha256 = receivedHash.digest('hex')
  return {
    ok: sent.bytes === received && sentSha256 === receivedSha256,
    sentBytes: sent.bytes,
    receivedBytes: received,
    sentSha256,
    receivedSha256,
    seconds
  }
}

/**
 * Client side of /perf/1.0.0 on an open stream. Upload time runs from the first byte written to
 * the first byte (or EOF) of the reply, since the server answers only after draining the upload;
 * download time runs from that point to EOF.
 */
export async function perfOverStream (stream, upload, download) {
  const header = new Uint8Array(PERF_HEADER_LENGTH)
  new DataView(header.buffer).setBigUint64(0, BigInt(download), false)
  async function * request () {
    yield header
    yield * zeroChunks(upload)
  }
  const t0 = process.hrtime.bigint()
  let tFirst = null
  let received = 0
  const reading = (async () => {
    for await (const list of stream.source) {
      if (tFirst == null) tFirst = process.hrtime.bigint()
      received += list.byteLength
    }
  })()
  await Promise.all([stream.sink(request()), reading])
  const tEnd = process.hrtime.bigint()
  if (tFirst == null) tFirst = tEnd
  if (received !== download) {
    throw new Error(`perf server sent ${received} bytes, ${download} were requested`)
  }
  const uploadSeconds = Number(tFirst - t0) / 1e9
  const downloadSeconds = Number(tEnd - tFirst) / 1e9
  const mbps = (n, s) => (s > 0 ? (n * 8) / s / 1e6 : null)
  return {
    uploadBytes: upload,
    downloadBytes: received,
    uploadSeconds,
    downloadSeconds,
    totalSeconds: Number(tEnd - t0) / 1e9,
    uploadMbps: mbps(upload, uploadSeconds),
    downloadMbps: mbps(received, downloadSeconds)
  }
}
