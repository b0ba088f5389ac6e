// peer ADDR...: dials each ADDR (host:port) over TCP and prints "remote ADDR" with
// conn.RemoteAddr() — what Go's net package read with getpeername after connect —
// then sends an HTTP/1.0 request and prints the reply's first line. For a host name,
// first "resolved A B ..." with the addresses Go's resolver gives it. Used by
// supervise_peer.sh: through the supervisor the remote is the destination, not the proxy.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	for _, addr := range os.Args[1:] {
		host, _, _ := net.SplitHostPort(addr)
		if net.ParseIP(host) == nil {
			addrs, err := net.LookupHost(host)
			if err != nil {
				fmt.Println("lookup:", err)
				os.Exit(1)
			}
			fmt.Println("resolved", strings.Join(addrs, " "))
		}
		conn, err := net.DialTimeout("tcp", addr, 20*time.Second)
		if err != nil {
			fmt.Println("dial:", err)
			os.Exit(1)
		}
		fmt.Println("remote", conn.RemoteAddr())
		fmt.Fprintf(conn, "GET /hello.txt HTTP/1.0\r\n\r\n")
		line, _ := bufio.NewReader(conn).ReadString('\n')
		fmt.Printf("reply %q\n", line)
		conn.Close()
	}
}
