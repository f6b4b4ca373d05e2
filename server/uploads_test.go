package server_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/apitype"
	"github.com/simjobs/simjobs/server/servertest"
)

// people are the token users of the ownership tests.
const people = "alice:user:%s\nbob:user:%s\nroot:admin:%s\n"

func teamServer(t *testing.T, o servertest.Options) *servertest.Server {
	t.Helper()
	auth, err := server.ParseTokens(strings.NewReader(fmt.Sprintf(people, hexSum("alice-secret"), hexSum("bob-secret"), hexSum("root-secret"))))
	if err != nil {
		t.Fatal(err)
	}
	o.Auth = auth
	// A root that holds none of the uploads: only the upload rule lets a
	// user submit what they uploaded.
	o.Roots = []string{t.TempDir()}
	return servertest.Start(t, o)
}

type upReply struct {
	status int
	header http.Header
	body   []byte
}

func (r upReply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d body %q: %v", r.status, r.body, err)
	}
}

// call makes one request as token (none when ""), body and headers as given.
func call(t *testing.T, method, url, token string, body io.Reader, headers ...string) upReply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return upReply{resp.StatusCode, resp.Header, b}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestUploadProjects(t *testing.T) {
	t.Parallel()
	srv := teamServer(t, servertest.Options{})
	uploads := filepath.Join(srv.Dir, "uploads")

	t.Run("aedt", func(t *testing.T) {
		// As curl --data-binary sends it: labelled a form.
		r := call(t, "POST", srv.URL+"/api/projects?name=board.aedt", "alice-secret", strings.NewReader("$begin 'AnsoftProject'\n"), "Content-Type", "application/x-www-form-urlencoded")
		var got apitype.ProjectReply
		r.decode(t, &got)
		if r.status != 200 || !got.Success || filepath.Base(got.ProjectPath) != "board.aedt" || !strings.HasPrefix(got.ProjectPath, filepath.Join(uploads, "alice")+string(filepath.Separator)) {
			t.Fatalf("%d %+v", r.status, got)
		}
		if b, err := os.ReadFile(got.ProjectPath); err != nil || string(b) != "$begin 'AnsoftProject'\n" {
			t.Fatalf("stored %q %v", b, err)
		}
		// The upload is a project root for alice, not for bob.
		cfg := srv.HFSS("")
		cfg["project_path"] = got.ProjectPath
		body, _ := json.Marshal(map[string]any{"config": cfg})
		if r := call(t, "POST", srv.URL+"/api/submit", "alice-secret", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 200 {
			t.Fatalf("alice submits her upload: %d %s", r.status, r.body)
		}
		r = call(t, "POST", srv.URL+"/api/submit", "bob-secret", bytes.NewReader(body), "Content-Type", "application/json")
		if r.status != 400 || !strings.Contains(string(r.body), "another user's upload") {
			t.Fatalf("bob submits alice's upload: %d %s", r.status, r.body)
		}
	})

	t.Run("zipped aedb", func(t *testing.T) {
		z := zipOf(t, map[string]string{"board.aedb/edb.def": "def", "board.aedb/stride/a.bin": "a"})
		r := call(t, "POST", srv.URL+"/api/projects?name=board.aedb.zip", "bob-secret", bytes.NewReader(z))
		var got apitype.ProjectReply
		r.decode(t, &got)
		if r.status != 200 || filepath.Base(got.ProjectPath) != "board.aedb" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for rel, want := range map[string]string{"edb.def": "def", "stride/a.bin": "a"} {
			if b, err := os.ReadFile(filepath.Join(got.ProjectPath, rel)); err != nil || string(b) != want {
				t.Errorf("%s: %q %v", rel, b, err)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(got.ProjectPath), "board.aedb.zip")); err == nil {
			t.Error("the zip is kept beside the project")
		}
	})

	t.Run("bigger than the 1 MiB API limit, chunked", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
		// A reader without a known length: the client sends it chunked.
		r := call(t, "POST", srv.URL+"/api/projects?name=big.aedt", "alice-secret", io.MultiReader(bytes.NewReader(big)))
		var got apitype.ProjectReply
		r.decode(t, &got)
		if fi, err := os.Stat(got.ProjectPath); r.status != 200 || err != nil || fi.Size() != int64(len(big)) {
			t.Fatalf("%d %s %v", r.status, r.body, err)
		}
		// Every other route still refuses such a body, whatever its framing.
		for _, body := range []io.Reader{bytes.NewReader(big), io.MultiReader(bytes.NewReader(big))} {
			if r := call(t, "POST", srv.URL+"/api/submit", "alice-secret", body, "Content-Type", "application/json"); r.status != 413 {
				t.Errorf("submit with 3 MiB: %d %s", r.status, r.body)
			}
		}
	})
}

func TestUploadRefused(t *testing.T) {
	t.Parallel()
	srv := teamServer(t, servertest.Options{MaxUploadBytes: 1 << 20})
	bomb := zipOf(t, map[string]string{"board.aedb/zeros": strings.Repeat("\x00", 3<<20)})
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes packed", len(bomb))
	}
	tests := []struct {
		name, query string
		body        []byte
		ctype       string
		status      int
		want        string
	}{
		{"no name", "", []byte("x"), "", 400, "name:"},
		{"path in the name", "name=../../etc/board.aedt", []byte("x"), "", 400, "name:"},
		{"not a project", "name=notes.txt", []byte("x"), "", 400, "must end in .aedt or .aedb.zip"},
		{"empty", "name=board.aedt", nil, "", 400, "body: is empty"},
		{"too large", "name=board.aedt", bytes.Repeat([]byte("x"), 1<<20+1), "", 413, "--max-upload-mb"},
		{"a multipart form", "name=board.aedt", []byte("--x\r\n"), "multipart/form-data; boundary=x", 415, "raw request body"},
		{"traversal entry", "name=evil.aedb.zip", zipOf(t, map[string]string{"edb.def": "x", "../../../escaped.txt": "boom"}), "", 400, "leaves the folder"},
		{"absolute entry", "name=evil.aedb.zip", zipOf(t, map[string]string{"/tmp/escaped.txt": "boom"}), "", 400, "absolute path"},
		{"zip bomb by size", "name=bomb.aedb.zip", bomb, "", 413, "unpacks beyond the limits"},
		{"not a zip", "name=board.aedb.zip", []byte("plain text"), "", 400, "not a zip file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := []string{}
			if tt.ctype != "" {
				h = append(h, "Content-Type", tt.ctype)
			}
			r := call(t, "POST", srv.URL+"/api/projects?"+tt.query, "alice-secret", bytes.NewReader(tt.body), h...)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("%d %s, want %d with %q", r.status, r.body, tt.status, tt.want)
			}
		})
	}
	// Nothing refused is left behind, and nothing escaped.
	var left []string
	filepath.Walk(filepath.Join(srv.Dir, "uploads"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	filepath.Walk(srv.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "escaped.txt" {
			t.Errorf("escaped: %s", p)
		}
		return nil
	})
	if _, err := os.Stat("/tmp/escaped.txt"); err == nil {
		t.Error("/tmp/escaped.txt written")
	}
	if r := call(t, "POST", srv.URL+"/api/projects?name=board.aedt", "", strings.NewReader("x")); r.status != 401 {
		t.Errorf("anonymous upload: %d", r.status)
	}
}

// TestUploadTooManyEntries: a zip of more files than any .aedb holds is
// refused even though it is small.
func TestUploadTooManyEntries(t *testing.T) {
	t.Parallel()
	// The server's bound, lowered: a 100,001-entry zip takes over a minute
	// to build and read under the race detector. engine/upload tests the
	// count itself; this tests that the server applies it.
	srv := teamServer(t, servertest.Options{MaxZipEntries: 50})
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("f%d", i)] = ""
	}
	r := call(t, "POST", srv.URL+"/api/projects?name=many.aedb.zip", "alice-secret", bytes.NewReader(zipOf(t, many)))
	if r.status != 413 || !strings.Contains(string(r.body), "51 entries") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// tusCreate starts a resumable upload and returns its URL.
func tusCreate(t *testing.T, base, token, name string, size int) string {
	t.Helper()
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte(name))
	r := call(t, "POST", base+"/api/uploads", token, nil, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(size), "Upload-Metadata", meta)
	if r.status != 201 || r.header.Get("Location") == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if strings.HasPrefix(loc, "/") {
		loc = base + loc
	}
	return loc
}

func tusOffset(t *testing.T, url, token string) (int, int) {
	t.Helper()
	r := call(t, "HEAD", url, token, nil, "Tus-Resumable", "1.0.0")
	if r.status != 200 {
		return r.status, -1
	}
	n, _ := strconv.Atoi(r.header.Get("Upload-Offset"))
	return r.status, n
}

// TestTusResume cuts a PATCH off half-way (the client's connection ends),
// asks where the server got to, and sends the rest from there: the project
// is whole, and only its owner could have continued it.
func TestTusResume(t *testing.T) {
	t.Parallel()
	srv := teamServer(t, servertest.Options{})
	file := bytes.Repeat([]byte("HFSS project line\n"), 200000) // 3.6 MB
	loc := tusCreate(t, srv.URL, "alice-secret", "board.aedt", len(file))

	// The first PATCH announces the whole file but the connection stops
	// after a third of it: half-close, so the server sees the end and
	// answers.
	cut := len(file) / 3
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(loc, srv.URL)
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer alice-secret\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n",
		path, strings.TrimPrefix(srv.URL, "http://"), len(file))
	conn.Write(file[:cut])
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
	}
	conn.Close()

	if st, _ := tusOffset(t, loc, "bob-secret"); st != 404 {
		t.Errorf("bob sees alice's upload: %d", st)
	}
	if r := call(t, "PATCH", loc, "bob-secret", bytes.NewReader(file), "Tus-Resumable", "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"); r.status != 404 {
		t.Errorf("bob writes into alice's upload: %d", r.status)
	}
	st, off := tusOffset(t, loc, "alice-secret")
	if st != 200 || off <= 0 || off > cut {
		t.Fatalf("after the cut: status %d offset %d (cut at %d)", st, off, cut)
	}
	r := call(t, "PATCH", loc, "alice-secret", bytes.NewReader(file[off:]), "Tus-Resumable", "1.0.0", "Upload-Offset", strconv.Itoa(off), "Content-Type", "application/offset+octet-stream")
	project := r.header.Get("Upload-Project-Path")
	if r.status != 204 || project == "" {
		t.Fatalf("resume: %d %s %v", r.status, r.body, r.header)
	}
	if b, err := os.ReadFile(project); err != nil || !bytes.Equal(b, file) {
		t.Fatalf("the resumed project differs: %d bytes, %v", len(b), err)
	}
	if !strings.HasPrefix(project, filepath.Join(srv.Dir, "uploads", "alice")) {
		t.Errorf("project at %s", project)
	}
	// Once it is a project, tus forgets the upload.
	if st, _ := tusOffset(t, loc, "alice-secret"); st != 404 {
		t.Errorf("finished upload still answers HEAD: %d", st)
	}
}

func TestTusRefused(t *testing.T) {
	t.Parallel()
	srv := teamServer(t, servertest.Options{MaxUploadBytes: 1 << 20})
	meta := func(name string) string { return "filename " + base64.StdEncoding.EncodeToString([]byte(name)) }
	for _, tt := range []struct {
		name   string
		length string
		meta   string
		status int
	}{
		{"too large", strconv.Itoa(1<<20 + 1), meta("board.aedt"), 413},
		{"bad name", "10", meta("../board.aedt"), 400},
		{"no name", "10", "", 400},
	} {
		r := call(t, "POST", srv.URL+"/api/uploads", "alice-secret", nil, "Tus-Resumable", "1.0.0", "Upload-Length", tt.length, "Upload-Metadata", tt.meta)
		if r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	// A zip refused when it is complete says why.
	z := zipOf(t, map[string]string{"../evil": "x"})
	loc := tusCreate(t, srv.URL, "alice-secret", "evil.aedb.zip", len(z))
	r := call(t, "PATCH", loc, "alice-secret", bytes.NewReader(z), "Tus-Resumable", "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")
	if r.status != 400 || !strings.Contains(string(r.body), "leaves the folder") {
		t.Errorf("bad zip over tus: %d %s", r.status, r.body)
	}
	if st, _ := tusOffset(t, loc, "alice-secret"); st != 404 {
		t.Errorf("a refused upload is still there: HEAD %d", st)
	}
	if left, _ := filepath.Glob(filepath.Join(srv.Dir, "uploads", ".tus", "*")); len(left) != 0 {
		t.Errorf("left in .tus: %v", left)
	}
}
