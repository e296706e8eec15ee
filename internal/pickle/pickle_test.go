package pickle

import (
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These pickles were printed by Python 3.13's pickle.dumps of
// {'a': [1, 2.5, None, True], 'b': (b'xy', 's', -3, 2**70, -129)}
// at protocol 2 and, with 'c': {1, 2} added, at protocol 4.
const (
	proto2 = "80027d71002858010000006171015d7102284b014740040000000000004e8865580100000062710328635f636f646563730a656e636f64650a710458020000007879710558060000006c6174696e31710686710752710858010000007371094afdffffff8a090000000000000000404a7fffffff74710a752e"
	proto4 = "8004954b000000000000007d94288c0161945d94284b014740040000000000004e88658c0162942843027879948c0173944afdffffff8a090000000000000000404a7fffffff74948c0163948f94284b014b0290752e"
)

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestDecodePlain(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	wantB := Tuple{[]byte("xy"), "s", int64(-3), big70, int64(-129)}
	for _, tt := range []struct{ name, hex string }{{"protocol 2", proto2}, {"protocol 4", proto4}} {
		t.Run(tt.name, func(t *testing.T) {
			b := mustHex(t, tt.hex)
			v, n, err := (&Decoder{}).Decode(append(b, "trailing"...))
			require.NoError(t, err)
			assert.Equal(t, len(b), n)
			d, ok := v.(*Dict)
			require.True(t, ok, "%T", v)
			a, ok := d.Get("a")
			require.True(t, ok)
			assert.Equal(t, &List{Items: []any{int64(1), 2.5, nil, true}}, a)
			got, ok := d.Get("b")
			require.True(t, ok)
			assert.Equal(t, wantB, got)
			if c, ok := d.Get("c"); ok {
				assert.Equal(t, &List{Items: []any{int64(1), int64(2)}}, c)
			}
		})
	}
}

func TestDecodeProtocol0(t *testing.T) {
	// pickle.dumps([1, 'x', (2,)], protocol=0)
	v, err := Unmarshal([]byte("(lp0\nI1\naVx\np1\na(I2\ntp2\na."))
	require.NoError(t, err)
	assert.Equal(t, &List{Items: []any{int64(1), "x", Tuple{int64(2)}}}, v)
}

func TestDecodeObjects(t *testing.T) {
	// GLOBAL 'collections OrderedDict', EMPTY_TUPLE, REDUCE, then
	// 'k': GLOBAL 'foo Bar' () NEWOBJ {'x': 1} BUILD, SETITEM, STOP.
	b := []byte("\x80\x02ccollections\nOrderedDict\n)R" +
		"X\x01\x00\x00\x00kcfoo\nBar\n)\x81}X\x01\x00\x00\x00xK\x01sbs.")
	v, err := Unmarshal(b)
	require.NoError(t, err)
	d, ok := v.(*Dict)
	require.True(t, ok, "%T", v)
	k, ok := d.Get("k")
	require.True(t, ok)
	o, ok := k.(*Object)
	require.True(t, ok, "%T", k)
	assert.Equal(t, Global{"foo", "Bar"}, o.Class)
	assert.Equal(t, "foo.Bar", o.Class.String())
	assert.Equal(t, &Dict{Items: []Item{{"x", int64(1)}}}, o.State)
}

func TestDecodeSetProtocol2(t *testing.T) {
	// pickle.dumps({'a'}, protocol=2): c__builtin__ set, ([X'a']) TUPLE1 REDUCE.
	v, err := Unmarshal([]byte("\x80\x02c__builtin__\nset\nq\x00]q\x01X\x01\x00\x00\x00aq\x02a\x85q\x03Rq\x04."))
	require.NoError(t, err)
	assert.Equal(t, &List{Items: []any{"a"}}, v)
}

func TestPersistentAndReduce(t *testing.T) {
	// (('storage', 7)) BINPERSID, then GLOBAL 'm f' (pid,) REDUCE.
	b := []byte("\x80\x02cm\nf\n(X\x07\x00\x00\x00storageK\x07tQ\x85R.")
	_, err := Unmarshal(b)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrFormat))
	d := &Decoder{
		Persistent: func(pid any) (any, error) { return pid.(Tuple)[1], nil },
		Reduce: func(class Global, args Tuple) (any, bool, error) {
			if class == (Global{"m", "f"}) {
				return args[0].(int64) * 6, true, nil
			}
			return nil, false, nil
		},
	}
	v, _, err := d.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, int64(42), v)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"no stop", "\x80\x02K\x01", ErrTruncated},
		{"short string", "X\xff\xff\xff\x7fabc", ErrTruncated},
		{"huge bytes8", "\x8e\xff\xff\xff\xff\xff\xff\xff\xff", ErrTruncated},
		{"stop on empty stack", ".", ErrFormat},
		{"unknown opcode", "\xff.", ErrFormat},
		{"bad protocol", "\x80\x09.", ErrFormat},
		{"pop mark without mark", "1.", ErrFormat},
		{"get unset memo", "h\x05.", ErrFormat},
		{"append to int", "K\x01K\x02a.", ErrFormat},
		{"setitem on list", "]K\x01K\x02s.", ErrFormat},
		{"reduce non-global", "K\x01)R.", ErrFormat},
		{"reduce non-tuple args", "cm\nf\nK\x01R.", ErrFormat},
		{"stack global ints", "K\x01K\x02\x93.", ErrFormat},
		{"odd dict", "(K\x01d.", ErrFormat},
		{"tuple2 underflow", "K\x01\x86.", ErrFormat},
		{"pop across mark", "K\x01(\x85.", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.b))
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v is not %v", err, tt.want)
		})
	}
}

func TestDecodeLong(t *testing.T) {
	assert.Equal(t, int64(0), decodeLong(nil))
	assert.Equal(t, int64(-1), decodeLong([]byte{0xff}))
	assert.Equal(t, int64(255), decodeLong([]byte{0xff, 0x00}))
	assert.Equal(t, int64(-129), decodeLong([]byte{0x7f, 0xff}))
	want, _ := new(big.Int).SetString("-1180591620717411303424", 10) // -2**70
	assert.Equal(t, want, decodeLong([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xc0}))
}
