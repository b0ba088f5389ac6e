// lookup NAME: prints the addresses Go's own resolver gives for NAME, one a line.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
)

func main() {
	r := &net.Resolver{PreferGo: true}
	addrs, err := r.LookupIPAddr(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range addrs {
		fmt.Println(a.IP.String())
	}
}
