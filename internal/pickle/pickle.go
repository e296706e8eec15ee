package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

var (
	// ErrFormat is returned, wrapped, for input that is not a valid pickle
	// or uses an unsupported opcode.
	ErrFormat = errors.New("pickle: bad format")
	// ErrTruncated is returned, wrapped, when the input ends before STOP.
	ErrTruncated = errors.New("pickle: truncated")
)

// Global is a class or function named in the pickle, such as
// {"torch._utils", "_rebuild_tensor_v2"}.
type Global struct {
	Module, Name string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list (or set). It is a pointer so that APPEND after
// memoization changes every reference, as in Python.
type List struct {
	Items []any
}

// Item is one key/value pair of a [Dict].
type Item struct {
	Key, Value any
}

// Dict is a Python dict or OrderedDict, its items in insertion order. A key
// set twice appears twice; [Dict.Get] returns the last value, as Python would.
type Dict struct {
	Items []Item
}

// Get returns the value of the last item whose key is the string key.
func (d *Dict) Get(key string) (any, bool) {
	for i := len(d.Items) - 1; i >= 0; i-- {
		if k, ok := d.Items[i].Key.(string); ok && k == key {
			return d.Items[i].Value, true
		}
	}
	return nil, false
}

// Object is an instance that the decoder does not interpret: its class, the
// arguments it was built from, the state given by BUILD (nil if none), and
// any items or list items added with SETITEM(S) or APPEND(S).
type Object struct {
	Class     Global
	Args      Tuple
	State     any
	Items     []Item
	ListItems []any
}

// Decoder decodes pickles. Its zero value decodes plain data and fails on
// persistent ids.
type Decoder struct {
	// Persistent resolves a persistent id (BINPERSID, PERSID). A nil
	// Persistent makes persistent ids an error.
	Persistent func(pid any) (any, error)
	// Reduce, when not nil, is offered every REDUCE and NEWOBJ before the
	// default handling. It returns ok=false to decline, leaving the value
	// to the decoder: a *Dict for collections.OrderedDict and builtins.dict,
	// and an *Object otherwise.
	Reduce func(class Global, args Tuple) (v any, ok bool, err error)
}

// Decode decodes the pickle at the start of b and returns its value and the
// number of bytes read, up to and including STOP.
func (d *Decoder) Decode(b []byte) (any, int, error) {
	s := state{d: d, b: b, memo: make(map[uint64]any)}
	v, err := s.run()
	return v, s.pos, err
}

// Unmarshal decodes the pickle at the start of b with a zero [Decoder].
func Unmarshal(b []byte) (any, error) {
	v, _, err := (&Decoder{}).Decode(b)
	return v, err
}

type state struct {
	d     *Decoder
	b     []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
}

func (s *state) errf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrFormat, s.pos, fmt.Sprintf(format, args...))
}

func (s *state) read(n uint64) ([]byte, error) {
	if n > uint64(len(s.b)-s.pos) {
		return nil, fmt.Errorf("%w: at byte %d: need %d bytes, %d remain", ErrTruncated, s.pos, n, len(s.b)-s.pos)
	}
	p := s.b[s.pos : s.pos+int(n)]
	s.pos += int(n)
	return p, nil
}

func (s *state) readUint(n int) (uint64, error) {
	p, err := s.read(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v, nil
}

func (s *state) readLine() (string, error) {
	i := bytes.IndexByte(s.b[s.pos:min(len(s.b), s.pos+1<<16)], '\n')
	if i < 0 {
		if len(s.b)-s.pos < 1<<16 {
			return "", fmt.Errorf("%w: at byte %d: line without newline", ErrTruncated, s.pos)
		}
		return "", s.errf("line longer than 64 KiB")
	}
	line := string(s.b[s.pos : s.pos+i])
	s.pos += i + 1
	return strings.TrimSuffix(line, "\r"), nil
}

func (s *state) push(v any) { s.stack = append(s.stack, v) }

func (s *state) pop() (any, error) {
	n := len(s.stack)
	if n == 0 || (len(s.marks) > 0 && s.marks[len(s.marks)-1] == n) {
		return nil, s.errf("pop from an empty stack")
	}
	v := s.stack[n-1]
	s.stack = s.stack[:n-1]
	return v, nil
}

func (s *state) top() (any, error) {
	n := len(s.stack)
	if n == 0 || (len(s.marks) > 0 && s.marks[len(s.marks)-1] == n) {
		return nil, s.errf("empty stack")
	}
	return s.stack[n-1], nil
}

// popMark pops everything above the last mark, and the mark.
func (s *state) popMark() ([]any, error) {
	if len(s.marks) == 0 {
		return nil, s.errf("no mark on the stack")
	}
	m := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	items := append([]any(nil), s.stack[m:]...)
	s.stack = s.stack[:m]
	return items, nil
}

func (s *state) run() (any, error) {
	for {
		if s.pos >= len(s.b) {
			return nil, fmt.Errorf("%w: no STOP opcode after %d bytes", ErrTruncated, s.pos)
		}
		op := s.b[s.pos]
		s.pos++
		if op == '.' { // STOP
			v, err := s.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := s.step(op); err != nil {
			return nil, err
		}
	}
}

func (s *state) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		p, err := s.readUint(1)
		if err != nil {
			return err
		}
		if p > 5 {
			return s.errf("unsupported protocol %d", p)
		}
	case 0x95: // FRAME: a length we do not need, since all input is in memory
		_, err := s.readUint(8)
		return err
	case '(': // MARK
		s.marks = append(s.marks, len(s.stack))
	case 'N':
		s.push(nil)
	case 0x88:
		s.push(true)
	case 0x89:
		s.push(false)
	case 'J': // BININT
		v, err := s.readUint(4)
		if err != nil {
			return err
		}
		s.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := s.readUint(1)
		if err != nil {
			return err
		}
		s.push(int64(v))
	case 'M': // BININT2
		v, err := s.readUint(2)
		if err != nil {
			return err
		}
		s.push(int64(v))
	case 0x8a, 0x8b: // LONG1, LONG4
		size := 1
		if op == 0x8b {
			size = 4
		}
		n, err := s.readUint(size)
		if err != nil {
			return err
		}
		p, err := s.read(n)
		if err != nil {
			return err
		}
		s.push(decodeLong(p))
	case 'G': // BINFLOAT, big-endian
		p, err := s.read(8)
		if err != nil {
			return err
		}
		s.push(math.Float64frombits(binary.BigEndian.Uint64(p)))
	case 'X', 0x8c, 0x8d, 'T', 'U': // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING
		p, err := s.readCounted(op)
		if err != nil {
			return err
		}
		s.push(string(p))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		p, err := s.readCounted(op)
		if err != nil {
			return err
		}
		s.push(append([]byte(nil), p...))
	case 'V': // UNICODE, raw-unicode-escape text
		line, err := s.readLine()
		if err != nil {
			return err
		}
		v, err := unescapeRaw(line)
		if err != nil {
			return s.errf("%v", err)
		}
		s.push(v)
	case 'I', 'L', 'F': // INT, LONG, FLOAT as text
		return s.textNumber(op)
	case ')':
		s.push(Tuple{})
	case ']':
		s.push(&List{})
	case '}':
		s.push(&Dict{})
	case 0x8f: // EMPTY_SET
		s.push(&List{})
	case 't', 'l', 'd', 0x91: // TUPLE, LIST, DICT, FROZENSET
		items, err := s.popMark()
		if err != nil {
			return err
		}
		switch op {
		case 't':
			s.push(Tuple(items))
		case 'l', 0x91:
			s.push(&List{Items: items})
		case 'd':
			if len(items)%2 != 0 {
				return s.errf("DICT with an odd number of items")
			}
			d := &Dict{}
			for i := 0; i < len(items); i += 2 {
				d.Items = append(d.Items, Item{items[i], items[i+1]})
			}
			s.push(d)
		}
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op - 0x84)
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := s.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		s.push(t)
	case 'q', 'r', 'p', 0x94: // BINPUT, LONG_BINPUT, PUT, MEMOIZE
		return s.put(op)
	case 'h', 'j', 'g': // BINGET, LONG_BINGET, GET
		return s.get(op)
	case '0': // POP
		if len(s.marks) > 0 && s.marks[len(s.marks)-1] == len(s.stack) {
			_, err := s.popMark()
			return err
		}
		_, err := s.pop()
		return err
	case '1': // POP_MARK
		_, err := s.popMark()
		return err
	case '2': // DUP
		v, err := s.top()
		if err != nil {
			return err
		}
		s.push(v)
	case 'a', 'e', 0x90: // APPEND, APPENDS, ADDITEMS
		return s.appendItems(op)
	case 's', 'u': // SETITEM, SETITEMS
		return s.setItems(op)
	case 'c', 0x93: // GLOBAL, STACK_GLOBAL
		return s.global(op)
	case 'R', 0x81, 0x92: // REDUCE, NEWOBJ, NEWOBJ_EX
		return s.reduce(op)
	case 'i', 'o': // INST, OBJ
		return s.inst(op)
	case 'b': // BUILD
		st, err := s.pop()
		if err != nil {
			return err
		}
		target, err := s.top()
		if err != nil {
			return err
		}
		if o, ok := target.(*Object); ok {
			o.State = st
		}
		// BUILD on a dict sets instance attributes (an OrderedDict's
		// _metadata); on values built by Decoder.Reduce it is ignored too.
	case 'Q', 'P': // BINPERSID, PERSID
		var pid any
		if op == 'Q' {
			v, err := s.pop()
			if err != nil {
				return err
			}
			pid = v
		} else {
			line, err := s.readLine()
			if err != nil {
				return err
			}
			pid = line
		}
		if s.d.Persistent == nil {
			return s.errf("persistent id without a resolver")
		}
		v, err := s.d.Persistent(pid)
		if err != nil {
			return err
		}
		s.push(v)
	default:
		return s.errf("unsupported opcode 0x%02x", op)
	}
	return nil
}

func (s *state) readCounted(op byte) ([]byte, error) {
	size := 4
	switch op {
	case 0x8c, 'U', 'C':
		size = 1
	case 0x8d, 0x8e, 0x96:
		size = 8
	}
	n, err := s.readUint(size)
	if err != nil {
		return nil, err
	}
	return s.read(n)
}

func decodeLong(p []byte) any {
	if len(p) == 0 {
		return int64(0)
	}
	if len(p) <= 8 {
		var v uint64
		for i := len(p) - 1; i >= 0; i-- {
			v = v<<8 | uint64(p[i])
		}
		shift := 64 - 8*uint(len(p))
		return int64(v<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(p))
	for i, c := range p {
		be[len(p)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if p[len(p)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(p))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

func (s *state) textNumber(op byte) error {
	line, err := s.readLine()
	if err != nil {
		return err
	}
	switch op {
	case 'I':
		switch line {
		case "00":
			s.push(false)
			return nil
		case "01":
			s.push(true)
			return nil
		}
		fallthrough
	case 'L':
		line = strings.TrimSuffix(line, "L")
		if v, err := strconv.ParseInt(line, 10, 64); err == nil {
			s.push(v)
			return nil
		}
		if len(line) > 1<<12 {
			return s.errf("integer of %d digits", len(line))
		}
		v, ok := new(big.Int).SetString(line, 10)
		if !ok {
			return s.errf("bad integer %q", line)
		}
		s.push(v)
	case 'F':
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return s.errf("bad float %q", line)
		}
		s.push(v)
	}
	return nil
}

func (s *state) put(op byte) error {
	var idx uint64
	var err error
	switch op {
	case 'q':
		idx, err = s.readUint(1)
	case 'r':
		idx, err = s.readUint(4)
	case 'p':
		var line string
		if line, err = s.readLine(); err == nil {
			idx, err = strconv.ParseUint(line, 10, 32)
			if err != nil {
				return s.errf("bad PUT index %q", line)
			}
		}
	case 0x94:
		idx = uint64(len(s.memo))
	}
	if err != nil {
		return err
	}
	v, err := s.top()
	if err != nil {
		return err
	}
	s.memo[idx] = v
	return nil
}

func (s *state) get(op byte) error {
	var idx uint64
	var err error
	switch op {
	case 'h':
		idx, err = s.readUint(1)
	case 'j':
		idx, err = s.readUint(4)
	case 'g':
		var line string
		if line, err = s.readLine(); err == nil {
			idx, err = strconv.ParseUint(line, 10, 32)
			if err != nil {
				return s.errf("bad GET index %q", line)
			}
		}
	}
	if err != nil {
		return err
	}
	v, ok := s.memo[idx]
	if !ok {
		return s.errf("memo %d was never set", idx)
	}
	s.push(v)
	return nil
}

func (s *state) appendItems(op byte) error {
	var items []any
	if op == 'a' {
		v, err := s.pop()
		if err != nil {
			return err
		}
		items = []any{v}
	} else {
		var err error
		if items, err = s.popMark(); err != nil {
			return err
		}
	}
	target, err := s.top()
	if err != nil {
		return err
	}
	switch t := target.(type) {
	case *List:
		t.Items = append(t.Items, items...)
	case *Object:
		t.ListItems = append(t.ListItems, items...)
	default:
		return s.errf("APPEND to a %T", target)
	}
	return nil
}

func (s *state) setItems(op byte) error {
	var items []any
	if op == 's' {
		v, err := s.pop()
		if err != nil {
			return err
		}
		k, err := s.pop()
		if err != nil {
			return err
		}
		items = []any{k, v}
	} else {
		var err error
		if items, err = s.popMark(); err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return s.errf("SETITEMS with an odd number of items")
		}
	}
	target, err := s.top()
	if err != nil {
		return err
	}
	var dst *[]Item
	switch t := target.(type) {
	case *Dict:
		dst = &t.Items
	case *Object:
		dst = &t.Items
	default:
		return s.errf("SETITEM on a %T", target)
	}
	for i := 0; i < len(items); i += 2 {
		*dst = append(*dst, Item{items[i], items[i+1]})
	}
	return nil
}

func (s *state) global(op byte) error {
	var g Global
	if op == 'c' {
		mod, err := s.readLine()
		if err != nil {
			return err
		}
		name, err := s.readLine()
		if err != nil {
			return err
		}
		g = Global{mod, name}
	} else {
		name, err := s.pop()
		if err != nil {
			return err
		}
		mod, err := s.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return s.errf("STACK_GLOBAL of %T and %T, want strings", mod, name)
		}
		g = Global{ms, ns}
	}
	s.push(g)
	return nil
}

func (s *state) reduce(op byte) error {
	if op == 0x92 { // NEWOBJ_EX: cls, args, kwargs; kwargs are dropped
		if _, err := s.pop(); err != nil {
			return err
		}
	}
	a, err := s.pop()
	if err != nil {
		return err
	}
	c, err := s.pop()
	if err != nil {
		return err
	}
	args, ok := a.(Tuple)
	if !ok {
		return s.errf("arguments are a %T, want a tuple", a)
	}
	class, ok := c.(Global)
	if !ok {
		return s.errf("call of a %T, want a global", c)
	}
	v, err := s.build(class, args)
	if err != nil {
		return err
	}
	s.push(v)
	return nil
}

func (s *state) inst(op byte) error {
	var class Global
	items, err := s.popMark()
	if err != nil {
		return err
	}
	if op == 'i' {
		mod, err := s.readLine()
		if err != nil {
			return err
		}
		name, err := s.readLine()
		if err != nil {
			return err
		}
		class = Global{mod, name}
	} else {
		if len(items) == 0 {
			return s.errf("OBJ without a class")
		}
		g, ok := items[0].(Global)
		if !ok {
			return s.errf("OBJ of a %T, want a global", items[0])
		}
		class, items = g, items[1:]
	}
	v, err := s.build(class, Tuple(items))
	if err != nil {
		return err
	}
	s.push(v)
	return nil
}

func (s *state) build(class Global, args Tuple) (any, error) {
	if s.d.Reduce != nil {
		v, ok, err := s.d.Reduce(class, args)
		if err != nil {
			return nil, err
		}
		if ok {
			return v, nil
		}
	}
	switch class {
	case Global{"collections", "OrderedDict"}, Global{"builtins", "dict"}, Global{"__builtin__", "dict"}:
		if len(args) == 0 {
			return &Dict{}, nil
		}
	case Global{"builtins", "set"}, Global{"__builtin__", "set"},
		Global{"builtins", "frozenset"}, Global{"__builtin__", "frozenset"}: // set(list) in protocol 2
		if len(args) == 0 {
			return &List{}, nil
		}
		if l, ok := args[0].(*List); ok && len(args) == 1 {
			return &List{Items: append([]any(nil), l.Items...)}, nil
		}
	case Global{"_codecs", "encode"}: // how protocol 2 spells bytes
		if len(args) >= 1 {
			if str, ok := args[0].(string); ok {
				return latin1(str), nil
			}
		}
	}
	return &Object{Class: class, Args: args}, nil
}

func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

// unescapeRaw decodes Python's raw-unicode-escape: \uXXXX and \UXXXXXXXX
// escapes, every other byte a Latin-1 code point.
func unescapeRaw(line string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' && i+1 < len(line) && (line[i+1] == 'u' || line[i+1] == 'U') {
			n := 4
			if line[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(line) {
				return "", fmt.Errorf("short escape in %q", line)
			}
			r, err := strconv.ParseUint(line[i+2:i+2+n], 16, 32)
			if err != nil {
				return "", fmt.Errorf("bad escape in %q", line)
			}
			sb.WriteRune(rune(r))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String(), nil
}
