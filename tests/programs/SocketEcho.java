// Echo client on a plain java.net.Socket, for the integration tests: the JVM opens a
// dual-stack AF_INET6 socket and reaches an IPv4 destination via its v4-mapped address.
// Usage: java SocketEcho HOST PORT TOKEN; prints the echoed line.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

public class SocketEcho {
    public static void main(String[] args) throws Exception {
        try (Socket s = new Socket(InetAddress.getByName(args[0]), Integer.parseInt(args[1]))) {
            s.setSoTimeout(10000);
            OutputStream out = s.getOutputStream();
            out.write((args[2] + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(
                    new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            System.out.println(in.readLine());
        }
    }
}
