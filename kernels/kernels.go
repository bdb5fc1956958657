package kernels

import "sort"

// Modules lists the PTX modules, one per .cu file, by name.
func Modules() []string {
	ms := make([]string, 0, len(modules))
	for m := range modules {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return ms
}

// PTX returns the PTX text of a module ("" if there is none).
func PTX(module string) string {
	if p := modules[module]; p != nil {
		return *p
	}
	return ""
}

// Image returns a module's fat binary ("" if there is none), for
// cuModuleLoadData (gorgonia.org/cu's LoadData) in place of its PTX: it
// holds the machine code ptxas made from the module's PTX for SASSArchs
// (the driver loads it as it is on those GPUs, and sm_80's on sm_86, sm_87
// and sm_89) and that PTX itself, which the driver JIT-compiles on any
// other GPU, so one image loads everywhere the PTX does, without the JIT
// where it can.
func Image(module string) string {
	if p := images[module]; p != nil {
		return *p
	}
	return ""
}

// Kernels lists every kernel entry point of every module.
func Kernels() []string {
	ks := make([]string, 0, len(kernelModule))
	for k := range kernelModule {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ModuleOf returns the module that defines kernel.
func ModuleOf(kernel string) (string, bool) {
	m, ok := kernelModule[kernel]
	return m, ok
}
