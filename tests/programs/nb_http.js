// Issue 16: COUNT http.get() at once to URL (node's own agent, one event loop), with a
// setInterval in the same loop. Usage: node nb_http.js URL COUNT TOKEN. Prints ok= (answers
// 200 whose body holds TOKEN), failed= and ticks= (interval rounds while they ran).
'use strict';
const http = require('http');
const [url, count, token] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
let ticks = 0, ok = 0, failed = 0;
const timer = setInterval(() => { ticks++; }, 50);
const guard = setTimeout(finish, 20000);
function finish() {
  clearInterval(timer);
  clearTimeout(guard);
  console.log(`ok=${ok} failed=${failed} ticks=${ticks}`);
  process.exit(0);
}
function one() {
  if (ok + failed === count) finish();
}
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
for (let i = 0; i < count; i++) {
  http.get(url, { agent }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => {
      if (res.statusCode === 200 && body.includes(token)) ok++; else failed++;
      one();
    });
  }).on('error', (e) => { console.error('nb_http: ' + e.code); failed++; one(); });
}
