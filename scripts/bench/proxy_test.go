package main

import (
	"io"
	"net"
	"testing"
)

// echo serves a TCP echo on a free port until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// The proxy counts each wait for an answer as one flight, writes sent
// together as one, a Terminate as none, and every accepted connection.
func TestProxyCountsFlightsAndConnections(t *testing.T) {
	p, err := startProxy(echo(t), 20)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	host, port := p.addr()
	exchange := func(c net.Conn, parts ...string) {
		t.Helper()
		want := 0
		for _, s := range parts {
			if _, err := c.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
			want += len(s)
		}
		if _, err := io.ReadFull(c, make([]byte, want)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		c, err := net.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Fatal(err)
		}
		exchange(c, "startup")
		exchange(c, "query one")
		exchange(c, "pipelined ", "batch")
		if _, err := c.Write(terminate); err != nil {
			t.Fatal(err)
		}
		io.ReadFull(c, make([]byte, len(terminate)))
		c.Close()
	}
	conns, flights := p.counts()
	if conns != 2 || flights != 6 {
		t.Errorf("counted %d connections and %d flights, want 2 and 6 (3 per connection)", conns, flights)
	}
}
