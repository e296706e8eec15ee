package mmap

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, mmap")},
		{"page", make([]byte, 4097)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			require.NoError(t, os.WriteFile(p, tt.data, 0o644))
			f, err := Open(p)
			require.NoError(t, err)
			assert.Equal(t, len(tt.data), len(f.Data))
			assert.Equal(t, string(tt.data), string(f.Data))
			require.NoError(t, f.Close())
			require.NoError(t, f.Close())
			assert.Nil(t, f.Data)
		})
	}
}

func TestOpenMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.bin")
	_, err := Open(p)
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	assert.Contains(t, err.Error(), p)
}
