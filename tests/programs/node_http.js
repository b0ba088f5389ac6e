// HTTP client on node's http.get (dns.lookup: getaddrinfo on libuv's thread pool), for
// the remote-DNS tests. Usage: node node_http.js URL; prints the body, then a line
// "remote=<address the socket connected to>".
'use strict';
const http = require('http');
const timer = setTimeout(() => { console.error('node_http: no answer in 10 s'); process.exit(3); }, 10000);
const req = http.get(process.argv[2], (res) => {
  let body = '';
  const remote = res.socket.remoteAddress;
  res.on('data', (d) => { body += d.toString(); });
  res.on('end', () => {
    process.stdout.write(body + 'remote=' + remote + '\n');
    clearTimeout(timer);
  });
});
req.on('error', (e) => { console.error('node_http: ' + e.code); clearTimeout(timer); process.exitCode = 2; });
