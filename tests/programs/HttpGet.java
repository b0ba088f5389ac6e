// HTTP client on java.net.HttpURLConnection, for the remote-DNS tests: the JVM looks the
// host name up itself (InetAddress, i.e. getaddrinfo) and connects to what it got.
// Usage: java HttpGet URL; prints the body.
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;

public class HttpGet {
    public static void main(String[] args) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection();
        c.setConnectTimeout(10000);
        c.setReadTimeout(10000);
        try (InputStream in = c.getInputStream()) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            in.transferTo(body);
            System.out.print(body.toString(StandardCharsets.UTF_8));
        } finally {
            c.disconnect();
        }
    }
}
