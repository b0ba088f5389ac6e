// Echo client on node's net.connect (libuv: a non-blocking connect), for the
// integration tests. Usage: node node_echo.js HOST PORT TOKEN; prints the echoed line.
'use strict';
const net = require('net');
const [host, port, token] = process.argv.slice(2);
const timer = setTimeout(() => { console.error('node_echo: no echo in 10 s'); process.exit(3); }, 10000);
let got = '';
const s = net.connect({ host, port: Number(port) }, () => s.write(token + '\n'));
s.on('data', (d) => {
  got += d.toString();
  if (got.includes('\n')) {
    process.stdout.write(got);
    clearTimeout(timer);
    s.destroy();
  }
});
s.on('error', (e) => { console.error('node_echo: ' + e.code); clearTimeout(timer); process.exitCode = 2; });
