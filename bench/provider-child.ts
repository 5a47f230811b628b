/**
 * The local provider server of the capture bench, in a process of its own so that the server's
 * work does not share the measured thread. Prints its URL, then serves until killed.
 */
import { startProviderServer } from "../test/fixtures/provider-server.js"

startProviderServer().then((server) => {
  process.stdout.write(`${server.url}\n`)
  // keep no request bodies: the bench sends thousands
  setInterval(() => {
    server.received.length = 0
  }, 200).unref()
})
