package client_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/pion/rtp"

	"palabre/client"
)

// A bot that joins a room, says a recorded sentence while holding the
// floor, and counts what it hears.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := client.Dial(ctx, "http://127.0.0.1:8080", client.Options{Software: "palabre-bot/1"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.OnRTP(func(slot int, p *rtp.Packet) {
		// p.CSRC[0] is the speaker's proto.Participant.Source.
	})
	if _, err := c.Join(ctx, client.JoinRequest{Room: "choir", Name: "bot", Password: "la-la-la"}); err != nil {
		log.Fatal(err) // a *proto.Error: errors.As and switch on Code
	}
	if err := c.WaitConnected(ctx); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open("hello.opus")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	src, err := client.NewOggSource(f)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.PTTOn(ctx); err != nil {
		log.Fatal(err)
	}
	if err := c.Publish(src); err != nil {
		log.Fatal(err)
	}
	<-c.PublishDone() // the end of the file
	_ = c.PTTOff(ctx)
	for slot, s := range c.Stats() {
		log.Printf("slot %d: %d packets, %d missing", slot, s.Packets, s.Gaps)
	}
}
