package signaling

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// The buffers of a session's connection. The WebSocket library reads and
// writes through the bufio.ReadWriter that Hijack returns, for the life
// of the connection; net/http's are 4 KiB each, 8 KiB per idle session.
// Signaling messages are small (a ping, a push-to-talk press, an event of
// a few hundred bytes): a bufio.Reader or Writer moves a message longer
// than its buffer straight between the socket and the message, so small
// buffers cost a system call more for the rare long one (an offer, a
// member list) and nothing else.
const (
	wsReadBuffer  = 512
	wsWriteBuffer = 1024
)

// smallBuffers is a ResponseWriter whose Hijack gives the connection
// buffers of wsReadBuffer and wsWriteBuffer bytes instead of net/http's.
type smallBuffers struct{ http.ResponseWriter }

// withSmallBuffers wraps w in smallBuffers if it can be hijacked (an
// HTTP/2 stream cannot: w stays as it is, and the WebSocket library
// answers as it always did).
func withSmallBuffers(w http.ResponseWriter) http.ResponseWriter {
	for rw := w; ; {
		switch t := rw.(type) {
		case http.Hijacker:
			return smallBuffers{w}
		case interface{ Unwrap() http.ResponseWriter }:
			rw = t.Unwrap()
		default:
			return w
		}
	}
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Whatever net/http has read past the request is the connection's
	// first bytes: they must be in the new reader's buffer, where the
	// WebSocket library looks for them (it then reads its reader's
	// buffered bytes, and the connection). Whatever net/http has buffered
	// to write goes out first.
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, wsReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn), max(n, wsReadBuffer))
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}
