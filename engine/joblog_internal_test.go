package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func writeLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdout.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// chunkOf is what a test compares: the bytes as text, where they are, and
// the size read.
type chunkOf struct {
	Data         string
	Offset, Next int64
	Size         int64
}

func got(c LogChunk) chunkOf {
	return chunkOf{Data: string(c.Data), Offset: c.Offset, Next: c.Next, Size: c.Size}
}

func TestReadLogFile(t *testing.T) {
	t.Parallel()
	// "é" is 2 bytes (c3 a9), "€" 3 (e2 82 ac), "𝄞" 4 (f0 9d 84 9e).
	tests := []struct {
		name    string
		content string
		offset  int64
		limit   int64
		ended   bool
		want    chunkOf
	}{
		{"all", "one\ntwo\n", 0, 0, true, chunkOf{"one\ntwo\n", 0, 8, 8}},
		{"from an offset", "one\ntwo\n", 4, 0, false, chunkOf{"two\n", 4, 8, 8}},
		{"bounded", "one\ntwo\n", 0, 5, false, chunkOf{"one\nt", 0, 5, 8}},
		{"offset at the end", "one\n", 4, 0, false, chunkOf{"", 4, 4, 4}},
		{"offset past the end reads from the end", "one\n", 99, 0, false, chunkOf{"", 4, 4, 4}},
		{"a rune the bound cuts waits for the next read", "ab€cd", 0, 3, false, chunkOf{"ab", 0, 2, 7}},
		{"a rune the bound cuts, after the end too", "ab€cd", 0, 4, true, chunkOf{"ab", 0, 2, 7}},
		{"the next read takes it whole", "ab€cd", 2, 3, false, chunkOf{"€", 2, 5, 7}},
		{"a bound smaller than the first rune takes it whole", "𝄞x", 0, 1, false, chunkOf{"𝄞", 0, 4, 5}},
		{"a rune still being written is left for later", "ab\xe2\x82", 0, 0, false, chunkOf{"ab", 0, 2, 4}},
		{"only a rune being written: nothing yet", "\xe2\x82", 0, 0, false, chunkOf{"", 0, 0, 2}},
		{"a rune cut for good once the attempt ended", "ab\xe2\x82", 0, 0, true, chunkOf{"ab\xe2\x82", 0, 4, 4}},
		{"invalid bytes stay as they are", "a\xffb\xfe", 0, 0, false, chunkOf{"a\xffb\xfe", 0, 4, 4}},
		{"an invalid lead byte before ASCII is not held", "a\xe2b", 0, 2, false, chunkOf{"a\xe2", 0, 2, 3}},
		{"an offset inside a rune is taken as given", "é!", 1, 0, true, chunkOf{"\xa9!", 1, 3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := readLogFile(writeLog(t, tt.content), tt.offset, tt.limit, tt.ended)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got(c)); diff != "" {
				t.Errorf("readLogFile(%q, %d, %d, %v) (-want +got):\n%s", tt.content, tt.offset, tt.limit, tt.ended, diff)
			}
			if c.Ended != tt.ended {
				t.Errorf("Ended = %v, want %v", c.Ended, tt.ended)
			}
		})
	}
}

func TestReadLogFileMissing(t *testing.T) {
	t.Parallel()
	c, err := readLogFile(filepath.Join(t.TempDir(), "stdout.log"), 10, 0, false)
	if err != nil || len(c.Data) != 0 || c.Next != 0 || c.Size != 0 {
		t.Errorf("a log not written yet = %+v, %v; want an empty chunk at 0", c, err)
	}
}

// Reading a log chunk by chunk with any bound gives it back whole, and
// no chunk but the last ends inside a character.
func TestReadLogFileChunksJoinUp(t *testing.T) {
	t.Parallel()
	content := strings.Repeat("a€é𝄞\n", 50) + "\xff\xe2\x82"
	path := writeLog(t, content)
	// The offsets inside a character.
	inside := map[int64]bool{}
	for i, r := range strings.Repeat("a€é𝄞\n", 50) {
		for k := 1; k < utf8.RuneLen(r); k++ {
			inside[int64(i+k)] = true
		}
	}
	for limit := int64(1); limit <= 9; limit++ {
		var all strings.Builder
		var off int64
		for i := 0; ; i++ {
			c, err := readLogFile(path, off, limit, true)
			if err != nil {
				t.Fatal(err)
			}
			if c.Next == off {
				break
			}
			if inside[c.Next] {
				t.Fatalf("limit %d: chunk %q at %d ends inside a character", limit, c.Data, off)
			}
			all.Write(c.Data)
			off = c.Next
		}
		if all.String() != content {
			t.Fatalf("limit %d: read %q, want %q", limit, all.String(), content)
		}
	}
}

func TestTailLogFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		lines   int
		limit   int64
		want    chunkOf
	}{
		{"last two lines", "a\nb\nc\n", 2, 0, chunkOf{"b\nc\n", 2, 6, 6}},
		{"last line without its newline", "a\nb\nc", 1, 0, chunkOf{"c", 4, 5, 5}},
		{"more lines than the log has", "a\nb\n", 9, 0, chunkOf{"a\nb\n", 0, 4, 4}},
		{"no line bound, no byte bound", "a\nb\n", 0, 0, chunkOf{"a\nb\n", 0, 4, 4}},
		{"the byte bound starts at the next line", "aaaa\nbb\ncc\n", 0, 7, chunkOf{"bb\ncc\n", 5, 11, 11}},
		{"a byte bound on a line start keeps that line", "aaaa\nbb\ncc\n", 0, 3, chunkOf{"cc\n", 8, 11, 11}},
		{"the byte bound wins over the lines", "a\nb\nc\nd\n", 3, 4, chunkOf{"c\nd\n", 4, 8, 8}},
		{"the lines win when fewer", "a\nb\nc\nd\n", 1, 6, chunkOf{"d\n", 6, 8, 8}},
		{"no newline in the window: from a character", "x€€€", 0, 5, chunkOf{"€", 7, 10, 10}},
		{"an empty log", "", 3, 10, chunkOf{"", 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tailLogFile(writeLog(t, tt.content), tt.lines, tt.limit, true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got(c)); diff != "" {
				t.Errorf("tailLogFile(%q, %d, %d) (-want +got):\n%s", tt.content, tt.lines, tt.limit, diff)
			}
		})
	}
}

// The line tail reads backwards in blocks: lines that straddle a block
// boundary count once.
func TestTailLogFileAcrossBlocks(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 1000) + "\n"
	content := strings.Repeat(line, 300) // 300 KB, several 64 KiB blocks
	c, err := tailLogFile(writeLog(t, content), 100, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Data) != strings.Repeat(line, 100) || c.Offset != int64(200*len(line)) {
		t.Errorf("tail of 100 lines starts at %d with %d bytes; want %d with %d", c.Offset, len(c.Data), 200*len(line), 100*len(line))
	}
}

func TestLogChunkText(t *testing.T) {
	t.Parallel()
	c := LogChunk{Data: []byte("ok \xff\xfe é")}
	if got, want := c.Text(), "ok \uFFFD é"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}

// Whatever a log holds and whatever the bound, reading it chunk by chunk
// gives it back whole, every chunk moves on, and a tail is a suffix of it.
func FuzzReadLogFile(f *testing.F) {
	f.Add([]byte("a€é𝄞\n\xff\xe2\x82"), uint8(1), uint8(2))
	f.Add([]byte("line\nline\n"), uint8(4), uint8(1))
	f.Fuzz(func(t *testing.T, content []byte, limit, lines uint8) {
		path := filepath.Join(t.TempDir(), "stdout.log")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		var all []byte
		for off := int64(0); off < int64(len(content)); {
			c, err := readLogFile(path, off, int64(limit), true)
			if err != nil {
				t.Fatal(err)
			}
			if c.Next <= off || c.Offset != off || c.Next != off+int64(len(c.Data)) {
				t.Fatalf("chunk at %d: %d..%d with %d bytes", off, c.Offset, c.Next, len(c.Data))
			}
			all = append(all, c.Data...)
			off = c.Next
		}
		if string(all) != string(content) {
			t.Fatalf("read back %q, want %q", all, content)
		}
		c, err := tailLogFile(path, int(lines), int64(limit), true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(content), string(c.Data)) || c.Next != int64(len(content)) && !c.More() {
			t.Fatalf("tail %q (%d..%d) of %q", c.Data, c.Offset, c.Next, content)
		}
	})
}
