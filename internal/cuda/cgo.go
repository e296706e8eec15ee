//go:build cuda && cgo

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stddef.h>

// The few CUDA types used here, declared as the headers do (handles are
// opaque pointers, enums are int), so that no CUDA toolkit is needed to build.
typedef int CUresult;
typedef int CUdevice;
typedef void* CUcontext;
typedef void* CUmodule;
typedef void* CUfunction;
typedef void* CUstream;
typedef void* CUevent;
typedef unsigned long long CUdeviceptr;
typedef void* cublasHandle_t;
typedef int cublasStatus_t;
typedef void* nvrtcProgram;
typedef int nvrtcResult;

static CUresult (*p_cuInit)(unsigned int);
static CUresult (*p_cuDriverGetVersion)(int*);
static CUresult (*p_cuDeviceGetCount)(int*);
static CUresult (*p_cuDeviceGet)(CUdevice*, int);
static CUresult (*p_cuDeviceGetName)(char*, int, CUdevice);
static CUresult (*p_cuDeviceGetAttribute)(int*, int, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRelease)(CUdevice);
static CUresult (*p_cuCtxSetCurrent)(CUcontext);
static CUresult (*p_cuCtxSynchronize)(void);
static CUresult (*p_cuMemAlloc)(CUdeviceptr*, size_t);
static CUresult (*p_cuMemFree)(CUdeviceptr);
static CUresult (*p_cuMemGetInfo)(size_t*, size_t*);
static CUresult (*p_cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
static CUresult (*p_cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
static CUresult (*p_cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
static CUresult (*p_cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
static CUresult (*p_cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
static CUresult (*p_cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
static CUresult (*p_cuMemAllocHost)(void**, size_t);
static CUresult (*p_cuMemFreeHost)(void*);
static CUresult (*p_cuStreamCreate)(CUstream*, unsigned int);
static CUresult (*p_cuStreamDestroy)(CUstream);
static CUresult (*p_cuEventCreate)(CUevent*, unsigned int);
static CUresult (*p_cuEventDestroy)(CUevent);
static CUresult (*p_cuEventRecord)(CUevent, CUstream);
static CUresult (*p_cuEventSynchronize)(CUevent);
static CUresult (*p_cuEventElapsedTime)(float*, CUevent, CUevent);
static CUresult (*p_cuStreamWaitEvent)(CUstream, CUevent, unsigned int);
static CUresult (*p_cuModuleLoadData)(CUmodule*, const void*);
static CUresult (*p_cuModuleUnload)(CUmodule);
static CUresult (*p_cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
static CUresult (*p_cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                                    unsigned, unsigned, CUstream, void**, void**);
static CUresult (*p_cuGetErrorString)(CUresult, const char**);
static CUresult (*p_cuFuncSetAttribute)(CUfunction, int, int);

static cublasStatus_t (*p_cublasCreate)(cublasHandle_t*);
static cublasStatus_t (*p_cublasDestroy)(cublasHandle_t);
static cublasStatus_t (*p_cublasGetVersion)(cublasHandle_t, int*);
static cublasStatus_t (*p_cublasSetMathMode)(cublasHandle_t, int);
static cublasStatus_t (*p_cublasSetStream)(cublasHandle_t, CUstream);
static cublasStatus_t (*p_cublasSgemm)(cublasHandle_t, int, int, int, int, int, const float*,
                                       const float*, int, const float*, int, const float*, float*, int);
static cublasStatus_t (*p_cublasSgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                                     const float*, const float*, int, long long,
                                                     const float*, int, long long, const float*,
                                                     float*, int, long long, int);
static cublasStatus_t (*p_cublasSgemmBatched)(cublasHandle_t, int, int, int, int, int, const float*,
                                              const float* const*, int, const float* const*, int,
                                              const float*, float* const*, int, int);

static nvrtcResult (*p_nvrtcVersion)(int*, int*);
static nvrtcResult (*p_nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int,
                                           const char* const*, const char* const*);
static nvrtcResult (*p_nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
static nvrtcResult (*p_nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
static nvrtcResult (*p_nvrtcGetProgramLog)(nvrtcProgram, char*);
static nvrtcResult (*p_nvrtcGetPTXSize)(nvrtcProgram, size_t*);
static nvrtcResult (*p_nvrtcGetPTX)(nvrtcProgram, char*);
static nvrtcResult (*p_nvrtcGetCUBINSize)(nvrtcProgram, size_t*);
static nvrtcResult (*p_nvrtcGetCUBIN)(nvrtcProgram, char*);
static nvrtcResult (*p_nvrtcDestroyProgram)(nvrtcProgram*);
static nvrtcResult (*p_nvrtcGetNumSupportedArchs)(int*);
static nvrtcResult (*p_nvrtcGetSupportedArchs)(int*);
static const char* (*p_nvrtcGetErrorString)(nvrtcResult);

static void* nl_dlopen(const char* path, char** err) {
	void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) *err = dlerror();
	return h;
}

#define NL_SYM(h, var, name) do { *(void**)(&var) = dlsym(h, name); if (var == NULL) return name; } while (0)
#define NL_SYM2(h, var, n1, n2) do { *(void**)(&var) = dlsym(h, n1); \
	if (var == NULL) *(void**)(&var) = dlsym(h, n2); if (var == NULL) return n1; } while (0)
#define NL_OPT(h, var, name) (*(void**)(&var) = dlsym(h, name))

// nl_bind_* resolve every symbol and return the name of the first missing
// required one, or NULL.
static const char* nl_bind_driver(void* h) {
	NL_SYM(h, p_cuInit, "cuInit");
	NL_SYM(h, p_cuDriverGetVersion, "cuDriverGetVersion");
	NL_SYM(h, p_cuDeviceGetCount, "cuDeviceGetCount");
	NL_SYM(h, p_cuDeviceGet, "cuDeviceGet");
	NL_SYM(h, p_cuDeviceGetName, "cuDeviceGetName");
	NL_SYM(h, p_cuDeviceGetAttribute, "cuDeviceGetAttribute");
	NL_SYM(h, p_cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
	NL_SYM2(h, p_cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
	NL_SYM(h, p_cuCtxSetCurrent, "cuCtxSetCurrent");
	NL_SYM(h, p_cuCtxSynchronize, "cuCtxSynchronize");
	NL_SYM(h, p_cuMemAlloc, "cuMemAlloc_v2");
	NL_SYM(h, p_cuMemFree, "cuMemFree_v2");
	NL_SYM(h, p_cuMemGetInfo, "cuMemGetInfo_v2");
	NL_SYM(h, p_cuMemcpyHtoD, "cuMemcpyHtoD_v2");
	NL_SYM(h, p_cuMemcpyDtoH, "cuMemcpyDtoH_v2");
	NL_SYM(h, p_cuMemcpyDtoD, "cuMemcpyDtoD_v2");
	NL_SYM(h, p_cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
	NL_SYM(h, p_cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
	NL_SYM(h, p_cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
	NL_SYM(h, p_cuMemAllocHost, "cuMemAllocHost_v2");
	NL_SYM(h, p_cuMemFreeHost, "cuMemFreeHost");
	NL_SYM(h, p_cuStreamCreate, "cuStreamCreate");
	NL_SYM2(h, p_cuStreamDestroy, "cuStreamDestroy_v2", "cuStreamDestroy");
	NL_SYM(h, p_cuEventCreate, "cuEventCreate");
	NL_SYM2(h, p_cuEventDestroy, "cuEventDestroy_v2", "cuEventDestroy");
	NL_SYM(h, p_cuEventRecord, "cuEventRecord");
	NL_SYM(h, p_cuEventSynchronize, "cuEventSynchronize");
	NL_SYM(h, p_cuEventElapsedTime, "cuEventElapsedTime");
	NL_SYM(h, p_cuStreamWaitEvent, "cuStreamWaitEvent");
	NL_SYM(h, p_cuModuleLoadData, "cuModuleLoadData");
	NL_SYM(h, p_cuModuleUnload, "cuModuleUnload");
	NL_SYM(h, p_cuModuleGetFunction, "cuModuleGetFunction");
	NL_SYM(h, p_cuLaunchKernel, "cuLaunchKernel");
	NL_SYM(h, p_cuFuncSetAttribute, "cuFuncSetAttribute");
	NL_SYM(h, p_cuGetErrorString, "cuGetErrorString");
	return NULL;
}

static const char* nl_bind_blas(void* h) {
	NL_SYM2(h, p_cublasCreate, "cublasCreate_v2", "cublasCreate");
	NL_SYM2(h, p_cublasDestroy, "cublasDestroy_v2", "cublasDestroy");
	NL_SYM2(h, p_cublasGetVersion, "cublasGetVersion_v2", "cublasGetVersion");
	NL_SYM(h, p_cublasSetMathMode, "cublasSetMathMode");
	NL_SYM2(h, p_cublasSetStream, "cublasSetStream_v2", "cublasSetStream");
	NL_SYM2(h, p_cublasSgemm, "cublasSgemm_v2", "cublasSgemm");
	NL_SYM(h, p_cublasSgemmStridedBatched, "cublasSgemmStridedBatched");
	NL_SYM(h, p_cublasSgemmBatched, "cublasSgemmBatched");
	return NULL;
}

static const char* nl_bind_nvrtc(void* h) {
	NL_SYM(h, p_nvrtcVersion, "nvrtcVersion");
	NL_SYM(h, p_nvrtcCreateProgram, "nvrtcCreateProgram");
	NL_SYM(h, p_nvrtcCompileProgram, "nvrtcCompileProgram");
	NL_SYM(h, p_nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
	NL_SYM(h, p_nvrtcGetProgramLog, "nvrtcGetProgramLog");
	NL_SYM(h, p_nvrtcGetPTXSize, "nvrtcGetPTXSize");
	NL_SYM(h, p_nvrtcGetPTX, "nvrtcGetPTX");
	NL_SYM(h, p_nvrtcDestroyProgram, "nvrtcDestroyProgram");
	NL_SYM(h, p_nvrtcGetErrorString, "nvrtcGetErrorString");
	NL_OPT(h, p_nvrtcGetCUBINSize, "nvrtcGetCUBINSize");
	NL_OPT(h, p_nvrtcGetCUBIN, "nvrtcGetCUBIN");
	NL_OPT(h, p_nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs");
	NL_OPT(h, p_nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs");
	return NULL;
}

static const char* nl_cuErrorString(CUresult r) {
	const char* s = NULL;
	if (p_cuGetErrorString == NULL || p_cuGetErrorString(r, &s) != 0) return NULL;
	return s;
}
static CUresult nl_cuInit(void) { return p_cuInit(0); }
static CUresult nl_cuDriverGetVersion(int* v) { return p_cuDriverGetVersion(v); }
static CUresult nl_cuDeviceGetCount(int* n) { return p_cuDeviceGetCount(n); }
static CUresult nl_cuDeviceGet(CUdevice* d, int i) { return p_cuDeviceGet(d, i); }
static CUresult nl_cuDeviceGetName(char* s, int n, CUdevice d) { return p_cuDeviceGetName(s, n, d); }
static CUresult nl_cuDeviceGetAttribute(int* v, int a, CUdevice d) { return p_cuDeviceGetAttribute(v, a, d); }
static CUresult nl_cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice d) { return p_cuDevicePrimaryCtxRetain(c, d); }
static CUresult nl_cuDevicePrimaryCtxRelease(CUdevice d) { return p_cuDevicePrimaryCtxRelease(d); }
static CUresult nl_cuCtxSetCurrent(CUcontext c) { return p_cuCtxSetCurrent(c); }
static CUresult nl_cuCtxSynchronize(void) { return p_cuCtxSynchronize(); }
static CUresult nl_cuMemAlloc(CUdeviceptr* p, size_t n) { return p_cuMemAlloc(p, n); }
static CUresult nl_cuMemFree(CUdeviceptr p) { return p_cuMemFree(p); }
static CUresult nl_cuMemGetInfo(size_t* f, size_t* t) { return p_cuMemGetInfo(f, t); }
static CUresult nl_cuMemcpyHtoD(CUdeviceptr d, const void* s, size_t n) { return p_cuMemcpyHtoD(d, s, n); }
static CUresult nl_cuMemcpyDtoH(void* d, CUdeviceptr s, size_t n) { return p_cuMemcpyDtoH(d, s, n); }
static CUresult nl_cuMemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n) { return p_cuMemcpyDtoD(d, s, n); }
static CUresult nl_cuMemcpyHtoDAsync(CUdeviceptr d, const void* s, size_t n, CUstream st) { return p_cuMemcpyHtoDAsync(d, s, n, st); }
static CUresult nl_cuMemcpyDtoHAsync(void* d, CUdeviceptr s, size_t n, CUstream st) { return p_cuMemcpyDtoHAsync(d, s, n, st); }
static CUresult nl_cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return p_cuMemcpyDtoDAsync(d, s, n, st); }
static CUresult nl_cuMemAllocHost(void** p, size_t n) { return p_cuMemAllocHost(p, n); }
static CUresult nl_cuMemFreeHost(void* p) { return p_cuMemFreeHost(p); }
static CUresult nl_cuStreamCreate(CUstream* s, unsigned int f) { return p_cuStreamCreate(s, f); }
static CUresult nl_cuStreamDestroy(CUstream s) { return p_cuStreamDestroy(s); }
static CUresult nl_cuEventCreate(CUevent* e, unsigned int f) { return p_cuEventCreate(e, f); }
static CUresult nl_cuEventDestroy(CUevent e) { return p_cuEventDestroy(e); }
static CUresult nl_cuEventRecord(CUevent e, CUstream s) { return p_cuEventRecord(e, s); }
static CUresult nl_cuEventSynchronize(CUevent e) { return p_cuEventSynchronize(e); }
static CUresult nl_cuEventElapsedTime(float* ms, CUevent a, CUevent b) { return p_cuEventElapsedTime(ms, a, b); }
static CUresult nl_cuStreamWaitEvent(CUstream s, CUevent e) { return p_cuStreamWaitEvent(s, e, 0); }
static CUresult nl_cuModuleLoadData(CUmodule* m, const void* img) { return p_cuModuleLoadData(m, img); }
static CUresult nl_cuModuleUnload(CUmodule m) { return p_cuModuleUnload(m); }
static CUresult nl_cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) { return p_cuModuleGetFunction(f, m, name); }
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8.
static CUresult nl_cuFuncSetMaxShared(CUfunction f, int bytes) { return p_cuFuncSetAttribute(f, 8, bytes); }
static CUresult nl_cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                  unsigned bx, unsigned by, unsigned bz, unsigned shm, CUstream st, void** params) {
	return p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shm, st, params, NULL);
}

static cublasStatus_t nl_cublasCreate(cublasHandle_t* h) { return p_cublasCreate(h); }
static cublasStatus_t nl_cublasDestroy(cublasHandle_t h) { return p_cublasDestroy(h); }
static cublasStatus_t nl_cublasGetVersion(cublasHandle_t h, int* v) { return p_cublasGetVersion(h, v); }
static cublasStatus_t nl_cublasSetMathMode(cublasHandle_t h, int m) { return p_cublasSetMathMode(h, m); }
static cublasStatus_t nl_cublasSetStream(cublasHandle_t h, CUstream s) { return p_cublasSetStream(h, s); }
static cublasStatus_t nl_cublasSgemm(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
                                     CUdeviceptr a, int lda, CUdeviceptr b, int ldb, float beta,
                                     CUdeviceptr c, int ldc) {
	return p_cublasSgemm(h, ta, tb, m, n, k, &alpha, (const float*)a, lda, (const float*)b, ldb,
	                     &beta, (float*)c, ldc);
}
static cublasStatus_t nl_cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n,
                                                   int k, float alpha, CUdeviceptr a, int lda,
                                                   long long sa, CUdeviceptr b, int ldb, long long sb,
                                                   float beta, CUdeviceptr c, int ldc, long long sc,
                                                   int batch) {
	return p_cublasSgemmStridedBatched(h, ta, tb, m, n, k, &alpha, (const float*)a, lda, sa,
	                                   (const float*)b, ldb, sb, &beta, (float*)c, ldc, sc, batch);
}
static cublasStatus_t nl_cublasSgemmBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k,
                                            float alpha, CUdeviceptr a, int lda, CUdeviceptr b,
                                            int ldb, float beta, CUdeviceptr c, int ldc, int batch) {
	return p_cublasSgemmBatched(h, ta, tb, m, n, k, &alpha, (const float* const*)a, lda,
	                            (const float* const*)b, ldb, &beta, (float* const*)c, ldc, batch);
}

static nvrtcResult nl_nvrtcVersion(int* ma, int* mi) { return p_nvrtcVersion(ma, mi); }
static const char* nl_nvrtcGetErrorString(nvrtcResult r) { return p_nvrtcGetErrorString(r); }
static nvrtcResult nl_nvrtcCreateProgram(nvrtcProgram* p, const char* src, const char* name) {
	return p_nvrtcCreateProgram(p, src, name, 0, NULL, NULL);
}
static nvrtcResult nl_nvrtcCompileProgram(nvrtcProgram p, int n, char** opts) {
	return p_nvrtcCompileProgram(p, n, (const char* const*)opts);
}
static nvrtcResult nl_nvrtcGetProgramLogSize(nvrtcProgram p, size_t* n) { return p_nvrtcGetProgramLogSize(p, n); }
static nvrtcResult nl_nvrtcGetProgramLog(nvrtcProgram p, char* s) { return p_nvrtcGetProgramLog(p, s); }
static int nl_hasCUBIN(void) { return p_nvrtcGetCUBINSize != NULL && p_nvrtcGetCUBIN != NULL; }
static nvrtcResult nl_nvrtcGetCodeSize(nvrtcProgram p, int cubin, size_t* n) {
	return cubin ? p_nvrtcGetCUBINSize(p, n) : p_nvrtcGetPTXSize(p, n);
}
static nvrtcResult nl_nvrtcGetCode(nvrtcProgram p, int cubin, char* s) {
	return cubin ? p_nvrtcGetCUBIN(p, s) : p_nvrtcGetPTX(p, s);
}
static nvrtcResult nl_nvrtcDestroyProgram(nvrtcProgram* p) { return p_nvrtcDestroyProgram(p); }
// nl_nvrtcSupportedArchs writes up to cap supported compute capabilities
// (major*10+minor) into out and returns how many, or -1 when unknown.
static int nl_nvrtcSupportedArchs(int* out, int cap) {
	int n = 0;
	if (p_nvrtcGetNumSupportedArchs == NULL || p_nvrtcGetSupportedArchs == NULL) return -1;
	if (p_nvrtcGetNumSupportedArchs(&n) != 0 || n > cap) return -1;
	if (p_nvrtcGetSupportedArchs(out) != 0) return -1;
	return n;
}
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Loading the libraries is process-wide, as dlopen is: it happens once, and
// its outcome (success or the error) is kept.
var (
	loadOnce sync.Once
	loadErr  error
)

func load() error {
	loadOnce.Do(func() {
		binds := []struct {
			lib  Library
			bind func(unsafe.Pointer) *C.char
		}{
			{Driver, func(h unsafe.Pointer) *C.char { return C.nl_bind_driver(h) }},
			{BLAS, func(h unsafe.Pointer) *C.char { return C.nl_bind_blas(h) }},
			{NVRTC, func(h unsafe.Pointer) *C.char { return C.nl_bind_nvrtc(h) }},
		}
		for _, b := range binds {
			h, err := dlopenFirst(b.lib)
			if err != nil {
				loadErr = err
				return
			}
			if missing := b.bind(h); missing != nil {
				loadErr = fmt.Errorf("%w: %s has no symbol %s", ErrUnavailable, b.lib, C.GoString(missing))
				return
			}
		}
	})
	return loadErr
}

// dlopenFirst opens the first candidate of lib that loads.
func dlopenFirst(lib Library) (unsafe.Pointer, error) {
	var tried []string
	for _, path := range Candidates(lib, envLibs()) {
		cpath := C.CString(path)
		var cerr *C.char
		h := C.nl_dlopen(cpath, &cerr)
		C.free(unsafe.Pointer(cpath))
		if h != nil {
			return h, nil
		}
		if cerr != nil && !strings.Contains(C.GoString(cerr), "No such file") {
			tried = append(tried, C.GoString(cerr))
		}
	}
	hint := ""
	if lib == Driver {
		hint = " (no NVIDIA driver installed?)"
	}
	msg := fmt.Sprintf("%v: cannot load %s%s; tried %s, set %s to its directory",
		ErrUnavailable, lib, hint, strings.Join(LibraryNames(lib), ", "), libsEnv)
	if len(tried) > 0 {
		msg += "; " + strings.Join(tried, "; ")
	}
	return nil, &loadError{msg}
}

type loadError struct{ msg string }

func (e *loadError) Error() string        { return e.msg }
func (e *loadError) Unwrap() error        { return ErrUnavailable }
func (e *loadError) Is(target error) bool { return target == ErrUnavailable }

// cuErr turns a driver result into an error naming the call.
func cuErr(r C.CUresult, what string) error {
	if r == 0 {
		return nil
	}
	s := "unknown error"
	if cs := C.nl_cuErrorString(r); cs != nil {
		s = C.GoString(cs)
	}
	err := fmt.Errorf("cuda: %s: %s (CUresult %d)", what, s, int(r))
	if r == 100 || r == 3 || r == 35 || r == 999 { // NO_DEVICE, NOT_INITIALIZED, INSUFFICIENT_DRIVER, UNKNOWN
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

var cublasStatus = map[int]string{
	1: "NOT_INITIALIZED", 3: "ALLOC_FAILED", 7: "INVALID_VALUE", 8: "ARCH_MISMATCH",
	11: "MAPPING_ERROR", 13: "EXECUTION_FAILED", 14: "INTERNAL_ERROR", 15: "NOT_SUPPORTED",
	16: "LICENSE_ERROR",
}

func blasErr(s C.cublasStatus_t, what string) error {
	if s == 0 {
		return nil
	}
	return fmt.Errorf("cuda: cublas %s: CUBLAS_STATUS_%s (%d)", what, cublasStatus[int(s)], int(s))
}

// Options choose the device and the precision of a [Context].
type Options struct {
	Device int  // device ordinal, 0 for the first GPU
	TF32   bool // let cuBLAS round matrix-product inputs to TF32 (10-bit mantissa)
}

// Context is one GPU with its primary context, a cuBLAS handle and the
// compiled kernels. Its first failed operation's error sticks: later
// operations do nothing and [Context.Err] returns it, so a forward pass can
// be written as a straight line and checked once.
type Context struct {
	Name         string // device name, e.g. "NVIDIA H100 80GB HBM3"
	Major, Minor int    // compute capability
	Driver       int    // driver API version, 12040 for 12.4
	BLASVersion  int    // cuBLAS version, 120401 for 12.4.1
	NVRTCVersion string // "12.4"
	Code         string // what the kernels were loaded as: "cubin sm_90" or "ptx compute_90"
	TF32         bool

	dev    C.CUdevice
	ctx    C.CUcontext
	blas   C.cublasHandle_t
	mod    C.CUmodule
	fn     map[string]C.CUfunction
	shared map[string]int // dynamic shared memory each kernel was allowed, beyond 48 KiB
	params unsafe.Pointer // C memory: 16 void* pointing at the 16 slots that follow
	slots  []uint64       // view of the C slots
	err    error
	allocs map[Ptr]int
	hosts  map[unsafe.Pointer]int
	spans  spans // the page-locked allocations of hosts, for IsHost

	main, cur C.CUstream // the stream of every queued operation is cur; main is the default
	streams   []C.CUstream
	events    []C.CUevent
}

// Stream is a queue of device work: operations on one stream run in order,
// those on different streams may overlap. Make them with [Context.NewStream].
type Stream struct{ s C.CUstream }

// Event marks a point in a stream's work, made by [Context.NewEvent].
type Event struct{ e C.CUevent }

const maxParams = 16

// Open loads the libraries, picks device o.Device, retains its primary
// context, creates a cuBLAS handle in float32 mode (TF32 only when o.TF32)
// and compiles [KernelSource] with NVRTC. Errors wrap [ErrUnavailable] when
// there is no driver, no library or no GPU.
func Open(o Options) (*Context, error) {
	if err := load(); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cuErr(C.nl_cuInit(), "cuInit"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var n C.int
	if err := cuErr(C.nl_cuDeviceGetCount(&n), "cuDeviceGetCount"); err != nil {
		return nil, err
	}
	if int(n) == 0 {
		return nil, fmt.Errorf("%w: the driver reports no GPU", ErrUnavailable)
	}
	if o.Device < 0 || o.Device >= int(n) {
		return nil, fmt.Errorf("%w: device %d asked, %d present", ErrUnavailable, o.Device, int(n))
	}
	c := &Context{TF32: o.TF32, fn: map[string]C.CUfunction{}, shared: map[string]int{}, allocs: map[Ptr]int{}, hosts: map[unsafe.Pointer]int{}}
	if err := cuErr(C.nl_cuDeviceGet(&c.dev, C.int(o.Device)), "cuDeviceGet"); err != nil {
		return nil, err
	}
	var name [256]C.char
	C.nl_cuDeviceGetName(&name[0], 256, c.dev)
	c.Name = C.GoString(&name[0])
	var major, minor, drv C.int
	C.nl_cuDeviceGetAttribute(&major, 75, c.dev) // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	C.nl_cuDeviceGetAttribute(&minor, 76, c.dev) // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
	C.nl_cuDriverGetVersion(&drv)
	c.Major, c.Minor, c.Driver = int(major), int(minor), int(drv)
	if err := cuErr(C.nl_cuDevicePrimaryCtxRetain(&c.ctx, c.dev), "cuDevicePrimaryCtxRetain"); err != nil {
		return nil, err
	}
	if err := cuErr(C.nl_cuCtxSetCurrent(c.ctx), "cuCtxSetCurrent"); err != nil {
		C.nl_cuDevicePrimaryCtxRelease(c.dev)
		return nil, err
	}
	if err := c.init(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *Context) init() error {
	if err := blasErr(C.nl_cublasCreate(&c.blas), "create"); err != nil {
		return err
	}
	var v C.int
	C.nl_cublasGetVersion(c.blas, &v)
	c.BLASVersion = int(v)
	mode := C.int(0) // CUBLAS_DEFAULT_MATH: float32 products stay float32
	if c.TF32 {
		mode = 3 // CUBLAS_TF32_TENSOR_OP_MATH
	}
	if err := blasErr(C.nl_cublasSetMathMode(c.blas, mode), "set math mode"); err != nil {
		return err
	}
	if err := c.compile(); err != nil {
		return err
	}
	// Every operation goes to a stream of its own, not to the legacy default
	// stream, so that a second stream (NewStream) can run beside it.
	c.main = c.newStream()
	if c.err != nil {
		return c.err
	}
	c.SetStream(Stream{c.main})
	if c.err != nil {
		return c.err
	}
	c.params = C.malloc(C.size_t(maxParams * 16))
	ptrs := unsafe.Slice((*unsafe.Pointer)(c.params), maxParams)
	c.slots = unsafe.Slice((*uint64)(unsafe.Add(c.params, maxParams*8)), maxParams)
	for i := range ptrs {
		ptrs[i] = unsafe.Pointer(&c.slots[i])
	}
	return nil
}

// compile builds KernelSource for this device: a cubin when NVRTC knows the
// device's architecture, else PTX for the newest architecture it knows, which
// the driver JIT-compiles. A cubin the driver refuses falls back to PTX.
func (c *Context) compile() error {
	var ma, mi C.int
	C.nl_nvrtcVersion(&ma, &mi)
	c.NVRTCVersion = fmt.Sprintf("%d.%d", int(ma), int(mi))
	want := c.Major*10 + c.Minor
	arch := want
	var archs [128]C.int
	if n := int(C.nl_nvrtcSupportedArchs(&archs[0], 128)); n > 0 {
		var ok []int
		for _, a := range archs[:n] {
			if int(a) <= want {
				ok = append(ok, int(a))
			}
		}
		if len(ok) == 0 {
			return fmt.Errorf("%w: NVRTC %s supports no architecture up to sm_%d", ErrUnavailable, c.NVRTCVersion, want)
		}
		sort.Ints(ok)
		arch = ok[len(ok)-1]
	}
	if arch == want && C.nl_hasCUBIN() != 0 {
		img, err := nvrtcCompile(fmt.Sprintf("--gpu-architecture=sm_%d", arch), true)
		if err != nil {
			return err
		}
		if err := c.loadModule(img); err == nil {
			c.Code = fmt.Sprintf("cubin sm_%d", arch)
			return c.lookup()
		}
	}
	img, err := nvrtcCompile(fmt.Sprintf("--gpu-architecture=compute_%d", arch), false)
	if err != nil {
		return err
	}
	if err := c.loadModule(img); err != nil {
		return fmt.Errorf("%w (PTX from NVRTC %s, driver %d: a driver older than NVRTC cannot load its PTX)", err, c.NVRTCVersion, c.Driver)
	}
	c.Code = fmt.Sprintf("ptx compute_%d", arch)
	return c.lookup()
}

// nvrtcCompile compiles KernelSource with one architecture option and
// returns the code image (NUL-terminated PTX, or a cubin).
func nvrtcCompile(archOpt string, cubin bool) ([]byte, error) {
	src := C.CString(KernelSource)
	defer C.free(unsafe.Pointer(src))
	name := C.CString("neuronlens_kernels.cu")
	defer C.free(unsafe.Pointer(name))
	var prog C.nvrtcProgram
	if r := C.nl_nvrtcCreateProgram(&prog, src, name); r != 0 {
		return nil, fmt.Errorf("cuda: nvrtcCreateProgram: %s", C.GoString(C.nl_nvrtcGetErrorString(r)))
	}
	defer C.nl_nvrtcDestroyProgram(&prog)
	opts := []string{archOpt, "--std=c++14"}
	copts := (*[maxParams]*C.char)(C.malloc(C.size_t(8 * maxParams)))
	defer C.free(unsafe.Pointer(copts))
	for i, o := range opts {
		copts[i] = C.CString(o)
		defer C.free(unsafe.Pointer(copts[i]))
	}
	r := C.nl_nvrtcCompileProgram(prog, C.int(len(opts)), &copts[0])
	if r != 0 {
		var n C.size_t
		C.nl_nvrtcGetProgramLogSize(prog, &n)
		log := make([]byte, int(n)+1)
		C.nl_nvrtcGetProgramLog(prog, (*C.char)(unsafe.Pointer(&log[0])))
		return nil, fmt.Errorf("cuda: NVRTC %s: %s\n%s", archOpt, C.GoString(C.nl_nvrtcGetErrorString(r)),
			strings.TrimRight(string(log), "\x00\n"))
	}
	cb := C.int(0)
	if cubin {
		cb = 1
	}
	var n C.size_t
	if r := C.nl_nvrtcGetCodeSize(prog, cb, &n); r != 0 {
		return nil, fmt.Errorf("cuda: NVRTC code size: %s", C.GoString(C.nl_nvrtcGetErrorString(r)))
	}
	img := make([]byte, int(n)+1)
	if r := C.nl_nvrtcGetCode(prog, cb, (*C.char)(unsafe.Pointer(&img[0]))); r != 0 {
		return nil, fmt.Errorf("cuda: NVRTC code: %s", C.GoString(C.nl_nvrtcGetErrorString(r)))
	}
	return img, nil
}

func (c *Context) loadModule(img []byte) error {
	buf := C.CBytes(img)
	defer C.free(buf)
	return cuErr(C.nl_cuModuleLoadData(&c.mod, buf), "cuModuleLoadData")
}

func (c *Context) lookup() error {
	for _, n := range KernelNames {
		cn := C.CString(n)
		var f C.CUfunction
		r := C.nl_cuModuleGetFunction(&f, c.mod, cn)
		C.free(unsafe.Pointer(cn))
		if err := cuErr(r, "cuModuleGetFunction "+n); err != nil {
			return err
		}
		c.fn[n] = f
	}
	return nil
}

// Bind pins the calling goroutine to its OS thread and makes c's context
// current there; call the returned function when done. Every method below
// assumes it runs between Bind and that call.
func (c *Context) Bind() (unbind func()) {
	runtime.LockOSThread()
	if c.err == nil {
		c.set(cuErr(C.nl_cuCtxSetCurrent(c.ctx), "cuCtxSetCurrent"))
	}
	return runtime.UnlockOSThread
}

// Err returns the first error of any operation on c.
func (c *Context) Err() error { return c.err }

func (c *Context) set(err error) {
	if c.err == nil && err != nil {
		c.err = err
	}
}

// Close frees every buffer still allocated, the kernels, the cuBLAS handle
// and releases the primary context.
func (c *Context) Close() error {
	defer c.Bind()()
	c.close()
	return nil
}

func (c *Context) close() {
	if c.ctx != nil {
		C.nl_cuCtxSynchronize()
	}
	for p := range c.allocs {
		C.nl_cuMemFree(C.CUdeviceptr(p))
	}
	clear(c.allocs)
	for p := range c.hosts {
		C.nl_cuMemFreeHost(p)
	}
	clear(c.hosts)
	c.spans = nil
	for _, e := range c.events {
		C.nl_cuEventDestroy(e)
	}
	c.events = nil
	if c.blas != nil && c.main != nil {
		C.nl_cublasSetStream(c.blas, nil)
	}
	for _, s := range c.streams {
		C.nl_cuStreamDestroy(s)
	}
	c.streams, c.main, c.cur = nil, nil, nil
	if c.mod != nil {
		C.nl_cuModuleUnload(c.mod)
		c.mod = nil
	}
	if c.blas != nil {
		C.nl_cublasDestroy(c.blas)
		c.blas = nil
	}
	if c.params != nil {
		C.free(c.params)
		c.params, c.slots = nil, nil
	}
	if c.ctx != nil {
		C.nl_cuDevicePrimaryCtxRelease(c.dev)
		c.ctx = nil
	}
}

// MemInfo returns the free and total device memory in bytes.
func (c *Context) MemInfo() (free, total int) {
	var f, t C.size_t
	c.set(cuErr(C.nl_cuMemGetInfo(&f, &t), "cuMemGetInfo"))
	return int(f), int(t)
}

// Alloc returns a buffer of n float32 values, or a zero Buffer after an error.
func (c *Context) Alloc(n int) Buffer {
	if c.err != nil || n <= 0 {
		return Buffer{}
	}
	var p C.CUdeviceptr
	if err := cuErr(C.nl_cuMemAlloc(&p, C.size_t(4*n)), fmt.Sprintf("cuMemAlloc %.1f MiB", float64(4*n)/(1<<20))); err != nil {
		c.set(err)
		return Buffer{}
	}
	c.allocs[Ptr(p)] = n
	return Buffer{Ptr: Ptr(p), Len: n}
}

// Free releases b; freeing a zero Buffer does nothing.
func (c *Context) Free(b Buffer) {
	if b.Ptr == 0 {
		return
	}
	if _, ok := c.allocs[b.Ptr]; ok {
		C.nl_cuMemFree(C.CUdeviceptr(b.Ptr))
		delete(c.allocs, b.Ptr)
	}
}

// Upload queues the copy of src into the device memory at dst on the
// current stream; src may be reused when it returns.
func (c *Context) Upload(dst Ptr, src []float32) {
	if c.err != nil || len(src) == 0 {
		return
	}
	// From pageable memory the driver stages src before returning, so src
	// may change afterwards; the copy is ordered on the current stream.
	c.set(cuErr(C.nl_cuMemcpyHtoDAsync(C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(4*len(src)), c.cur), "upload"))
}

// UploadPtrs copies device addresses into the device memory at dst, which
// must hold len(src) 64-bit values (len(src)*2 float32 slots).
func (c *Context) UploadPtrs(dst Ptr, src []Ptr) {
	if c.err != nil || len(src) == 0 {
		return
	}
	c.set(cuErr(C.nl_cuMemcpyHtoDAsync(C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(8*len(src)), c.cur), "upload pointers"))
}

// Download copies len(dst) values from the device memory at src, after all
// work queued before it.
func (c *Context) Download(dst []float32, src Ptr) {
	if c.err != nil || len(dst) == 0 {
		return
	}
	c.set(cuErr(C.nl_cuCtxSynchronize(), "synchronize"))
	if c.err != nil {
		return
	}
	c.set(cuErr(C.nl_cuMemcpyDtoH(unsafe.Pointer(&dst[0]), C.CUdeviceptr(src), C.size_t(4*len(dst))), "download"))
}

// Copy queues the copy of n values from src to dst on the device.
func (c *Context) Copy(dst, src Ptr, n int) {
	if c.err != nil || n == 0 {
		return
	}
	c.set(cuErr(C.nl_cuMemcpyDtoDAsync(C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(4*n), c.cur), "device copy"))
}

// Sync waits for all queued work and returns c's error.
func (c *Context) Sync() error {
	if c.err == nil {
		c.set(cuErr(C.nl_cuCtxSynchronize(), "synchronize"))
	}
	return c.err
}

// Gemm queues C = alpha·op(A)·op(B) + beta·C for the row-major product g.
func (c *Context) Gemm(g RowMajor, alpha float32, a, b Ptr, beta float32, cc Ptr) {
	if c.err != nil {
		return
	}
	g.Check()
	m := g.ColMajor()
	c.set(blasErr(C.nl_cublasSgemm(c.blas, op(m.TransA), op(m.TransB), C.int(m.M), C.int(m.N), C.int(m.K),
		C.float(alpha), C.CUdeviceptr(b), C.int(m.Lda), C.CUdeviceptr(a), C.int(m.Ldb),
		C.float(beta), C.CUdeviceptr(cc), C.int(m.Ldc)), "sgemm"))
}

// GemmStrided queues batch products g, the i-th on A + i*sa, B + i*sb and
// C + i*sc (strides in elements).
func (c *Context) GemmStrided(g RowMajor, batch int, alpha float32, a Ptr, sa int, b Ptr, sb int, beta float32, cc Ptr, sc int) {
	if c.err != nil || batch == 0 {
		return
	}
	g.Check()
	m := g.ColMajor()
	c.set(blasErr(C.nl_cublasSgemmStridedBatched(c.blas, op(m.TransA), op(m.TransB), C.int(m.M), C.int(m.N), C.int(m.K),
		C.float(alpha), C.CUdeviceptr(b), C.int(m.Lda), C.longlong(sb), C.CUdeviceptr(a), C.int(m.Ldb), C.longlong(sa),
		C.float(beta), C.CUdeviceptr(cc), C.int(m.Ldc), C.longlong(sc), C.int(batch)), "sgemm strided batched"))
}

// GemmBatched queues batch products g whose operands' addresses are in
// device arrays: as, bs and cs each hold batch addresses.
func (c *Context) GemmBatched(g RowMajor, batch int, alpha float32, as, bs Ptr, beta float32, cs Ptr) {
	if c.err != nil || batch == 0 {
		return
	}
	g.Check()
	m := g.ColMajor()
	c.set(blasErr(C.nl_cublasSgemmBatched(c.blas, op(m.TransA), op(m.TransB), C.int(m.M), C.int(m.N), C.int(m.K),
		C.float(alpha), C.CUdeviceptr(bs), C.int(m.Lda), C.CUdeviceptr(as), C.int(m.Ldb),
		C.float(beta), C.CUdeviceptr(cs), C.int(m.Ldc), C.int(batch)), "sgemm batched"))
}

func op(trans bool) C.int {
	if trans {
		return 1 // CUBLAS_OP_T
	}
	return 0 // CUBLAS_OP_N
}

// Launch queues kernel name on a grid of gx×gy blocks of bx threads. Each
// argument is a Ptr, int (passed as a C int), int64 (long long) or float32.
func (c *Context) Launch(name string, gx, gy, bx int, args ...any) {
	c.LaunchShared(name, gx, gy, bx, 0, args...)
}

// LaunchShared is Launch with shm bytes of dynamic shared memory per block
// (allowed beyond the default 48 KiB on first use).
func (c *Context) LaunchShared(name string, gx, gy, bx, shm int, args ...any) {
	if c.err != nil {
		return
	}
	if shm > 48<<10 && c.shared[name] < shm {
		f, ok := c.fn[name]
		if !ok {
			panic("cuda: no kernel " + name)
		}
		if err := cuErr(C.nl_cuFuncSetMaxShared(f, C.int(shm)), fmt.Sprintf("cuFuncSetAttribute %s shared %d", name, shm)); err != nil {
			c.set(err)
			return
		}
		c.shared[name] = shm
	}
	f, ok := c.fn[name]
	if !ok {
		panic("cuda: no kernel " + name)
	}
	if len(args) > maxParams {
		panic("cuda: too many kernel arguments")
	}
	for i, a := range args {
		switch v := a.(type) {
		case Ptr:
			c.slots[i] = uint64(v)
		case int:
			if v != int(int32(v)) {
				panic(fmt.Sprintf("cuda: %s: argument %d = %d overflows int", name, i, v))
			}
			c.slots[i] = uint64(uint32(int32(v)))
		case int64:
			c.slots[i] = uint64(v)
		case float32:
			c.slots[i] = uint64(math.Float32bits(v))
		default:
			panic(fmt.Sprintf("cuda: %s: argument %d has type %T", name, i, a))
		}
	}
	c.set(cuErr(C.nl_cuLaunchKernel(f, C.uint(gx), C.uint(gy), 1, C.uint(bx), 1, 1, C.uint(shm), c.cur, (*unsafe.Pointer)(c.params)),
		"launch "+name))
}

func (c *Context) newStream() C.CUstream {
	var s C.CUstream
	if c.err != nil {
		return nil
	}
	if err := cuErr(C.nl_cuStreamCreate(&s, 1), "cuStreamCreate"); err != nil { // CU_STREAM_NON_BLOCKING
		c.set(err)
		return nil
	}
	c.streams = append(c.streams, s)
	return s
}

// NewStream returns a new stream, freed by Close. It does not synchronize
// with the others: order work between streams with [Context.Record] and
// [Context.Wait].
func (c *Context) NewStream() Stream { return Stream{c.newStream()} }

// MainStream returns the stream operations go to by default.
func (c *Context) MainStream() Stream { return Stream{c.main} }

// SetStream sends every later kernel, product and copy to s.
func (c *Context) SetStream(s Stream) {
	if c.err != nil || s.s == c.cur {
		return
	}
	if err := blasErr(C.nl_cublasSetStream(c.blas, s.s), "set stream"); err != nil {
		c.set(err)
		return
	}
	c.cur = s.s
}

// NewEvent returns a new event, freed by Close; with timing, [Context.Elapsed]
// can measure between two of them.
func (c *Context) NewEvent(timing bool) Event {
	var e C.CUevent
	if c.err != nil {
		return Event{}
	}
	flags := C.uint(2) // CU_EVENT_DISABLE_TIMING
	if timing {
		flags = 0
	}
	if err := cuErr(C.nl_cuEventCreate(&e, flags), "cuEventCreate"); err != nil {
		c.set(err)
		return Event{}
	}
	c.events = append(c.events, e)
	return Event{e}
}

// Record marks e at the current point of the current stream.
func (c *Context) Record(e Event) {
	if c.err == nil {
		c.set(cuErr(C.nl_cuEventRecord(e.e, c.cur), "cuEventRecord"))
	}
}

// Wait makes the current stream's later work wait for e's last Record.
func (c *Context) Wait(e Event) {
	if c.err == nil {
		c.set(cuErr(C.nl_cuStreamWaitEvent(c.cur, e.e), "cuStreamWaitEvent"))
	}
}

// SyncEvent blocks until the work before e's last Record is done and
// returns c's error.
func (c *Context) SyncEvent(e Event) error {
	if c.err == nil {
		c.set(cuErr(C.nl_cuEventSynchronize(e.e), "cuEventSynchronize"))
	}
	return c.err
}

// Elapsed returns the milliseconds between two completed timing events.
func (c *Context) Elapsed(from, to Event) float32 {
	var ms C.float
	if c.err == nil {
		c.set(cuErr(C.nl_cuEventElapsedTime(&ms, from.e, to.e), "cuEventElapsedTime"))
	}
	return float32(ms)
}

// AllocHost returns n float32 values of page-locked host memory, which the
// device copies to and from at full speed and asynchronously
// ([Context.UploadAsync], [Context.DownloadAsync]); nil after an error. Free
// it with FreeHost (or Close).
func (c *Context) AllocHost(n int) []float32 {
	if c.err != nil || n <= 0 {
		return nil
	}
	h, err := c.TryAllocHost(n)
	if err != nil {
		c.set(err)
	}
	return h
}

// TryAllocHost is AllocHost that returns its error instead of keeping it:
// running out of page-locked memory leaves the context usable.
func (c *Context) TryAllocHost(n int) ([]float32, error) {
	if c.err != nil {
		return nil, c.err
	}
	if n <= 0 {
		return nil, fmt.Errorf("cuMemAllocHost: %d values", n)
	}
	var p unsafe.Pointer
	if err := cuErr(C.nl_cuMemAllocHost(&p, C.size_t(4*n)), fmt.Sprintf("cuMemAllocHost %.1f MiB", float64(4*n)/(1<<20))); err != nil {
		return nil, err
	}
	c.hosts[p] = n
	c.spans.add(uintptr(p), uintptr(p)+uintptr(4*n))
	return unsafe.Slice((*float32)(p), n), nil
}

// FreeHost releases memory from AllocHost; nil does nothing.
func (c *Context) FreeHost(h []float32) {
	if len(h) == 0 {
		return
	}
	p := unsafe.Pointer(&h[0])
	if _, ok := c.hosts[p]; ok {
		C.nl_cuMemFreeHost(p)
		delete(c.hosts, p)
		c.spans.remove(uintptr(p))
	}
}

// IsHost reports whether x lies in page-locked memory from AllocHost, so
// that the device can copy it to or from x directly.
func (c *Context) IsHost(x []float32) bool {
	if len(x) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(&x[0]))
	return c.spans.contains(p, p+uintptr(4*len(x)))
}

// UploadAsync queues the copy of src, page-locked memory from AllocHost,
// into the device memory at dst on the current stream. src must not change
// until the copy is done.
func (c *Context) UploadAsync(dst Ptr, src []float32) {
	if c.err != nil || len(src) == 0 {
		return
	}
	c.set(cuErr(C.nl_cuMemcpyHtoDAsync(C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(4*len(src)), c.cur), "upload"))
}

// DownloadAsync queues the copy of len(dst) values at src into dst,
// page-locked memory from AllocHost, on the current stream. dst holds them
// once the stream has reached that point (SyncEvent, Sync).
func (c *Context) DownloadAsync(dst []float32, src Ptr) {
	if c.err != nil || len(dst) == 0 {
		return
	}
	c.set(cuErr(C.nl_cuMemcpyDtoHAsync(unsafe.Pointer(&dst[0]), C.CUdeviceptr(src), C.size_t(4*len(dst)), c.cur), "download"))
}

// libsEnv is the environment variable holding extra library directories.
const libsEnv = "NEURONLENS_CUDA_LIBS"

func envLibs() string { return os.Getenv(libsEnv) }
