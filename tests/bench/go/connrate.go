// connrate: the Go side of scripts/bench-supervisor.sh. Sequential connections
// (connect, 1-byte echo, close) and one bulk echo transfer, either plainly (run it
// under the supervisor) or speaking SOCKS5 itself through -proxy (the limit).
//
//	connrate -dest IP:PORT -n N [-bulk MiB] [-proxy IP:PORT]
//
// Prints "<conns/s> conns/s" and, with -bulk, "<MiB/s> MiB/s".
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// socksDial connects to dest (IPv4:port) through a no-auth SOCKS5 proxy, one message
// per round trip (microsocks loses pipelined bytes: rofl0r/microsocks#105).
func socksDial(proxy, dest string) (net.Conn, error) {
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(dest)
	ip := net.ParseIP(host).To4()
	p, _ := strconv.Atoi(port)
	if ip == nil {
		c.Close()
		return nil, errors.New("IPv4 destinations only")
	}
	reply := make([]byte, 10)
	_, err = c.Write([]byte{5, 1, 0})
	if err == nil {
		_, err = io.ReadFull(c, reply[:2])
	}
	if err == nil {
		_, err = c.Write([]byte{5, 1, 0, 1, ip[0], ip[1], ip[2], ip[3], byte(p >> 8), byte(p)})
	}
	if err == nil {
		_, err = io.ReadFull(c, reply)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	if reply[1] != 0 {
		c.Close()
		return nil, errors.New("proxy refused")
	}
	return c, nil
}

func main() {
	dest := flag.String("dest", "", "echo server IP:PORT")
	n := flag.Int("n", 1000, "connections")
	bulk := flag.Int("bulk", 0, "MiB echoed over one connection")
	proxy := flag.String("proxy", "", "speak SOCKS5 to this proxy")
	flag.Parse()
	dial := func() (net.Conn, error) {
		if *proxy != "" {
			return socksDial(*proxy, *dest)
		}
		return net.Dial("tcp", *dest)
	}
	one := []byte{'x'}
	start := time.Now()
	for i := 0; i < *n; i++ {
		c, err := dial()
		if err == nil {
			_, err = c.Write(one)
		}
		if err == nil {
			_, err = io.ReadFull(c, one)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "connection", i, err)
			os.Exit(1)
		}
		c.Close()
	}
	fmt.Printf("%.0f conns/s\n", float64(*n)/time.Since(start).Seconds())
	if *bulk == 0 {
		return
	}
	c, err := dial()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// 64 KiB out, the same 64 KiB back, in turn: the world's echo path stalls on a
	// full-duplex stream this size.
	buf := make([]byte, 64<<10)
	start = time.Now()
	for done := 0; done < *bulk<<4; done++ {
		if _, err = c.Write(buf); err == nil {
			_, err = io.ReadFull(c, buf)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bulk:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("%.3f MiB/s\n", float64(*bulk)/time.Since(start).Seconds())
}
