#!/usr/bin/env node
// Health probes for infra/local/stack.sh. Plain Node (no npm packages) so the stack can be
// started and checked before `npm ci` has run, e.g. right after a clone.
//
//   node probe.js kafka HOST:PORT                       the broker answers a Metadata request
//   node probe.js tls HOST:PORT CA.pem                  a TLS handshake verified against that CA succeeds
//   node probe.js http URL                              GET answers 2xx
//   node probe.js s3 ENDPOINT ACCESS_KEY SECRET REGION  a SigV4-signed ListBuckets answers 200
//   node probe.js port-free HOST PORT                   nothing listens there (exit 1 if taken)
//
// Exit status 0 means healthy (or free); anything else is printed as one line on stderr.
'use strict';

const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');

const TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS || 3000);

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// Metadata v4 is the oldest version Kafka 4.x still serves (KIP-896 dropped v0-v3) and the
// newest one without flexible (tagged-field) encoding, so it is the simplest to hand-roll.
function kafkaMetadata(hostPort) {
  const idx = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, idx);
  const port = Number(hostPort.slice(idx + 1));
  const correlationId = 0x5eed;
  const clientId = Buffer.from('vgmflow-stack-probe');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(3, o); // api_key: Metadata
  o = body.writeInt16BE(4, o); // api_version
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(-1, o); // topics: null = all
  body.writeInt8(0, o); // allow_auto_topic_creation
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);

  const socket = net.connect({ host, port });
  socket.setTimeout(TIMEOUT_MS, () => fail(`kafka ${hostPort}: no metadata answer within ${TIMEOUT_MS} ms`));
  socket.on('error', (err) => fail(`kafka ${hostPort}: ${err.message}`));
  socket.on('connect', () => socket.write(frame));
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
    socket.destroy();
    let p = 4;
    if (buf.readInt32BE(p) !== correlationId) fail(`kafka ${hostPort}: unexpected correlation id`);
    p += 4 + 4; // correlation id, throttle_time_ms
    const brokers = buf.readInt32BE(p);
    if (brokers < 1) fail(`kafka ${hostPort}: metadata lists no broker yet`);
    process.exit(0);
  });
}

// The SASL_SSL listener: its certificate chains to the stack's CA and names the address.
function tlsHandshake(hostPort, caFile) {
  const idx = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, idx);
  const port = Number(hostPort.slice(idx + 1));
  let ca;
  try {
    ca = fs.readFileSync(caFile);
  } catch (err) {
    fail(`tls ${hostPort}: cannot read the CA file ${caFile}: ${err.message}`);
  }
  const socket = tls.connect({ host, port, ca });
  socket.setTimeout(TIMEOUT_MS, () => fail(`tls ${hostPort}: no handshake within ${TIMEOUT_MS} ms`));
  socket.on('error', (err) => fail(`tls ${hostPort}: ${err.message}`));
  socket.on('secureConnect', () => {
    socket.destroy();
    process.exit(0);
  });
}

function httpGet(url) {
  const req = http.get(url, { timeout: TIMEOUT_MS }, (res) => {
    res.resume();
    const code = res.statusCode || 0;
    if (code >= 200 && code < 300) process.exit(0);
    fail(`GET ${url}: HTTP ${code}`);
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
  req.on('error', (err) => fail(`GET ${url}: ${err.message}`));
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

// A signed request, not an anonymous one: it proves the configured credentials are accepted.
function s3ListBuckets(endpoint, accessKey, secretKey, region) {
  const url = new URL(endpoint);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex('');
  const host = url.host;
  const canonical = ['GET', '/', '', `host:${host}`, `x-amz-content-sha256:${payloadHash}`,
    `x-amz-date:${amzDate}`, '', 'host;x-amz-content-sha256;x-amz-date', payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${secretKey}`, day);
  key = hmac(key, region);
  key = hmac(key, 's3');
  key = hmac(key, 'aws4_request');
  const signature = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  const headers = {
    host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, ` +
      `SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
  };
  const req = http.request({ host: url.hostname, port: url.port, path: '/', method: 'GET', headers, timeout: TIMEOUT_MS }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { text += c; });
    res.on('end', () => {
      if (res.statusCode === 200 && text.includes('ListAllMyBucketsResult')) process.exit(0);
      fail(`S3 ListBuckets ${endpoint}: HTTP ${res.statusCode} ${text.slice(0, 200).replace(/\s+/g, ' ')}`);
    });
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
  req.on('error', (err) => fail(`S3 ListBuckets ${endpoint}: ${err.message}`));
  req.end();
}

// Binding is the only reliable test: a connect() probe misses sockets bound to another address
// of the same port, and a listener on 0.0.0.0 also makes 127.0.0.1 unusable.
function portFree(host, port) {
  const server = net.createServer();
  server.once('error', (err) => fail(`${host}:${port}: ${err.code || err.message}`));
  server.listen({ host, port: Number(port), exclusive: true }, () => server.close(() => process.exit(0)));
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'kafka': kafkaMetadata(args[0]); break;
  case 'tls': tlsHandshake(args[0], args[1]); break;
  case 'http': httpGet(args[0]); break;
  case 's3': s3ListBuckets(args[0], args[1], args[2], args[3]); break;
  case 'port-free': portFree(args[0], args[1]); break;
  default: fail(`usage: probe.js kafka|tls|http|s3|port-free ... (got ${cmd})`);
}
