'use strict';
// Starts the telegram-test-api emulator for the end-to-end tests (see emulator.py).
// Usage: node start_emulator.js <port> [host] [storeTimeoutSeconds]
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
const storeTimeout = Number(process.argv[4] || 86400);

if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node start_emulator.js <port> [host] [storeTimeoutSeconds]\n');
  process.exit(2);
}

const server = new TelegramServer({ port, host, storeTimeout });
let stopping = false;

function stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  server.stop().then(() => process.exit(0), () => process.exit(1));
  setTimeout(() => process.exit(1), 3000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.start().then(
  () => process.stdout.write(`telegram-test-api listening on http://${host}:${port}\n`),
  (error) => {
    process.stderr.write(`telegram-test-api failed to start: ${error}\n`);
    process.exit(1);
  },
);
