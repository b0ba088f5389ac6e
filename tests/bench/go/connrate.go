// connrate: the Go side of scripts/bench-supervisor.sh and bench-strict.sh.
// Sequential connections (connect, 1-byte echo, close) to -dest and, with -bulk, one
// download of MiB from -bulkdest (a build/bench/bulksrv that writes exactly that
// much and closes), either plainly (run it under the supervisor) or speaking SOCKS5
// itself through -proxy (the limit). The download is bound by throughput, not round
// trips: the reads never wait for a reply to something written.
//
//	connrate -dest IP:PORT -n N [-bulk MiB -bulkdest IP:PORT] [-proxy IP:PORT]
//
// Prints "<conns/s> conns/s" (unless -n 0) and, with -bulk, "<MiB/s> MiB/s".
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
	bulk := flag.Int("bulk", 0, "MiB read from -bulkdest over one connection")
	bulkDest := flag.String("bulkdest", "", "a bulksrv IP:PORT that writes -bulk MiB")
	proxy := flag.String("proxy", "", "speak SOCKS5 to this proxy")
	flag.Parse()
	dial := func(to string) (net.Conn, error) {
		if *proxy != "" {
			return socksDial(*proxy, to)
		}
		return net.Dial("tcp", to)
	}
	one := []byte{'x'}
	start := time.Now()
	for i := 0; i < *n; i++ {
		c, err := dial(*dest)
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
	if *n > 0 {
		fmt.Printf("%.0f conns/s\n", float64(*n)/time.Since(start).Seconds())
	}
	if *bulk == 0 {
		return
	}
	start = time.Now()
	c, err := dial(*bulkDest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bulk:", err)
		os.Exit(1)
	}
	got, err := io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
	if err == nil && got != int64(*bulk)<<20 {
		err = fmt.Errorf("%d bytes of %d", got, int64(*bulk)<<20)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bulk:", err)
		os.Exit(1)
	}
	fmt.Printf("%.3f MiB/s\n", float64(*bulk)/time.Since(start).Seconds())
}
