package server

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine/enginetest"
)

// pumpServer serves one WebSocket route that runs Run over src with opts;
// ended receives once per connection whose pump returned.
func pumpServer(t *testing.T, opts PumpOptions, src chan []byte) (url string, ended chan struct{}) {
	return stepServer(t, opts, src, func(v []byte) [][]byte { return [][]byte{v} })
}

// stepServer is pumpServer with each value from src turned into messages
// by step.
func stepServer(t *testing.T, opts PumpOptions, src chan []byte, step func([]byte) [][]byte) (url string, ended chan struct{}) {
	t.Helper()
	ended = make(chan struct{}, 4)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/p", websocket.New(func(c *websocket.Conn) {
		Run(c, func() <-chan []byte { return src }, func(v []byte, ok bool) ([][]byte, *Close) {
			return step(v), nil
		}, opts)
		ended <- struct{}{}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	return "ws://" + ln.Addr().String() + "/p", ended
}

// A client that stops reading is dropped once it misses a pong, even
// while its socket buffers still take every write; a client that reads
// stays through many pings.
func TestPumpDropsAClientThatStopsReading(t *testing.T) {
	opts := PumpOptions{PingEvery: 50 * time.Millisecond, WriteTimeout: time.Second}
	src := make(chan []byte, 16)
	url, ended := pumpServer(t, opts, src)

	reader, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	got := make(chan string, 16)
	go func() {
		for {
			_, msg, err := reader.ReadMessage() // answers pings while it reads
			if err != nil {
				close(got)
				return
			}
			got <- string(msg)
		}
	}()

	stalled, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()

	// Only the stalled client's pump ends, after PingEvery+WriteTimeout
	// without a pong.
	select {
	case <-ended:
	case <-time.After(enginetest.Timeout()):
		t.Fatal("the client that never reads is still connected")
	}
	_ = stalled.SetReadDeadline(time.Now().Add(enginetest.Timeout()))
	for {
		if _, _, err := stalled.ReadMessage(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("stalled client: connection still open: %v", err)
			}
			break
		}
	}
	// The reader has answered some twenty pings by now and still gets
	// what is sent.
	src <- []byte("still here")
	select {
	case m, ok := <-got:
		if !ok || !strings.Contains(m, "still here") {
			t.Fatalf("reading client: got %q (open %v)", m, ok)
		}
	case <-time.After(enginetest.Timeout()):
		t.Fatal("reading client: no message")
	}
	select {
	case <-ended:
		t.Fatal("the reading client's pump ended too")
	default:
	}
}

// Messages that waited together go out in one write, each still a message
// of its own, whatever its length (the three header forms of RFC 6455).
func TestPumpWritesWaitingMessagesAsFramesOfTheirOwn(t *testing.T) {
	sizes := []int{0, 5, 125, 126, 200, 65535, 65536, 70000, 3}
	var want [][]byte
	for i, n := range sizes {
		want = append(want, bytes.Repeat([]byte{'a' + byte(i)}, n))
	}
	src := make(chan []byte, 1)
	url, _ := stepServer(t, PumpOptions{}, src, func([]byte) [][]byte { return want })
	c, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src <- nil
	_ = c.SetReadDeadline(time.Now().Add(enginetest.Timeout()))
	for i, w := range want {
		mt, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if mt != fws.TextMessage || !bytes.Equal(got, w) {
			t.Fatalf("message %d: type %d, %d bytes %.10q; want a text message of %d bytes %.10q", i, mt, len(got), got, len(w), w)
		}
	}
}
