package bidi

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want any
	}{
		{"undefined", `{"type":"undefined"}`, nil},
		{"null", `{"type":"null"}`, nil},
		{"string", `{"type":"string","value":"héllo"}`, "héllo"},
		{"empty string", `{"type":"string","value":""}`, ""},
		{"integer", `{"type":"number","value":42}`, 42.0},
		{"float", `{"type":"number","value":-1.5}`, -1.5},
		{"infinity", `{"type":"number","value":"Infinity"}`, math.Inf(1)},
		{"minus infinity", `{"type":"number","value":"-Infinity"}`, math.Inf(-1)},
		{"true", `{"type":"boolean","value":true}`, true},
		{"false", `{"type":"boolean","value":false}`, false},
		{"bigint", `{"type":"bigint","value":"123456789012345678901234567890"}`, bigInt("123456789012345678901234567890")},
		{"date", `{"type":"date","value":"1970-01-01T00:00:00.000Z"}`, time.Unix(0, 0).UTC()},
		{"regexp", `{"type":"regexp","value":{"pattern":"a+","flags":"g"}}`, RegExp{Pattern: "a+", Flags: "g"}},
		{"array", `{"type":"array","value":[{"type":"number","value":1},{"type":"string","value":"2"},{"type":"null"}]}`, []any{1.0, "2", nil}},
		{"empty array", `{"type":"array","value":[]}`, []any{}},
		{"set", `{"type":"set","value":[{"type":"boolean","value":true}]}`, []any{true}},
		{"object", `{"type":"object","value":[["a",{"type":"number","value":1}],["b",{"type":"array","value":[{"type":"string","value":"x"}]}]]}`,
			map[string]any{"a": 1.0, "b": []any{"x"}}},
		{"nested object", `{"type":"object","value":[["o",{"type":"object","value":[["k",{"type":"undefined"}]]}]]}`,
			map[string]any{"o": map[string]any{"k": nil}}},
		{"map with value keys", `{"type":"map","value":[[{"type":"number","value":1},{"type":"string","value":"one"}],["s",{"type":"boolean","value":false}]]}`,
			map[string]any{"1": "one", "s": false}},
		{"node", `{"type":"node","sharedId":"f.1.d.2.e.3","value":{"nodeType":1,"localName":"button","attributes":{"id":"ptt"},"childNodeCount":2}}`,
			Node{SharedID: "f.1.d.2.e.3", NodeType: 1, LocalName: "button", Attributes: map[string]string{"id": "ptt"}}},
		{"function", `{"type":"function","handle":"h1"}`, Remote{Type: "function", Handle: "h1"}},
		{"repeated object", `{"type":"object","internalId":"7"}`, Remote{Type: "object", InternalID: "7"}},
		{"window", `{"type":"window","value":{"context":"c1"}}`, Remote{Type: "window"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(json.RawMessage(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := tc.want.(*big.Int); ok {
				if g, ok := got.(*big.Int); !ok || g.Cmp(b) != 0 {
					t.Fatalf("got %v, want %v", got, b)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func bigInt(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

// The numbers JSON cannot carry.
func TestDecodeSpecialNumbers(t *testing.T) {
	v, err := Decode(json.RawMessage(`{"type":"number","value":"NaN"}`))
	if f, ok := v.(float64); err != nil || !ok || !math.IsNaN(f) {
		t.Errorf("NaN: %v %v", v, err)
	}
	v, err = Decode(json.RawMessage(`{"type":"number","value":"-0"}`))
	if f, ok := v.(float64); err != nil || !ok || f != 0 || !math.Signbit(f) {
		t.Errorf("-0: %v %v", v, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`{"type":"string","value":3}`,
		`{"type":"number","value":"lots"}`,
		`{"type":"number","value":true}`,
		`{"type":"bigint","value":"1.5"}`,
		`{"type":"date","value":"yesterday"}`,
		`{"type":"array","value":{"a":1}}`,
		`{"type":"array","value":[{"type":"string","value":1}]}`,
		`{"type":"object","value":[["k",{"type":"boolean","value":"yes"}]]}`,
	} {
		if v, err := Decode(json.RawMessage(in)); err == nil {
			t.Errorf("%s decoded to %#v, want an error", in, v)
		}
	}
}

func TestAs(t *testing.T) {
	v := map[string]any{"bytes": 1200.0, "energy": 0.25, "ids": []any{"a", "b"}}
	type stats struct {
		Bytes  int      `json:"bytes"`
		Energy float64  `json:"energy"`
		IDs    []string `json:"ids"`
	}
	got, err := As[stats](v)
	if err != nil || !reflect.DeepEqual(got, stats{1200, 0.25, []string{"a", "b"}}) {
		t.Errorf("As[stats] = %+v, %v", got, err)
	}
	if s, err := As[string]("x"); err != nil || s != "x" {
		t.Errorf("As[string] = %q, %v", s, err)
	}
	if a, err := As[any](v); err != nil || !reflect.DeepEqual(a, v) {
		t.Errorf("As[any] = %v, %v", a, err)
	}
	if _, err := As[bool]("x"); err == nil {
		t.Error("As[bool] of a string: no error")
	}
	if _, err := As[float64](math.NaN()); err == nil {
		t.Error("As[float64] of NaN through JSON: no error")
	}
}

func TestLocalValue(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, `{"type":"null"}`},
		{"", `{"type":"string","value":""}`},
		{"x", `{"type":"string","value":"x"}`},
		{true, `{"type":"boolean","value":true}`},
		{false, `{"type":"boolean","value":false}`},
		{0, `{"type":"number","value":0}`},
		{2.5, `{"type":"number","value":2.5}`},
		{math.NaN(), `{"type":"number","value":"NaN"}`},
		{math.Inf(-1), `{"type":"number","value":"-Infinity"}`},
		{math.Copysign(0, -1), `{"type":"number","value":"-0"}`},
		{[]any{1, "a"}, `{"type":"array","value":[{"type":"number","value":1},{"type":"string","value":"a"}]}`},
		{[]string{"a"}, `{"type":"array","value":[{"type":"string","value":"a"}]}`},
		{map[string]any{"k": nil}, `{"type":"object","value":[["k",{"type":"null"}]]}`},
		{Node{SharedID: "s1"}, `{"sharedId":"s1"}`},
	} {
		lv, err := LocalValue(tc.in)
		if err != nil {
			t.Errorf("%#v: %v", tc.in, err)
			continue
		}
		got, _ := json.Marshal(lv)
		if string(got) != tc.want {
			t.Errorf("%#v: %s, want %s", tc.in, got, tc.want)
		}
	}
	if _, err := LocalValue(struct{}{}); err == nil {
		t.Error("a struct was sent")
	}
}

func TestUserJS(t *testing.T) {
	got, err := UserJS(map[string]any{"b.int": 1, "a.str": `say "hi"`, "c.bool": false})
	if err != nil {
		t.Fatal(err)
	}
	want := "// Written by palabre/e2e/bidi for one test run.\n" +
		`user_pref("a.str", "say \"hi\"");` + "\n" +
		`user_pref("b.int", 1);` + "\n" +
		`user_pref("c.bool", false);` + "\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := UserJS(map[string]any{"x": 1.5}); err == nil {
		t.Error("a float pref was written")
	}
	if _, err := UserJS(DefaultPrefs); err != nil {
		t.Errorf("DefaultPrefs: %v", err)
	}
}
