package sparse_test

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/sparse"
)

func ExampleOMP() {
	// Four atoms in R³, one per row.
	atoms := mat.NewDense(4, 3, []float64{
		1, 0, 0,
		0, 1, 0,
		0, 0, 1,
		1, 1, 0,
	})
	dict, err := sparse.NewDictionary(atoms)
	if err != nil {
		fmt.Println(err)
		return
	}
	y := []float64{3, 2, -1} // = 2·atom3 − atom2 + atom0
	res, err := sparse.OMP(dict, y, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("atoms %v coefs %.3f exact %v (%v)\n", res.Atoms, res.Coefs, res.ResidualNorm < 1e-12, res.Stopped)
	// Output:
	// atoms [3 2 0] coefs [2.000 -1.000 1.000] exact true (max atoms)
}

func ExampleOMPBatch() {
	atoms := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	dict, _ := sparse.NewDictionary(atoms)
	targets := mat.NewDense(2, 2, []float64{2, 2, 0, -5})
	res, err := sparse.OMPBatch(context.Background(), dict, targets, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Printf("%v %.3f\n", r.Atoms, r.Coefs)
	}
	// Output:
	// [2] [2.000]
	// [1] [-5.000]
}
