// lookup [-tcp] NAME: prints the addresses Go's own resolver gives for NAME, one a
// line; -tcp makes the resolver speak DNS over TCP to the nameserver.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	tcp := flag.Bool("tcp", false, "DNS over TCP")
	flag.Parse()
	r := &net.Resolver{PreferGo: true}
	if *tcp {
		r.Dial = func(ctx context.Context, _, address string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", address)
		}
	}
	addrs, err := r.LookupIPAddr(context.Background(), flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range addrs {
		fmt.Println(a.IP.String())
	}
}
