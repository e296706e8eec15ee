package shapeseg

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/segment"
)

func TestSource(t *testing.T) {
	w := shapes.HeldOut(3, 4)
	for _, predict := range []bool{false, true} {
		src := Source{World: w, Predict: predict}
		require.Equal(t, 4, src.Len())
		for i := range src.Len() {
			smp, err := src.Sample(i)
			require.NoError(t, err)
			want := w.At(i)
			if predict {
				require.Equal(t, -1, smp.Class)
			} else {
				require.Equal(t, int(want.Class), smp.Class)
				require.Equal(t, want.Class.String(), shapes.ClassNames()[smp.Class])
			}
			truth, err := segment.ResizeMask(smp.Mask, w.Width, segment.ReferenceMask)
			require.NoError(t, err)
			fg := 0
			for p, v := range truth {
				require.Equal(t, want.Foreground[p], v != 0, "pixel %d of sample %d", p, i)
				fg += int(v)
			}
			require.Positive(t, fg)
		}
	}
}

func TestDefaultK(t *testing.T) {
	require.Equal(t, 40, DefaultK(2000))
	require.Equal(t, 20, DefaultK(1000))
	require.Equal(t, 5, DefaultK(10))
}
