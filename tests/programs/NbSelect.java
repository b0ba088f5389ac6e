// Issue 16: COUNT non-blocking SocketChannels connected at once under one Selector
// (OP_CONNECT, then OP_WRITE, then OP_READ), each echoing its own token, as a Java
// NIO event loop does. Usage: java NbSelect HOST PORT COUNT. Prints immediate= (connects
// that completed inside connect(): 0 when every one went through the selector), ok=
// (tokens that came back whole) and failed=.
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;

public class NbSelect {
    static final class Conn {
        final String token;
        final ByteBuffer back;
        Conn(int i) {
            token = "nio-token-" + i;
            back = ByteBuffer.allocate(token.length());
        }
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int count = Integer.parseInt(args[2]);
        Selector sel = Selector.open();
        int immediate = 0;
        for (int i = 0; i < count; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            boolean now = ch.connect(new InetSocketAddress(host, port));
            if (now) immediate++;
            ch.register(sel, now ? SelectionKey.OP_WRITE : SelectionKey.OP_CONNECT, new Conn(i));
        }
        int ok = 0, failed = 0;
        long end = System.currentTimeMillis() + 20000;
        while (ok + failed < count && System.currentTimeMillis() < end) {
            sel.select(200);
            Iterator<SelectionKey> it = sel.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey k = it.next();
                it.remove();
                SocketChannel ch = (SocketChannel) k.channel();
                Conn c = (Conn) k.attachment();
                try {
                    if (k.isConnectable()) {
                        if (!ch.finishConnect()) continue;
                        k.interestOps(SelectionKey.OP_WRITE);
                    } else if (k.isWritable()) {
                        ch.write(ByteBuffer.wrap(c.token.getBytes(StandardCharsets.US_ASCII)));
                        k.interestOps(SelectionKey.OP_READ);
                    } else if (k.isReadable()) {
                        if (ch.read(c.back) < 0) throw new IOException("closed early");
                        if (!c.back.hasRemaining()) {
                            String got = new String(c.back.array(), StandardCharsets.US_ASCII);
                            if (got.equals(c.token)) ok++;
                            else failed++;
                            k.cancel();
                            ch.close();
                        }
                    }
                } catch (IOException e) {
                    System.err.println("NbSelect: " + c.token + ": " + e);
                    failed++;
                    k.cancel();
                    ch.close();
                }
            }
        }
        System.out.println("immediate=" + immediate + " ok=" + ok + " failed=" + failed);
    }
}
