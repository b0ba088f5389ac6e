"""Issue 16: COUNT asyncio connections at once to HOST PORT, each echoing a token, with a
ticker task in the same loop. Prints ok=, ms= and ticks= (ticker rounds during the run)."""
import asyncio
import sys
import time


async def one(host, port, i):
    r, w = await asyncio.open_connection(host, port)
    tok = f"tok{i}".encode()
    w.write(tok)
    await w.drain()
    back = await asyncio.wait_for(r.readexactly(len(tok)), 5)
    w.close()
    return back == tok


async def main(host, port, count):
    ticks = 0
    stop = False

    async def ticker():
        nonlocal ticks
        while not stop:
            await asyncio.sleep(0.05)
            ticks += 1

    t = asyncio.create_task(ticker())
    t0 = time.monotonic()
    results = await asyncio.gather(*(one(host, port, i) for i in range(count)),
                                   return_exceptions=True)
    ms = int((time.monotonic() - t0) * 1000)
    stop = True
    await t
    print(f"ok={sum(1 for x in results if x is True)} ms={ms} ticks={ticks}")


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
