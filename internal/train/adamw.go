package train

import "math"

// adamW is AdamW (Loshchilov & Hutter) on float32 slices, with Adam's
// bias correction and decoupled weight decay:
//
//	m = β₁m + (1-β₁)g,  v = β₂v + (1-β₂)g²
//	p = p - lr·(m/(1-β₁ᵗ) / (√(v/(1-β₂ᵗ)) + ε) + λ·decay·p)
//
// Each element is updated independently, so the step is deterministic.
type adamW struct {
	beta1, beta2, eps, decay float64
	t                        int
	m, v                     [][]float32 // per parameter, like the values
}

func newAdamW(sizes []int, beta1, beta2, eps, decay float64) *adamW {
	a := &adamW{beta1: beta1, beta2: beta2, eps: eps, decay: decay}
	for _, n := range sizes {
		a.m = append(a.m, make([]float32, n))
		a.v = append(a.v, make([]float32, n))
	}
	return a
}

// step updates every params[i] with its gradient grads[i] at rate lr;
// decays[i] says whether weight decay applies to it.
func (a *adamW) step(params, grads [][]float32, decays []bool, lr float64) {
	a.t++
	c1 := 1 - math.Pow(a.beta1, float64(a.t))
	c2 := 1 - math.Pow(a.beta2, float64(a.t))
	b1, b2 := float32(a.beta1), float32(a.beta2)
	for i, p := range params {
		g, m, v := grads[i], a.m[i], a.v[i]
		step := float32(lr / c1)
		sc2 := float32(1 / math.Sqrt(c2))
		eps := float32(a.eps)
		wd := float32(0)
		if decays[i] {
			wd = float32(lr * a.decay)
		}
		for k := range p {
			m[k] = b1*m[k] + (1-b1)*g[k]
			v[k] = b2*v[k] + (1-b2)*g[k]*g[k]
			den := float32(math.Sqrt(float64(v[k])))*sc2 + eps
			p[k] -= step*m[k]/den + wd*p[k]
		}
	}
}

// learningRate is the rate at step s (0-based) of n: linear warmup from
// lr/warmup to lr over the first warmup steps, then a cosine from lr to
// minLR at the last step.
func learningRate(s, n, warmup int, lr, minLR float64) float64 {
	if s < warmup {
		return lr * float64(s+1) / float64(warmup)
	}
	if n-1 <= warmup {
		return lr
	}
	f := float64(s-warmup) / float64(n-1-warmup)
	return minLR + (lr-minLR)*(1+math.Cos(math.Pi*f))/2
}
