package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// flightToxic is the type name of flightCounter in toxiproxy's registry.
const flightToxic = "rdsp_flights"

// Registering a toxic type is toxiproxy's extension point; its registry is
// the library's, filled once before any proxy starts.
func init() { toxics.Register(flightToxic, new(flightCounter)) }

// flightCounter counts round trips on the client-to-server stream without
// changing it. A flight is what the client sends before it waits for the
// server: data that arrives at least Gap after the previous data of the
// same connection starts a new flight. With L ms of latency each way, a
// client that waits for an answer is silent for at least 2L, while the
// writes of one flight (a pipelined batch, a query) arrive together, so
// Gap = L separates them; at 0 ms the two cannot be told apart and the
// count is not taken. A connection's Terminate message, which gets no
// answer, is not a flight.
type flightCounter struct {
	GapMS   int64 `json:"gap_ms"`
	flights atomic.Int64
}

type flightState struct{ last time.Time }

// terminate is the PostgreSQL Terminate message.
var terminate = []byte{'X', 0, 0, 0, 4}

func (t *flightCounter) NewState() any { return &flightState{} }

func (t *flightCounter) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*flightState)
	gap := time.Duration(t.GapMS) * time.Millisecond
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if !bytes.Equal(c.Data, terminate) && (st.last.IsZero() || c.Timestamp.Sub(st.last) >= gap) {
				t.flights.Add(1)
			}
			st.last = c.Timestamp
			stub.Output <- c
		}
	}
}

// connCounter counts the connections the proxy accepts, from its log.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) Run(_ *zerolog.Event, _ zerolog.Level, msg string) {
	if msg == "Accepted client" {
		c.n.Add(1)
	}
}

// latencyProxy is a toxiproxy proxy in front of PostgreSQL that adds the
// same latency to each direction and counts connections and round trips.
type latencyProxy struct {
	proxy   *toxiproxy.Proxy
	conns   *connCounter
	flights *flightCounter // nil at 0 ms
}

// startProxy listens on a free loopback port and forwards to upstream
// (host:port), with latencyMS of delay each way.
func startProxy(upstream string, latencyMS int) (*latencyProxy, error) {
	conns := &connCounter{}
	logger := zerolog.New(io.Discard).Level(zerolog.InfoLevel).Hook(conns)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), logger)
	proxy := toxiproxy.NewProxy(server, "postgres", "127.0.0.1:0", upstream)
	if err := server.Collection.Add(proxy, true); err != nil {
		return nil, fmt.Errorf("start toxiproxy in front of %s: %w", upstream, err)
	}
	p := &latencyProxy{proxy: proxy, conns: conns}
	if latencyMS > 0 {
		// The counter comes first on the client's stream, so it sees when
		// data arrives, before the latency delays it.
		w, err := proxy.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(
			`{"name":"flights","type":%q,"stream":"upstream","attributes":{"gap_ms":%d}}`, flightToxic, latencyMS)))
		if err != nil {
			proxy.Stop()
			return nil, fmt.Errorf("add the round-trip counter: %w", err)
		}
		p.flights = w.Toxic.(*flightCounter)
		for _, stream := range []string{"upstream", "downstream"} {
			if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(
				`{"name":"latency_%s","type":"latency","stream":%q,"attributes":{"latency":%d}}`, stream, stream, latencyMS))); err != nil {
				proxy.Stop()
				return nil, fmt.Errorf("add %d ms latency %s: %w", latencyMS, stream, err)
			}
		}
	}
	return p, nil
}

// addr is where clients connect: host and port.
func (p *latencyProxy) addr() (string, string) {
	host, port, _ := strings.Cut(p.proxy.Listen, ":")
	return host, port
}

// counts reads the counters; flights is -1 when not counted.
func (p *latencyProxy) counts() (conns, flights int64) {
	flights = -1
	if p.flights != nil {
		flights = p.flights.flights.Load()
	}
	return p.conns.n.Load(), flights
}

func (p *latencyProxy) stop() { p.proxy.Stop() }
