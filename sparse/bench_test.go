package sparse

import (
	"bufio"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/internal/npy"
)

var fullDir = flag.String("sparse.full", "", "directory written by testdata/sparse/bench_sklearn.py (or \"random\" for the Go stand-in): run BenchmarkOMP30kFull on all its targets")

// bench30k builds the benchmark problem: a 30,000 × 512 dictionary shaped
// like METHOD.md's text pools (unit rows, centred, columns scaled to norm
// 100) and nt unit targets.
func bench30k(nt int) (*Dictionary, *mat.Dense) {
	const m, d = 30000, 512
	rng := rand.New(rand.NewPCG(30, 512))
	e := make([]float64, m*d)
	for i := range m {
		row := e[i*d : (i+1)*d]
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		s := 1 / math.Sqrt(dot64(row, row))
		for j := range row {
			row[j] *= s
		}
	}
	for j := range d {
		var mean, ss float64
		for i := range m {
			mean += e[i*d+j]
		}
		mean /= m
		for i := range m {
			e[i*d+j] -= mean
			ss += e[i*d+j] * e[i*d+j]
		}
		s := 100 / math.Sqrt(ss)
		for i := range m {
			e[i*d+j] *= s
		}
	}
	dict, err := NewDictionary(mat.NewDense(m, d, e))
	if err != nil {
		panic(err)
	}
	y := mat.NewDense(nt, d, nil)
	for i := range nt {
		row := y.RawRowView(i)
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		s := 1 / math.Sqrt(dot64(row, row))
		for j := range row {
			row[j] *= s
		}
	}
	return dict, y
}

// BenchmarkOMP30k codes 16 unit targets per iteration on a 30,000 × 512
// dictionary with k = 128, the size of the reference's text pools.
func BenchmarkOMP30k(b *testing.B) {
	const nt, k = 16, 128
	dict64, y := bench30k(nt)
	dict32, err := dict64.Float32()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dict *Dictionary
	}{{"float32", dict32}, {"float64", dict64}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := OMPBatch(b.Context(), c.dict, y, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*nt), "s/target")
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N*nt), "cpu-s/target")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkOMP30kFull runs OMPBatch once on the 3,072 targets written by
// testdata/sparse/bench_sklearn.py, with -sparse.full=DIR -benchtime=1x,
// and compares the first targets with scikit-learn's coefficients.
func BenchmarkOMP30kFull(b *testing.B) {
	if *fullDir == "" {
		b.Skip("set -sparse.full=DIR (see testdata/sparse/bench_sklearn.py)")
	}
	read := func(name string) *npy.Array {
		a, err := npy.ReadFile(filepath.Join(*fullDir, name))
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	nt := 3072
	if s := os.Getenv("SPARSE_TARGETS"); s != "" {
		nt, _ = strconv.Atoi(s)
	}
	prec := os.Getenv("SPARSE_PRECISION")
	var dict *Dictionary
	var y *mat.Dense
	var err error
	if *fullDir == "random" { // no Python at hand: the Go stand-in problem
		dict, y = bench30k(nt)
		if prec != "float64" {
			if dict, err = dict.Float32(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		ea, ya := read("dict.npy"), read("targets.npy")
		if prec == "float64" {
			dict, err = NewDictionary(mat.NewDense(ea.Shape[0], ea.Shape[1], ea.Float64()))
		} else {
			dict, err = NewDictionary32(ea.Shape[0], ea.Shape[1], ea.Float32())
		}
		if err != nil {
			b.Fatal(err)
		}
		y = mat.NewDense(nt, ya.Shape[1], ya.Float64()[:nt*ya.Shape[1]])
	}
	var res []Result
	var elapsed, cpu time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		res, err = OMPBatch(b.Context(), dict, y, 128)
		elapsed, cpu = time.Since(start), cpuTime()-cpu0
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(elapsed.Seconds()/float64(nt), "s/target")
	b.ReportMetric(cpu.Seconds()/float64(nt), "cpu-s/target")
	b.ReportMetric(peakMiB(), "peak-MiB")
	b.ReportMetric(0, "ns/op")
	b.Logf("%s dictionary, %d targets: %.1f s wall, %.4f s/target, %.4f CPU-s/target, peak RSS %.0f MiB",
		dict.precision(), nt, elapsed.Seconds(), elapsed.Seconds()/float64(nt), cpu.Seconds()/float64(nt), peakMiB())
	if _, err := os.Stat(filepath.Join(*fullDir, "sklearn_coefs.npy")); *fullDir == "random" || err != nil {
		return
	}
	ca := read("sklearn_coefs.npy")
	want := ca.Float64()
	m := ca.Shape[1]
	var worst, worstRel float64
	sameSet := 0
	for t := range min(ca.Shape[0], nt) {
		row := want[t*m : (t+1)*m]
		nz := 0
		for _, v := range row {
			if v != 0 {
				nz++
			}
		}
		same := nz == len(res[t].Atoms)
		for i, a := range res[t].Atoms {
			if row[a] == 0 {
				same = false
			}
			worst = max(worst, math.Abs(row[a]-res[t].Coefs[i]))
			worstRel = max(worstRel, math.Abs(row[a]-res[t].Coefs[i])/math.Abs(row[a]))
		}
		if same {
			sameSet++
		}
	}
	b.Logf("vs scikit-learn (float32 Gram) on %d targets: same atom set %d, worst |Δcoef| %.3g (relative %.3g)", min(ca.Shape[0], nt), sameSet, worst, worstRel)
}

func (dict *Dictionary) precision() string {
	if dict.e32 != nil {
		return "float32"
	}
	return "float64"
}

// peakMiB returns the peak resident set size of the process (VmHWM), MiB.
func peakMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return math.NaN()
}
