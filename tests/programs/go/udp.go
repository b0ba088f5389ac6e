// udp MODE HOST:PORT TEXT: sends TEXT by UDP and prints the reply. MODE dial
// connects the socket first (connect + write); MODE writeto sends on an unconnected
// socket (sendto). Prints "error: ..." and exits 1 on failure.
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	mode, dest, text := os.Args[1], os.Args[2], os.Args[3]
	var conn net.PacketConn
	var err error
	var n int
	buf := make([]byte, 1500)
	if mode == "dial" {
		var c net.Conn
		c, err = net.Dial("udp", dest)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err = c.Write([]byte(text)); err == nil {
				n, err = c.Read(buf)
			}
		}
	} else {
		var addr *net.UDPAddr
		addr, err = net.ResolveUDPAddr("udp", dest)
		if err == nil {
			conn, err = net.ListenPacket("udp", ":0")
		}
		if err == nil {
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err = conn.WriteTo([]byte(text), addr); err == nil {
				n, _, err = conn.ReadFrom(buf)
			}
		}
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(string(buf[:n]))
}
