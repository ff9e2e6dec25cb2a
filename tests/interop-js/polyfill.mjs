// Node 20 lacks Promise.withResolvers (added in Node 22); some js-libp2p 2.x dependencies call it.
// Imported first by every entry script so it is in place before libp2p modules are evaluated.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}
