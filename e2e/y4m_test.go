package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"testing"
)

// A fake camera for Chromium (--use-file-for-fake-video-capture): a Y4M
// file (YUV4MPEG2, 4:2:0) of a moving pattern, written at test time, that
// Chromium plays in a loop. It moves in every frame so that the encoder
// has real work (a still picture encodes to almost nothing) and the
// decoders' frame counters move.

// writeY4M writes frames frames of w×h (even sizes) at fps to out.
func writeY4M(out io.Writer, w, h, frames, fps int) error {
	if w%2 != 0 || h%2 != 0 || w <= 0 || h <= 0 || frames <= 0 || fps <= 0 {
		return fmt.Errorf("y4m: bad size %dx%d, %d frames at %d fps", w, h, frames, fps)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w, h, fps); err != nil {
		return err
	}
	y := make([]byte, w*h)
	u := make([]byte, w*h/4)
	v := make([]byte, w*h/4)
	for f := range frames {
		fillFrame(y, u, v, w, h, f, frames)
		if _, err := bw.WriteString("FRAME\n"); err != nil {
			return err
		}
		for _, plane := range [][]byte{y, u, v} {
			if _, err := bw.Write(plane); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// fillFrame draws frame f of n: diagonal luma stripes that scroll, a
// white square that crosses the picture and comes back, chroma that
// shifts with the frame, so that the loop's end joins its start.
func fillFrame(y, u, v []byte, w, h, f, n int) {
	shift := f * 256 / n * 4
	for row := range h {
		line := y[row*w : (row+1)*w]
		for col := range line {
			line[col] = byte(16 + ((col+row+shift)&0xff)*200/255)
		}
	}
	// The square: half the loop going right, half coming back.
	side := h / 4
	pos := f * 2 * (w - side) / n
	if pos > w-side {
		pos = 2*(w-side) - pos
	}
	top := (h - side) / 2
	for row := top; row < top+side; row++ {
		for col := pos; col < pos+side; col++ {
			y[row*w+col] = 235
		}
	}
	cw := w / 2
	for row := range h / 2 {
		for col := range cw {
			u[row*cw+col] = byte(128 + (col*64/cw+f*4)%64 - 32)
			v[row*cw+col] = byte(128 + (row*64/(h/2)+f*2)%64 - 32)
		}
	}
}

// fakeCameraFile writes the Y4M the camera variant of Chromium plays:
// 1280×720, one second of 30 frames (about 41 MB), in dir.
func fakeCameraFile(dir string) (string, error) {
	path := dir + "/camera-1280x720.y4m"
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := writeY4M(f, 1280, 720, 30, 30); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// The file is what Chromium reads: header, then FRAME and the three
// planes per frame; every frame differs from the one before.
func TestWriteY4M(t *testing.T) {
	var b countingBuffer
	if err := writeY4M(&b, 64, 32, 4, 30); err != nil {
		t.Fatal(err)
	}
	header := "YUV4MPEG2 W64 H32 F30:1 Ip A1:1 C420jpeg\n"
	frame := len("FRAME\n") + 64*32*3/2
	if want := len(header) + 4*frame; len(b.data) != want {
		t.Fatalf("%d bytes, want %d", len(b.data), want)
	}
	if got := string(b.data[:len(header)]); got != header {
		t.Fatalf("header %q", got)
	}
	for i := range 4 {
		at := len(header) + i*frame
		if got := string(b.data[at : at+6]); got != "FRAME\n" {
			t.Fatalf("frame %d starts with %q", i, got)
		}
		if i > 0 && string(b.data[at:at+frame]) == string(b.data[at-frame:at]) {
			t.Errorf("frame %d is frame %d again: no motion", i, i-1)
		}
	}
	if err := writeY4M(&b, 63, 32, 1, 30); err == nil {
		t.Error("an odd width was written")
	}
}

type countingBuffer struct{ data []byte }

func (c *countingBuffer) Write(p []byte) (int, error) {
	c.data = append(c.data, p...)
	return len(p), nil
}
