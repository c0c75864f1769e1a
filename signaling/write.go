package signaling

import (
	"context"
	"log/slog"
	"time"

	"github.com/coder/websocket"
)

// The writing side of a session. No goroutine waits for messages: enqueue
// starts a writer when the queue was idle, and the writer ends when it
// has emptied the queue. Once closeWith has been called the writer (the
// running one, or one started for it) flushes the queue for up to a
// second and closes the connection, which ends the read loop. One writer
// at a time (writing, under outMu), so messages leave in order.

// enqueue queues data for the writer without ever blocking: a client that
// cannot keep up is disconnected so it cannot hold up its room.
func (se *session) enqueue(data []byte) {
	se.outMu.Lock()
	if len(se.outQ) >= outQueue {
		se.outMu.Unlock()
		// Often called under a room's lock: the writer logs it, once.
		se.closeWith(websocket.StatusPolicyViolation, "too slow")
		return
	}
	se.outQ = append(se.outQ, data)
	se.startWriterLocked()
	se.outMu.Unlock()
}

// startWriterLocked starts a writer unless one runs. Under outMu.
func (se *session) startWriterLocked() {
	if !se.writing {
		se.writing = true
		go se.writeRun()
	}
}

// dequeue takes every waiting message.
func (se *session) dequeue() [][]byte {
	se.outMu.Lock()
	defer se.outMu.Unlock()
	q := se.outQ
	se.outQ = nil
	return q
}

// writeRun writes until the queue is empty, or closes the connection once
// the session is closing.
func (se *session) writeRun() {
	for {
		se.outMu.Lock()
		if se.closing {
			se.outMu.Unlock()
			se.finish()
			return
		}
		q := se.outQ
		se.outQ = nil
		if len(q) == 0 {
			se.writing = false
			se.outMu.Unlock()
			return
		}
		se.outMu.Unlock()
		for _, data := range q {
			if !se.write(data) {
				// writing stays set: no writer after this one.
				se.closeWith(websocket.StatusGoingAway, "write failed")
				se.conn.CloseNow()
				close(se.closed)
				return
			}
		}
	}
}

// finish is the last writer's: it flushes what is queued (the last error,
// a kick notice) for up to a second, then closes the connection.
func (se *session) finish() {
	if se.closeMsg == "too slow" {
		se.s.disconnected("too_slow")
		se.s.events.event("too-slow", slog.LevelWarn, "client too slow: connection closed")
	}
	se.flush(time.Now().Add(time.Second))
	se.conn.Close(se.closeCode, se.closeMsg)
	close(se.closed)
}

func (se *session) flush(deadline time.Time) {
	for _, data := range se.dequeue() {
		if time.Now().After(deadline) || !se.write(data) {
			return
		}
	}
}

func (se *session) write(data []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return se.conn.Write(ctx, websocket.MessageText, data) == nil
}

// ping is the pinger's: a client that does not answer within writeTimeout
// is gone. The next ping is armed once this one has its pong.
func (se *session) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := se.conn.Ping(ctx)
	cancel()
	se.outMu.Lock()
	closing := se.closing
	if err == nil && !closing {
		se.pinger.Reset(pingInterval)
	}
	se.outMu.Unlock()
	if err != nil && !closing {
		se.closeWith(websocket.StatusGoingAway, "ping timeout")
		se.conn.CloseNow()
	}
}

// closeWith ends the session: the writer flushes its queue and closes the
// connection, which ends the read loop; run then cleans up.
func (se *session) closeWith(code websocket.StatusCode, reason string) {
	se.closeOnce.Do(func() {
		se.outMu.Lock()
		se.closeCode, se.closeMsg = code, reason
		se.closing = true
		se.startWriterLocked()
		se.outMu.Unlock()
	})
}
