// Issue 16: COUNT net.connect() at once to HOST PORT, each echoing a token, with a
// setInterval in the same loop. Prints ok=, ms= and ticks= (interval rounds).
const net = require('net');
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let ticks = 0;
const timer = setInterval(() => { ticks++; }, 50);
const t0 = Date.now();
let ok = 0, done = 0;
const guard = setTimeout(() => finish(), 15000);
function finish() {
    clearInterval(timer);
    clearTimeout(guard);
    console.log(`ok=${ok} ms=${Date.now() - t0} ticks=${ticks}`);
    process.exit(0);
}
for (let i = 0; i < count; i++) {
    const tok = `tok${i}`;
    let back = '';
    const s = net.connect(port, host, () => s.write(tok));
    s.on('data', (d) => {
        back += d;
        if (back.length >= tok.length) {
            if (back === tok) ok++;
            s.destroy();
            if (++done === count) finish();
        }
    });
    s.on('error', () => { if (++done === count) finish(); });
}
