package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"palabre/rooms"
	"palabre/signaling/proto"
)

// The app copies a few of the server's rules so that it can say what is
// wrong before asking (static/protocol.js: ROOM_NAME, validDisplayName,
// MAX_HOPS, MAX_NAME_CHARS, MAX_CHAT_CHARS, MAX_VIDEO_SLOTS,
// chatTextProblem; and suggestRoomName must only suggest names
// rooms.ValidateName takes).
// TestRulesMatchGo runs those copies with node
// over a table of inputs and compares each answer with the Go rule's.
//
// The inputs are JSON strings, so that the table can hold what only a
// browser can send (half a surrogate pair). Go judges what the server
// would receive: the string as the browser JSON-encodes it, decoded.

// Room names, as JSON strings.
const roomNameTable = `[
	"", "a", "z", "0", "9", "a-b", "a--b", "a1-2b", "-", "-a", "a-", "--",
	"A", "Ab", "aB", "é", "ß", "ａ", "١", "a b", " a", "a ", "a_b", "a.b", "a/b",
	"a\n", "\na", "a\u0000", "\u0000",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"a--------------------------------------------------------------b",
	"a---------------------------------------------------------------b"
]`

// Display names, as JSON strings.
const displayNameTable = `[
	"a", "Aïcha", "e\u0301", "😀", "a b", "a\tb", "", " ", "   ", "\t",
	"\u00a0", "\u3000", "\u2028", "\u200b", "\ufeff", "\u180e", "\u0085",
	"a\u0000", "a\u001f", "a\u007f", "a\u009f", "\ufffd", "a\ufffd",
	"\ud800", "a\udc00b", "\ud83d\ude00",
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
	"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
]`

// Chat messages, as JSON strings ("long" entries are built by the script).
const chatTable = `[
	"hi", "Bonjour à tous 👋", "a\nb", "a\tb", "line one\r\nline two", "", " ", "\n\t ", "\u00a0",
	"a\u0000", "a\u0007", "\u007f", "\u0085x", "\ufffd", "\ud800", "a\udc00b", "\ud83d\ude00",
	"https://example.org/?q=1 <b>bold</b>"
]`

// What people type as a room name on the home page, as JSON strings: the
// app's suggestion (suggestRoomName) must be a valid name, or the empty string.
const suggestTable = `[
	"Choir Tuesday", "  Chorale du Mardi ", "Cœur d’été", "a--b", "Straße 5", "---", "Ünïcødé!!",
	"日本", "é", "İstanbul", "ﬁne", "-a-", "a_b.c/d", "\u0000x", "\ud800",
	"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b"
]`

// rulesJS prints what protocol.js says of every input it reads on stdin.
const rulesJS = `
const { ROOM_NAME, validDisplayName, MAX_HOPS, MAX_NAME_CHARS, MAX_CHAT_CHARS, MAX_VIDEO_SLOTS, chatTextProblem, suggestRoomName } = await import(process.argv[1]);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { rooms, names, chats, typed } = JSON.parse(input);
// Around the length limit, in characters that take one, two and four bytes.
for (const c of ['a', 'é', '😀']) for (const n of [MAX_CHAT_CHARS - 1, MAX_CHAT_CHARS, MAX_CHAT_CHARS + 1]) chats.push(c.repeat(n));
const judge = (rule) => (s) => ({ wire: JSON.stringify(s), ok: rule(s) });
process.stdout.write(JSON.stringify({
	maxHops: MAX_HOPS,
	maxNameChars: MAX_NAME_CHARS,
	maxChatChars: MAX_CHAT_CHARS,
	maxVideoSlots: MAX_VIDEO_SLOTS,
	rooms: rooms.map(judge((s) => ROOM_NAME.test(s))),
	names: names.map(judge(validDisplayName)),
	chats: chats.map(judge((s) => chatTextProblem(s) === '')),
	suggested: typed.map((s) => ({ wire: JSON.stringify(s), name: suggestRoomName(s) })),
}));
`

type judged struct {
	Wire string `json:"wire"` // the input as the browser sends it (JSON)
	OK   bool   `json:"ok"`
}

type jsRules struct {
	MaxHops      *int     `json:"maxHops"`
	MaxNameChars *int     `json:"maxNameChars"`
	MaxChatChars *int     `json:"maxChatChars"`
	MaxVideo     *int     `json:"maxVideoSlots"`
	Rooms        []judged `json:"rooms"`
	Names        []judged `json:"names"`
	Chats        []judged `json:"chats"`
	Suggested    []struct {
		Wire string `json:"wire"` // what was typed
		Name string `json:"name"` // the app's suggestion, '' for none
	} `json:"suggested"`
}

// runRulesJS runs rulesJS under node, or skips the test without node
// (and fails under CI, where node must be installed for the JS checks).
func runRulesJS(t *testing.T) jsRules {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed: under CI it must be (the JS checks need it)")
		}
		t.Skip("node is not installed: the app's copies of the Go rules (static/protocol.js) are NOT checked")
	}
	abs, err := filepath.Abs(filepath.Join("static", "protocol.js"))
	if err != nil {
		t.Fatal(err)
	}
	module := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	stdin := `{"rooms":` + roomNameTable + `,"names":` + displayNameTable + `,"chats":` + chatTable + `,"typed":` + suggestTable + `}`
	cmd := exec.Command(node, "--input-type=module", "--eval", rulesJS, module)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got jsRules
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node's answer: %v: %s", err, out)
	}
	return got
}

func TestRulesMatchGo(t *testing.T) {
	js := runRulesJS(t)

	if js.MaxHops == nil || *js.MaxHops != proto.MaxHops {
		t.Errorf("protocol.js MAX_HOPS = %v, signaling/proto MaxHops = %d", deref(js.MaxHops), proto.MaxHops)
	}
	if js.MaxNameChars == nil || *js.MaxNameChars != proto.MaxNameRunes {
		t.Errorf("protocol.js MAX_NAME_CHARS = %v, signaling/proto MaxNameRunes = %d", deref(js.MaxNameChars), proto.MaxNameRunes)
	}

	if js.MaxChatChars == nil || *js.MaxChatChars != proto.MaxChatRunes {
		t.Errorf("protocol.js MAX_CHAT_CHARS = %v, signaling/proto MaxChatRunes = %d", deref(js.MaxChatChars), proto.MaxChatRunes)
	}
	if js.MaxVideo == nil || *js.MaxVideo != proto.MaxVideoSlots {
		t.Errorf("protocol.js MAX_VIDEO_SLOTS = %v, signaling/proto MaxVideoSlots = %d", deref(js.MaxVideo), proto.MaxVideoSlots)
	}

	compare := func(rule string, table string, answers []judged, goRule func(string) error) {
		var inputs []json.RawMessage
		if err := json.Unmarshal([]byte(table), &inputs); err != nil {
			t.Fatalf("%s table: %v", rule, err)
		}
		for len(inputs) < len(answers) { // built by the script
			inputs = append(inputs, json.RawMessage(answers[len(inputs)].Wire))
		}
		if len(answers) != len(inputs) {
			t.Fatalf("%s: node judged %d inputs of %d", rule, len(answers), len(inputs))
		}
		valid := 0
		for i, a := range answers {
			var received string // what the server decodes
			if err := json.Unmarshal([]byte(a.Wire), &received); err != nil {
				t.Fatalf("%s: %s: %v", rule, a.Wire, err)
			}
			goErr := goRule(received)
			if a.OK != (goErr == nil) {
				t.Errorf("%s(%s): JS says valid=%v, Go says %v", rule, inputs[i], a.OK, goErr)
			}
			if a.OK {
				valid++
			}
		}
		// A table all valid or all invalid would not test much.
		if valid == 0 || valid == len(answers) {
			t.Errorf("%s: %d of %d inputs valid: the table needs both kinds", rule, valid, len(answers))
		}
	}
	compare("ROOM_NAME", roomNameTable, js.Rooms, rooms.ValidateName)
	compare("validDisplayName", displayNameTable, js.Names, proto.ValidDisplayName)
	compare("chatTextProblem", chatTable, js.Chats, proto.ValidChatText)

	suggested := 0
	for _, s := range js.Suggested {
		if s.Name == "" {
			continue
		}
		suggested++
		if err := rooms.ValidateName(s.Name); err != nil {
			t.Errorf("suggestRoomName(%s) = %q, which the server refuses: %v", s.Wire, s.Name, err)
		}
	}
	if suggested == 0 || suggested == len(js.Suggested) {
		t.Errorf("suggestRoomName: %d of %d inputs give a name: the table needs both kinds", suggested, len(js.Suggested))
	}
}

func deref(p *int) any {
	if p == nil {
		return "missing"
	}
	return *p
}
