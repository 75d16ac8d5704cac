package cuda

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed src/*.cu
var sourceFS embed.FS

// Source returns the CUDA C source of troupe's kernels: the files of src/
// concatenated in name order.
func Source() string {
	names, err := fs.Glob(sourceFS, "src/*.cu")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		data, err := sourceFS.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		fmt.Fprintf(&b, "// ---- %s ----\n", n)
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// compileOptions are NVRTC's flags for compute capability major.minor: real
// machine code (sm_XY) when cubin is set, else PTX (compute_XY) that the
// driver compiles when loading it.
func compileOptions(major, minor int, cubin bool) []string {
	arch := fmt.Sprintf("--gpu-architecture=compute_%d%d", major, minor)
	if cubin {
		arch = fmt.Sprintf("--gpu-architecture=sm_%d%d", major, minor)
	}
	// No fast-math: the kernels' exp, log and erf keep full float accuracy,
	// so the GPU follows the CPU reference closely.
	return []string{arch, "--std=c++14"}
}

// CompileError is a failed NVRTC compilation, with the compiler's log.
type CompileError struct {
	Arch string
	Err  error
	Log  string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("cuda: compiling kernels for %s: %v\n%s", e.Arch, e.Err, e.Log)
}

func (e *CompileError) Unwrap() error { return e.Err }

// compileKernels compiles Source for the device, preferring machine code
// and falling back to PTX when this NVRTC cannot target the device's
// architecture directly.
func compileKernels(drv driver, major, minor int) (image []byte, log string, err error) {
	src := Source()
	image, log, err = drv.compile(src, "troupe_kernels.cu", compileOptions(major, minor, true), true)
	if err == nil {
		return image, log, nil
	}
	image, log2, err2 := drv.compile(src, "troupe_kernels.cu", compileOptions(major, minor, false), false)
	if err2 == nil {
		return image, log2, nil
	}
	return nil, "", &CompileError{Arch: fmt.Sprintf("sm_%d%d", major, minor), Err: err, Log: log}
}

// CompilePTX compiles the kernels to PTX for compute capability
// major.minor with NVRTC alone, no device needed. It checks that the
// sources build; it returns the PTX and the compiler's log.
func CompilePTX(major, minor int, libDirs []string) ([]byte, string, error) {
	drv, err := openNVRTC(libDirs)
	if err != nil {
		return nil, "", err
	}
	defer drv.close()
	image, log, err := drv.compile(Source(), "troupe_kernels.cu", compileOptions(major, minor, false), false)
	if err != nil {
		return nil, log, &CompileError{Arch: fmt.Sprintf("compute_%d%d", major, minor), Err: err, Log: log}
	}
	return image, log, nil
}

// kernelSet holds the device functions of the loaded module.
type kernelSet struct {
	fill, scale, scaleMat, mul                                handle
	biasActRows, biasActChan, actGrad                         handle
	colsumActGrad, chanActGrad, sumPartials                   handle
	dropout, toBF16, fromBF16                                 handle
	im2col, col2im, maxpoolFwd, maxpoolBwd                    handle
	toCNHW, toNCHW                                            handle
	softmaxXent, lnFwd, lnBwd, lnParamsGrad, gather, gatherU8 handle
	sgd, adam, sumsqPartial, clipScale                        handle
}

// entries pairs each field with its kernel's name in Source.
func (k *kernelSet) entries() []struct {
	name string
	h    *handle
} {
	return []struct {
		name string
		h    *handle
	}{
		{"fill_f32", &k.fill}, {"scale_f32", &k.scale}, {"scale_mat", &k.scaleMat}, {"mul_f32", &k.mul},
		{"bias_act_rows", &k.biasActRows}, {"bias_act_chan", &k.biasActChan}, {"act_grad_f32", &k.actGrad},
		{"colsum_act_grad", &k.colsumActGrad}, {"chan_act_grad", &k.chanActGrad}, {"sum_partials", &k.sumPartials},
		{"dropout_fwd", &k.dropout}, {"f32_to_bf16", &k.toBF16}, {"bf16_to_f32", &k.fromBF16},
		{"im2col_cnhw", &k.im2col}, {"col2im_cnhw", &k.col2im}, {"maxpool_fwd", &k.maxpoolFwd}, {"maxpool_bwd", &k.maxpoolBwd},
		{"nchw_to_cnhw", &k.toCNHW}, {"cnhw_to_nchw", &k.toNCHW},
		{"softmax_xent", &k.softmaxXent}, {"layernorm_fwd", &k.lnFwd}, {"layernorm_bwd", &k.lnBwd},
		{"layernorm_params_grad", &k.lnParamsGrad}, {"gather_batch", &k.gather}, {"gather_u8", &k.gatherU8},
		{"sgd_step", &k.sgd}, {"adam_step", &k.adam}, {"sumsq_partial", &k.sumsqPartial}, {"clip_scale", &k.clipScale},
	}
}
