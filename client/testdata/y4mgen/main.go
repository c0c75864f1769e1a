// Command y4mgen writes a moving test pattern as Y4M (4:2:0) on stdout,
// for gen.sh: y4mgen WIDTH HEIGHT FRAMES.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

func main() {
	w, _ := strconv.Atoi(os.Args[1])
	h, _ := strconv.Atoi(os.Args[2])
	n, _ := strconv.Atoi(os.Args[3])
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h)
	y := make([]byte, w*h)
	c := make([]byte, w*h/4)
	for f := range n {
		out.WriteString("FRAME\n")
		// Diagonal bars moving right, and a square moving down: every
		// frame differs, as a camera's do.
		for j := range h {
			for i := range w {
				v := byte((i + j + 4*f) * 255 / (w / 2) % 256)
				sq := w / 5
				if i > w/3 && i < w/3+sq && j > (f*h/60)%h && j < (f*h/60)%h+sq {
					v = 255 - v
				}
				y[j*w+i] = v
			}
		}
		out.Write(y)
		// Chroma in broad bands that drift slowly.
		for k := range c {
			c[k] = byte(128 + 40*(((k/(w/2))*8/(h/2)+f/15)%3-1))
		}
		out.Write(c)
		for k := range c {
			c[k] = byte(128 + 30*(((k%(w/2))*6/(w/2)+f/20)%3-1))
		}
		out.Write(c)
	}
}
