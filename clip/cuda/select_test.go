package cuda

import (
	"errors"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name, arg, env, want string
		wantErr              bool
	}{
		{name: "default is cpu", want: CPU},
		{name: "env cpu", env: "cpu", want: CPU},
		{name: "argument wins over env", arg: "cpu", env: "cuda", want: CPU},
		{name: "unknown argument", arg: "tpu", wantErr: true},
		{name: "unknown env", env: "metal", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(DeviceEnv, tc.env)
			got, err := Select(tc.arg)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestSelectCUDAWithoutGPU checks that asking for CUDA where it cannot run
// is an error wrapping ErrUnavailable, never a crash or a silent CPU.
func TestSelectCUDAWithoutGPU(t *testing.T) {
	if Available() == nil {
		t.Skip("a GPU is usable here")
	}
	t.Setenv(DeviceEnv, "cuda")
	_, err := Select("")
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnavailable), "%v", err)
	t.Log(err)

	m, err := clip.New(sizes["B32"])
	require.NoError(t, err)
	enc, err := NewImageEncoder(m)
	require.Error(t, err)
	assert.Nil(t, enc)
	assert.True(t, errors.Is(err, ErrUnavailable), "%v", err)
	if !built {
		assert.ErrorIs(t, err, ErrNotBuilt)
	}
}

// TestParseDevice: the names without opening a GPU, as the lens reads them.
func TestParseDevice(t *testing.T) {
	t.Setenv(DeviceEnv, "")
	for arg, want := range map[string]string{"": CPU, "cpu": CPU, "CPU": CPU, "cuda": CUDA, " GPU ": CUDA} {
		got, err := ParseDevice(arg)
		require.NoError(t, err, arg)
		assert.Equal(t, want, got, arg)
	}
	t.Setenv(DeviceEnv, "cuda")
	got, err := ParseDevice("")
	require.NoError(t, err)
	assert.Equal(t, CUDA, got)
	t.Setenv(DeviceEnv, "metal")
	_, err = ParseDevice("")
	assert.ErrorContains(t, err, `NEURONLENS_DEVICE="metal"`)
}
