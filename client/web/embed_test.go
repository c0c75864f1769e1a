package web

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Files(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// textFiles are the app's files that are read as text (all but images).
func textFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch path.Ext(p) {
		case ".html", ".js", ".css", ".svg", ".json", ".txt":
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no text files")
	}
	return names
}

func exists(name string) bool {
	_, err := fs.Stat(Files(), name)
	return err == nil
}

func TestFilesHasIndex(t *testing.T) {
	if !strings.Contains(readFile(t, "index.html"), "<!doctype html>") {
		t.Error("index.html has no doctype")
	}
	names := []string{"app.js", "style.css", "i18n.js", "favicon.png"}
	for _, lang := range languages {
		names = append(names, "lang/"+lang+".js")
	}
	for _, name := range names {
		if !exists(name) {
			t.Errorf("%s missing", name)
		}
	}
}

var (
	tagRE  = regexp.MustCompile(`(?is)<(script|link|a|img|audio|source|iframe|form)\b([^>]*)>`)
	attrRE = regexp.MustCompile(`(?i)\b(src|href|action)\s*=\s*"([^"]*)"`)
)

// TestIndexReferences: the page loads only /app/ files, all of which exist,
// and its links stay on this origin.
func TestIndexReferences(t *testing.T) {
	html := readFile(t, "index.html")
	refs := 0
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		tag := strings.ToLower(m[1])
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			v := a[2]
			if tag == "a" {
				// Navigation: same-origin paths or fragments only.
				if !(strings.HasPrefix(v, "#") || strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//")) {
					t.Errorf("<a href=%q> leaves the origin", v)
				}
				continue
			}
			refs++
			name, ok := strings.CutPrefix(v, "/app/")
			if !ok {
				t.Errorf("<%s %s=%q>: resources must be under /app/", tag, a[1], v)
				continue
			}
			if !exists(name) {
				t.Errorf("<%s %s=%q>: no such file", tag, a[1], v)
			}
		}
	}
	if refs < 3 {
		t.Errorf("only %d resource references found in index.html", refs)
	}
}

var (
	scriptRE  = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	styleAtRE = regexp.MustCompile(`(?i)\sstyle\s*=`)
	onAttrRE  = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
)

// TestNoInlineCode: the Content-Security-Policy forbids inline scripts,
// inline styles and event-handler attributes.
func TestNoInlineCode(t *testing.T) {
	html := readFile(t, "index.html")
	scripts := scriptRE.FindAllStringSubmatch(html, -1)
	if len(scripts) == 0 {
		t.Error("no <script> in index.html")
	}
	for _, m := range scripts {
		if !strings.Contains(m[1], "src=") {
			t.Errorf("<script%s> has no src", m[1])
		}
		if strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script code: %q", m[2])
		}
	}
	if strings.Count(strings.ToLower(html), "<script") != len(scripts) {
		t.Error("a <script> tag is not closed the usual way")
	}
	if loc := styleAtRE.FindStringIndex(html); loc != nil {
		t.Errorf("style= attribute at byte %d", loc[0])
	}
	if strings.Contains(strings.ToLower(html), "<style") {
		t.Error("<style> element in index.html")
	}
	if m := onAttrRE.FindString(html); m != "" {
		t.Errorf("event-handler attribute: %q", m)
	}
	for _, name := range textFiles(t) {
		if strings.HasSuffix(name, ".js") && regexp.MustCompile(`\beval\s*\(|new Function\s*\(`).MatchString(readFile(t, name)) {
			t.Errorf("%s uses eval", name)
		}
	}
}

// TestNoOtherOrigins: zero third-party requests, not even a mention.
func TestNoOtherOrigins(t *testing.T) {
	forbidden := []string{"http://", "https://", "ws://", "wss://", "url(//", "url(\"//", "url('//"}
	for _, name := range textFiles(t) {
		lower := strings.ToLower(readFile(t, name))
		check := forbidden
		if !strings.HasSuffix(name, ".js") { // in JS, @import is a JSDoc type import
			check = slices.Concat(forbidden, []string{"@import"})
		}
		for _, f := range check {
			if i := strings.Index(lower, f); i >= 0 {
				t.Errorf("%s contains %q at byte %d", name, f, i)
			}
		}
	}
}

var importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]`)

// TestModuleImports: modules import each other by relative paths that exist.
func TestModuleImports(t *testing.T) {
	for _, name := range textFiles(t) {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(readFile(t, name), -1) {
			spec := m[1] + m[2]
			rel, ok := strings.CutPrefix(spec, "./")
			if !ok {
				t.Errorf("%s imports %q: only ./relative imports", name, spec)
				continue
			}
			if !exists(path.Join(path.Dir(name), rel)) {
				t.Errorf("%s imports %q: no such file", name, spec)
			}
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{(\w+)\}`)

// languages are the app's languages: static/lang/<code>.js each.
var languages = []string{"fr", "en"}

// dictionary reads static/lang/<lang>.js, a data-only module: comment
// lines, then "export default ", one JSON object of strings, and ";". It
// is parsed as JSON (token by token, to catch a key defined twice), so
// anything that is not plain data fails here.
func dictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	name := "lang/" + lang + ".js"
	rest := readFile(t, name)
	for {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok || !strings.HasPrefix(line, "//") && strings.TrimSpace(line) != "" {
			break
		}
		rest = after
	}
	body, ok := strings.CutPrefix(rest, "export default ")
	if !ok {
		t.Fatalf("%s: after the comments, want \"export default {\", got %.40q", name, rest)
	}
	body, ok = strings.CutSuffix(strings.TrimRight(body, "\n"), ";")
	if !ok {
		t.Fatalf("%s: the object must end the file, followed by \";\"", name)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	fail := func(err error) {
		t.Helper()
		t.Fatalf("%s: not a JSON object of strings (at byte %d of the object): %v", name, dec.InputOffset(), err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		fail(fmt.Errorf("want {, got %v %v", tok, err))
	}
	dict := map[string]string{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			fail(err)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			fail(fmt.Errorf("key %q: %w", k, err))
		}
		key := k.(string) // object keys are always strings
		if _, dup := dict[key]; dup {
			t.Errorf("%s: %q defined twice", name, key)
		}
		dict[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		fail(fmt.Errorf("want }, got %v %v", tok, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		fail(fmt.Errorf("something follows the object: %v", err))
	}
	if len(dict) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return dict
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestDictionaries: French and English say the same things, and every key
// the app uses exists.
func TestDictionaries(t *testing.T) {
	fr := dictionary(t, "fr")
	en := dictionary(t, "en")
	for k, v := range fr {
		w, ok := en[k]
		if !ok {
			t.Errorf("key %q is in fr, not in en", k)
			continue
		}
		if !slices.Equal(placeholders(v), placeholders(w)) {
			t.Errorf("key %q: placeholders differ: fr %v, en %v", k, placeholders(v), placeholders(w))
		}
		if strings.TrimSpace(v) == "" || strings.TrimSpace(w) == "" {
			t.Errorf("key %q: empty text", k)
		}
	}
	for k := range en {
		if _, ok := fr[k]; !ok {
			t.Errorf("key %q is in en, not in fr", k)
		}
	}

	need := map[string]bool{}
	// Keys the page names.
	for _, m := range regexp.MustCompile(`data-i18n(?:-[a-z-]+)?="([^"]+)"`).FindAllStringSubmatch(readFile(t, "index.html"), -1) {
		need[m[1]] = true
	}
	// Keys the code builds: every protocol error code, mode and organizer action.
	for _, code := range []string{
		"bad_password", "bad_secret", "room_full", "room_locked", "rate_limited", "not_found",
		"bad_message", "unsupported_version", "internal", "flood", "floor_busy", "not_allowed",
		"bad_state", "closed", "timeout", "network", "no_media", "chat_off", "too_many_rooms", "address_limit",
		"video_off", "too_many_cameras",
	} {
		need["error."+code] = true
	}
	for _, mode := range []string{"open", "ptt", "moderated"} {
		need["mode."+mode] = true
		need["mode."+mode+".help"] = true
	}
	for _, action := range []string{"mute", "unmute", "kick", "grant", "revoke", "chat_mute", "chat_unmute"} {
		need["action."+action] = true
		need["action."+action+".label"] = true
	}
	for _, action := range []string{"admit", "refuse"} {
		need["lobby."+action] = true
		need["lobby."+action+".label"] = true
	}
	// The chat text's problems (protocol.js chatTextProblem) and the
	// reconnect reasons.
	for _, k := range []string{"chat.empty", "chat.too_long", "chat.bad_char", "reconnect.reason.shutdown", "reconnect.reason.flood", "reconnect.reason.media"} {
		need[k] = true
	}
	// Keys written out in the code: string literals whose first segment is
	// one of the dictionary's (so 'palabre.name', a storage key, is not one).
	prefixes := map[string]bool{}
	for k := range en {
		prefixes[strings.SplitN(k, ".", 2)[0]] = true
	}
	literal := regexp.MustCompile(`'([a-z0-9_]+(?:\.[a-z0-9_]+)+)'`)
	plural := regexp.MustCompile(`\btn\(\s*'([^']+)'`)
	for _, name := range textFiles(t) {
		if !strings.HasSuffix(name, ".js") || strings.HasPrefix(name, "lang/") {
			continue
		}
		code := readFile(t, name)
		plurals := map[string]bool{}
		for _, m := range plural.FindAllStringSubmatch(code, -1) {
			plurals[m[1]] = true
			need[m[1]+".other"] = true
			need[m[1]+".one"] = true
		}
		for _, m := range literal.FindAllStringSubmatch(code, -1) {
			if prefixes[strings.SplitN(m[1], ".", 2)[0]] && !plurals[m[1]] {
				need[m[1]] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(need)) {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in the dictionaries", k)
		}
	}
}

// TestElementIDs: the ids the browser tests (and the server's docs) rely on.
func TestElementIDs(t *testing.T) {
	html := readFile(t, "index.html")
	for _, id := range []string{
		"lang", "error", "announcer", "reconnecting",
		"home", "create-name", "create-password", "create-mode", "create-submit",
		"participant-link", "organizer-link",
		"prejoin", "name", "password", "mic", "mic-level", "join",
		"room", "mic-live", "participants", "ptt", "ptt-latch", "mute", "hand",
		"copy-link", "leave", "lock", "room-mode", "room-password", "room-password-save",
		"ended", "rejoin",
		// Room life: toasts, reconnecting, lobby, chat, hands, settings, help.
		"toasts", "info", "reconnect-now", "reconnecting-countdown", "reconnecting-reason",
		"create-name-preview", "goto-name-preview", "created-mode", "created-password",
		"participant-link-copied", "organizer-link-copied", "password-error",
		"invalid", "invalid-suggest-link", "waiting", "waiting-leave",
		"now-speaking", "floor-done", "hand-position", "hands-panel", "hands", "grant-next",
		"lobby-panel", "lobby-list", "admit-all", "lobby-toggle", "chat-room-toggle", "mute-all",
		"chat-toggle", "chat-unread", "chat-panel", "chat-log", "chat-to", "chat-text", "chat-count",
		"chat-send", "chat-error", "chat-state",
		"settings-open", "settings", "settings-mic", "settings-output", "ptt-key", "volumes",
		"help-open", "help", "confirm", "confirm-ok", "confirm-cancel",
		// Video.
		"video-stage", "video-grid", "video-main", "video-tiles", "self-view", "self-screen",
		"video-empty", "video-audio-only-note", "video-status", "video-controls",
		"camera-toggle", "screen-toggle", "video-view", "audio-only",
		"org-video", "video-room-toggle", "max-cameras",
	} {
		if n := strings.Count(html, `id="`+id+`"`); n != 1 {
			t.Errorf("id %q appears %d times in index.html, want 1", id, n)
		}
	}
	for _, want := range []string{`id="error" class="notice notice-error" role="alert"`, `id="announcer" class="visually-hidden" aria-live="polite"`} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}
