package cuda

// KernelNames lists the kernels of [KernelSource] that [Open] looks up; a
// missing one is an error at Open, not at the first launch.
var KernelNames = []string{
	"patchify", "embed", "layernorm", "bias_act", "softmax_rows", "lens_gather", "effect_scale",
	"attn_fused", "fill_pad",
}

// AttnFusedShared is the dynamic shared memory of one attn_fused block in
// bytes: Qᵀ, Kᵀ and the scores [64][65] each, V [64][64].
const AttnFusedShared = (3*64*65 + 64*64) * 4

// KernelSource is the CUDA C of every kernel, compiled once per process by
// NVRTC for the device's architecture. It includes no headers (NVRTC has
// none by default): expf, erff, sqrtf, fmaxf and the warp shuffles are
// device built-ins. All buffers are float32, row-major. Kernels with a
// grid-stride loop accept any grid; the others state the grid they assume.
// Block sizes are multiples of 32.
const KernelSource = `
#define NL_NEG_INF (-3.402823466e38f)
#ifndef NL_DYN_SMEM
#define NL_DYN_SMEM extern __shared__ float
#endif

__device__ __forceinline__ float nl_warp_sum(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o, 32);
	return v;
}

__device__ __forceinline__ float nl_warp_max(float v) {
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o, 32));
	return v;
}

// nl_block_sum returns the sum of v over the block to every thread; red
// holds 33 floats of shared memory. blockDim.x is a multiple of 32.
__device__ float nl_block_sum(float v, float* red) {
	const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
	v = nl_warp_sum(v);
	__syncthreads();
	if (lane == 0) red[w] = v;
	__syncthreads();
	if (w == 0) {
		float s = lane < nw ? red[lane] : 0.0f;
		s = nl_warp_sum(s);
		if (lane == 0) red[32] = s;
	}
	__syncthreads();
	return red[32];
}

// patchify cuts pixels [B, 3, S, S] into patches [B*P, 3*p*p], P = (S/p)^2:
// patch gy*g+gx, column c*p*p + i*p + j. Grid-stride over the output.
extern "C" __global__ void patchify(const float* pix, float* out, int B, int S, int p) {
	const int g = S / p, P = g * g, pp = p * p, cols = 3 * pp;
	const long long n = (long long)B * P * cols;
	for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < n;
	     idx += (long long)gridDim.x * blockDim.x) {
		const int col = (int)(idx % cols);
		const long long row = idx / cols;
		const int patch = (int)(row % P), b = (int)(row / P);
		const int c = col / pp, rem = col % pp, i = rem / p, j = rem % p;
		const int gy = patch / g, gx = patch % g;
		out[idx] = pix[(((long long)b * 3 + c) * S + gy * p + i) * S + gx * p + j];
	}
}

// embed writes x [B, T, D]: x[b,0] = cls + pos[0], x[b,t] = conv[b,t-1] + pos[t]
// for conv [B, T-1, D]. Grid-stride over x.
extern "C" __global__ void embed(const float* conv, const float* cls, const float* pos, float* x,
                                 int B, int T, int D) {
	const long long n = (long long)B * T * D;
	for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < n;
	     idx += (long long)gridDim.x * blockDim.x) {
		const int d = (int)(idx % D);
		const long long bt = idx / D;
		const int t = (int)(bt % T);
		const long long b = bt / T;
		const float v = t == 0 ? cls[d] : conv[(b * (T - 1) + t - 1) * D + d];
		x[idx] = v + pos[(long long)t * D + d];
	}
}

// layernorm normalizes row r of x (at x + r*xstride, D values) into y (at
// y + r*ystride), one block per row (grid = rows):
//   v = x_r (+ addbias, written back to x when addbias is not null)
//   mu = mean(v), sigma = sqrt(mean((v-mu)^2) + eps), y_r = (v-mu)/sigma*gamma + beta
// and stores mu and sigma at mean[r], sigma[r] when those are not null.
// y may alias x.
extern "C" __global__ void layernorm(float* x, long long xstride, const float* addbias,
                                     float* y, long long ystride, const float* gamma,
                                     const float* beta, float* mean, float* sigma, int D,
                                     float eps) {
	__shared__ float red[33];
	const int r = blockIdx.x;
	float* xr = x + (long long)r * xstride;
	float* yr = y + (long long)r * ystride;
	float s = 0.0f;
	for (int i = threadIdx.x; i < D; i += blockDim.x) {
		float v = xr[i];
		if (addbias != 0) {
			v += addbias[i];
			xr[i] = v;
		}
		s += v;
	}
	const float mu = nl_block_sum(s, red) / (float)D;
	float ss = 0.0f;
	for (int i = threadIdx.x; i < D; i += blockDim.x) {
		const float d = xr[i] - mu;
		ss += d * d;
	}
	const float sd = sqrtf(nl_block_sum(ss, red) / (float)D + eps);
	const float inv = 1.0f / sd;
	for (int i = threadIdx.x; i < D; i += blockDim.x) {
		yr[i] = (xr[i] - mu) * inv * gamma[i] + beta[i];
	}
	if (threadIdx.x == 0) {
		if (mean != 0) mean[r] = mu;
		if (sigma != 0) sigma[r] = sd;
	}
}

// bias_act sets x[r,c] = act(x[r,c] + bias[c]) for x [rows, cols]:
// act 0 is the identity, 1 QuickGELU v*sigmoid(1.702v), 2 the exact erf GELU.
// Grid: x over columns, y over rows (grid-stride in both).
extern "C" __global__ void bias_act(float* x, const float* bias, int rows, int cols, int act) {
	for (int r = blockIdx.y; r < rows; r += gridDim.y) {
		float* xr = x + (long long)r * cols;
		for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
			float v = xr[c] + bias[c];
			if (act == 1) {
				v = v / (1.0f + expf(-1.702f * v));
			} else if (act == 2) {
				v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
			}
			xr[c] = v;
		}
	}
}

// fill_pad sets, in each of the rows of x (row r at x + r*ld), column from
// to 1 and the columns after it, up to ld, to 0: the constant column that
// lets a matrix product add a bias (a weight matrix's extra column).
// Grid-stride over the rows.
extern "C" __global__ void fill_pad(float* x, long long rows, int ld, int from) {
	for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
	     r += (long long)gridDim.x * blockDim.x) {
		float* xr = x + r * ld;
		xr[from] = 1.0f;
		for (int c = from + 1; c < ld; c++) xr[c] = 0.0f;
	}
}

// softmax_rows replaces each row of s [rows, n] by its softmax, one warp per
// row: grid = ceil(rows / (blockDim.x/32)).
extern "C" __global__ void softmax_rows(float* s, int rows, int n) {
	const int lane = threadIdx.x & 31;
	const int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
	if (r >= rows) return;
	float* row = s + (long long)r * n;
	float m = NL_NEG_INF;
	for (int j = lane; j < n; j += 32) m = fmaxf(m, row[j]);
	m = nl_warp_max(m);
	float sum = 0.0f;
	for (int j = lane; j < n; j += 32) {
		const float e = expf(row[j] - m);
		row[j] = e;
		sum += e;
	}
	sum = nl_warp_sum(sum);
	const float inv = 1.0f / sum;
	for (int j = lane; j < n; j += 32) row[j] *= inv;
}

// lens_gather takes the CLS-query row of each head's pattern, scores
// [B, H, T, T], and ln_1's mu and sigma [B, T] of the same block, and writes
// for column k = k0 + h:
//   w[b, t, k] = A^h[0, t] / sigma[b, t]                      w is [B, T, K]
//   one[b, k]  = sum_t w[b, t, k]                             [B, K]
//   mub[b, k]  = sum_t w[b, t, k] * mu[b, t]                  [B, K]
// One block per (b, h): grid = B*H.
extern "C" __global__ void lens_gather(const float* scores, const float* sigma, const float* mu,
                                       float* w, float* one, float* mub, int B, int H, int T,
                                       int K, int k0) {
	__shared__ float red[33];
	const int bh = blockIdx.x, b = bh / H, h = bh % H;
	const float* a = scores + (long long)bh * T * T;
	float s1 = 0.0f, s2 = 0.0f;
	for (int t = threadIdx.x; t < T; t += blockDim.x) {
		const float v = a[t] / sigma[(long long)b * T + t];
		w[((long long)b * T + t) * K + k0 + h] = v;
		s1 += v;
		s2 += v * mu[(long long)b * T + t];
	}
	s1 = nl_block_sum(s1, red);
	s2 = nl_block_sum(s2, red);
	if (threadIdx.x == 0) {
		one[(long long)b * K + k0 + h] = s1;
		mub[(long long)b * K + k0 + h] = s2;
	}
}

// effect_scale multiplies e[b, :] (per values each) by 100/(||emb[b]|| * sigma[b])
// for emb [B, d]: grid.y = B, grid.x grid-strides over the values.
extern "C" __global__ void effect_scale(float* e, const float* emb, const float* sigma,
                                        long long per, int d) {
	__shared__ float red[33];
	const int b = blockIdx.y;
	float s = 0.0f;
	for (int i = threadIdx.x; i < d; i += blockDim.x) {
		const float v = emb[(long long)b * d + i];
		s += v * v;
	}
	const float f = 100.0f / (sqrtf(nl_block_sum(s, red)) * sigma[b]);
	float* eb = e + (long long)b * per;
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < per;
	     i += (long long)gridDim.x * blockDim.x) {
		eb[i] *= f;
	}
}

// attn_fused is a block's attention without the [T, T] scores in memory:
// for image b and head h, z_h = softmax(Q_h K_hᵀ·scale)·V_h, with Q, K, V
// the thirds of qkv [B*T, 3D] (head h at columns h*dh of each) and z
// [B*T, D] (head h at columns h*dh). dh ≤ 64. One block of 256 threads per
// (64 queries, b*H + h): grid (ceil(T/64), B*H), AttnFusedShared bytes of
// dynamic shared memory. Keys go by tiles of 64 with the online softmax
// (running max and sum per query). Thread (ty, tx) = (tid/16, tid%16) owns
// queries ty+16i and, in a tile, keys tx+16j and output columns tx+16j
// (i, j < 4). With pat not null, the blocks of the first query tile also
// write row 0 of the pattern, softmax(q_0 Kᵀ·scale) [T], at
// pat + (b*H + h)*patStride.
extern "C" __global__ void attn_fused(const float* qkv, float* z, float* pat, long long patStride,
                                      int B, int H, int T, int D, int dh, float scale) {
	NL_DYN_SMEM nl_smem[];
	float* qT = nl_smem;                 // [64 d][65]: scaled queries, transposed
	float* kT = nl_smem + 64 * 65;       // [64 d][65]: keys, transposed
	float* ss = nl_smem + 2 * 64 * 65;   // [64 queries][65]: scores, then probabilities
	float* vs = nl_smem + 3 * 64 * 65;   // [64 keys][64 d]
	const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
	const int bh = blockIdx.y, b = bh / H, h = bh % H;
	const int q0 = blockIdx.x * 64;
	const long long ld = 3LL * D;
	const float* base = qkv + (long long)b * T * ld + (long long)h * dh;
	for (int i = tid; i < 64 * 64; i += 256) {
		const int r = i >> 6, d = i & 63;
		float v = 0.0f;
		if (q0 + r < T && d < dh) v = base[(long long)(q0 + r) * ld + d] * scale;
		qT[d * 65 + r] = v;
	}
	float o[4][4], m[4], l[4];
	for (int i = 0; i < 4; i++) {
		m[i] = NL_NEG_INF;
		l[i] = 0.0f;
		for (int j = 0; j < 4; j++) o[i][j] = 0.0f;
	}
	for (int k0 = 0; k0 < T; k0 += 64) {
		__syncthreads(); // the previous tile's readers are done (and qT is written)
		for (int i = tid; i < 64 * 64; i += 256) {
			const int j = i >> 6, d = i & 63;
			float kv = 0.0f, vv = 0.0f;
			if (k0 + j < T && d < dh) {
				const float* row = base + (long long)(k0 + j) * ld + d;
				kv = row[D];
				vv = row[2 * D];
			}
			kT[d * 65 + j] = kv;
			vs[j * 64 + d] = vv;
		}
		__syncthreads();
		float acc[4][4];
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
		for (int d = 0; d < 64; d++) {
			float a[4], c[4];
			for (int i = 0; i < 4; i++) a[i] = qT[d * 65 + ty + 16 * i];
			for (int j = 0; j < 4; j++) c[j] = kT[d * 65 + tx + 16 * j];
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], c[j], acc[i][j]);
		}
		// Online softmax: the 16 threads of a query row are one half-warp.
		float corr[4];
		for (int i = 0; i < 4; i++) {
			float t = NL_NEG_INF;
			for (int j = 0; j < 4; j++) {
				if (k0 + tx + 16 * j >= T) acc[i][j] = NL_NEG_INF;
				t = fmaxf(t, acc[i][j]);
			}
			for (int s = 8; s > 0; s >>= 1) t = fmaxf(t, __shfl_xor_sync(0xffffffffu, t, s, 32));
			const float mn = fmaxf(m[i], t);
			corr[i] = expf(m[i] - mn);
			float ps = 0.0f;
			for (int j = 0; j < 4; j++) {
				const float p = k0 + tx + 16 * j < T ? expf(acc[i][j] - mn) : 0.0f;
				ss[(ty + 16 * i) * 65 + tx + 16 * j] = p;
				ps += p;
			}
			for (int s = 8; s > 0; s >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, s, 32);
			l[i] = l[i] * corr[i] + ps;
			m[i] = mn;
		}
		__syncwarp(); // a row's probabilities come from its own half-warp
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++) o[i][j] *= corr[i];
		const int kn = min(64, T - k0);
		for (int k = 0; k < kn; k++) {
			float p[4], v[4];
			for (int i = 0; i < 4; i++) p[i] = ss[(ty + 16 * i) * 65 + k];
			for (int j = 0; j < 4; j++) v[j] = vs[k * 64 + tx + 16 * j];
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++) o[i][j] = fmaf(p[i], v[j], o[i][j]);
		}
	}
	for (int i = 0; i < 4; i++) {
		const int q = q0 + ty + 16 * i;
		if (q >= T) continue;
		const float inv = 1.0f / l[i];
		float* zr = z + ((long long)b * T + q) * D + (long long)h * dh;
		for (int j = 0; j < 4; j++) {
			const int d = tx + 16 * j;
			if (d < dh) zr[d] = o[i][j] * inv;
		}
	}
	if (pat == 0 || q0 != 0) return;
	// Row 0 of the pattern, from the final max and sum of query 0 (held
	// by the threads with ty = 0).
	__syncthreads();
	if (tid == 0) {
		ss[0] = m[0];
		ss[1] = l[0];
	}
	__syncthreads();
	const float m0 = ss[0], inv0 = 1.0f / ss[1];
	float* pr = pat + (long long)bh * patStride;
	for (int t = tid; t < T; t += 256) {
		const float* kr = base + (long long)t * ld + D;
		float s = 0.0f;
		for (int d = 0; d < dh; d++) s = fmaf(qT[d * 65], kr[d], s);
		pr[t] = expf(s - m0) * inv0;
	}
}
`
