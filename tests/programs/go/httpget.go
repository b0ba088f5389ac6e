// httpget URL...: fetches each URL with net/http and prints its body; with
// -parallel N, fetches the first URL N times at once and prints how many bodies
// held -want. Exits 1 on the first error. Used by supervisor.sh.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func main() {
	parallel := flag.Int("parallel", 0, "fetch the first URL this many times at once")
	want := flag.String("want", "", "with -parallel: the text every body must hold")
	flag.Parse()
	// No keep-alive: every fetch is its own connection.
	client := &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	if *parallel > 0 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		var firstErr error
		for i := 0; i < *parallel; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, err := get(client, flag.Arg(0))
				mu.Lock()
				defer mu.Unlock()
				if err == nil && strings.Contains(body, *want) {
					ok++
				} else if firstErr == nil {
					firstErr = fmt.Errorf("%v (body %q)", err, body)
				}
			}()
		}
		wg.Wait()
		fmt.Printf("ok %d of %d\n", ok, *parallel)
		if firstErr != nil {
			fmt.Fprintln(os.Stderr, firstErr)
			os.Exit(1)
		}
		return
	}
	for _, url := range flag.Args() {
		body, err := get(client, url)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(body)
	}
}
