package bidi

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"time"
)

// What a script returns comes as a BiDi remote value ({"type": …,
// "value": …}); Decode turns it into plain Go values:
//
//	undefined, null      nil
//	string               string
//	number               float64 (NaN, ±Infinity and -0 included)
//	boolean              bool
//	bigint               *big.Int
//	array, set           []any
//	object, map          map[string]any (a map's non-string keys by fmt.Sprint)
//	date                 time.Time
//	regexp               RegExp
//	node                 Node (its SharedID can be used as an action origin)
//	anything else        Remote (functions, promises, windows, errors…)
//
// An object seen twice in one value (or beyond the serialization depth)
// comes without its contents: it decodes to a Remote.

// RemoteValue is one undecoded remote value.
type RemoteValue struct {
	Type       string          `json:"type"`
	Value      json.RawMessage `json:"value,omitempty"`
	Handle     string          `json:"handle,omitempty"`
	InternalID string          `json:"internalId,omitempty"`
	SharedID   string          `json:"sharedId,omitempty"`
}

// RegExp is a decoded regular expression.
type RegExp struct{ Pattern, Flags string }

// Node is a decoded DOM node.
type Node struct {
	SharedID   string            // to refer to the node in later commands
	NodeType   int               // 1 element, 3 text…
	LocalName  string            // "button"
	Attributes map[string]string // elements' attributes
}

// Remote is a value Decode does not turn into Go: its type and the ids
// the remote end gave it.
type Remote struct{ Type, Handle, InternalID string }

// Decode turns a remote value's JSON into Go values (see above).
func Decode(raw json.RawMessage) (any, error) {
	var rv RemoteValue
	if err := json.Unmarshal(raw, &rv); err != nil {
		return nil, fmt.Errorf("bidi: remote value: %w", err)
	}
	return rv.decode()
}

func (rv RemoteValue) decode() (any, error) {
	switch rv.Type {
	case "undefined", "null":
		return nil, nil
	case "string":
		var s string
		err := rv.into(&s)
		return s, err
	case "boolean":
		var b bool
		err := rv.into(&b)
		return b, err
	case "number":
		return decodeNumber(rv.Value)
	case "bigint":
		var s string
		if err := rv.into(&s); err != nil {
			return nil, err
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("bidi: bigint %q", s)
		}
		return n, nil
	case "date":
		var s string
		if err := rv.into(&s); err != nil {
			return nil, err
		}
		return time.Parse(time.RFC3339Nano, s)
	case "regexp":
		var re RegExp
		err := rv.into(&re)
		return re, err
	}
	if rv.Value == nil {
		return Remote{Type: rv.Type, Handle: rv.Handle, InternalID: rv.InternalID}, nil
	}
	switch rv.Type {
	case "array", "set":
		var items []RemoteValue
		if err := rv.into(&items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := it.decode()
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "object", "map":
		var pairs [][2]json.RawMessage
		if err := rv.into(&pairs); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(pairs))
		for _, p := range pairs {
			key, err := decodeKey(p[0])
			if err != nil {
				return nil, err
			}
			v, err := Decode(p[1])
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
		return out, nil
	case "node":
		var n struct {
			NodeType   int               `json:"nodeType"`
			LocalName  string            `json:"localName"`
			Attributes map[string]string `json:"attributes"`
		}
		if err := rv.into(&n); err != nil {
			return nil, err
		}
		return Node{SharedID: rv.SharedID, NodeType: n.NodeType, LocalName: n.LocalName, Attributes: n.Attributes}, nil
	}
	return Remote{Type: rv.Type, Handle: rv.Handle, InternalID: rv.InternalID}, nil
}

func (rv RemoteValue) into(v any) error {
	if err := json.Unmarshal(rv.Value, v); err != nil {
		return fmt.Errorf("bidi: %s value %s: %w", rv.Type, rv.Value, err)
	}
	return nil
}

// decodeNumber reads a number, or one of the strings BiDi uses for the
// numbers JSON cannot say.
func decodeNumber(raw json.RawMessage) (float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("bidi: number %s", raw)
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "-0":
		return math.Copysign(0, -1), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return 0, fmt.Errorf("bidi: number %q", s)
}

// decodeKey reads an object or map key: a plain string, or a remote value.
func decodeKey(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	v, err := Decode(raw)
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

// As converts a decoded value into T through JSON, for results with a
// known shape: As[[]string](v), As[struct{Bytes float64}](v). Whole
// numbers convert to int types as well.
func As[T any](v any) (T, error) {
	var out T
	if p, ok := any(&out).(*any); ok {
		*p = v
		return out, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return out, fmt.Errorf("bidi: %T as %T: %w", v, out, err)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, fmt.Errorf("bidi: %s as %T: %w", data, out, err)
	}
	return out, nil
}

// LocalValue is how a Go value is sent as a script argument (BiDi's
// LocalValue): nil, strings, bools, numbers, slices and string-keyed maps
// (as arrays and objects), Node (as a reference to the node), or a
// LocalValue already made.
func LocalValue(v any) (any, error) {
	typed := func(t string, v any) map[string]any { return map[string]any{"type": t, "value": v} }
	switch x := v.(type) {
	case nil:
		return map[string]any{"type": "null"}, nil
	case string:
		return typed("string", x), nil
	case bool:
		return typed("boolean", x), nil
	case int:
		return typed("number", x), nil
	case int64:
		return typed("number", x), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return typed("number", "NaN"), nil
		case math.IsInf(x, 1):
			return typed("number", "Infinity"), nil
		case math.IsInf(x, -1):
			return typed("number", "-Infinity"), nil
		case x == 0 && math.Signbit(x):
			return typed("number", "-0"), nil
		}
		return typed("number", x), nil
	case Node:
		return map[string]string{"sharedId": x.SharedID}, nil
	case RemoteValue:
		return x, nil
	case []any:
		items := make([]any, len(x))
		for i, it := range x {
			lv, err := LocalValue(it)
			if err != nil {
				return nil, err
			}
			items[i] = lv
		}
		return typed("array", items), nil
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = typed("string", s)
		}
		return typed("array", items), nil
	case map[string]any:
		pairs := make([][2]any, 0, len(x))
		for k, it := range x {
			lv, err := LocalValue(it)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]any{k, lv})
		}
		return typed("object", pairs), nil
	}
	return nil, fmt.Errorf("bidi: cannot send %T as a script argument", v)
}
