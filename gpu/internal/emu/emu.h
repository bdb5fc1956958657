// C interface of the emulator (emu.cc), for cgo.
#ifndef RATESIM_EMU_H
#define RATESIM_EMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uintptr_t emu_alloc(size_t bytes);
// emu_free and emu_check return 0, or -1 when a guard byte was overwritten.
int emu_free(uintptr_t p);
int emu_check(uintptr_t p);
void emu_htod(uintptr_t dst, const void *src, size_t bytes);
void emu_dtoh(void *dst, uintptr_t src, size_t bytes);
// emu_launch runs a kernel to completion; it returns 0, or -1 with a
// message in err.
int emu_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
               size_t shmem, const uint64_t *args, int nargs, char *err, size_t errlen);
int emu_kernel_count(void);
const char *emu_kernel_name(int i);
// emu_kernel_signature is the kinds of kernel i's parameters as the
// compiler sees them, one letter each: p pointer, i int64, u uint64.
const char *emu_kernel_signature(int i);
const char *emu_sources_hash(void);
// emu_contract_probe returns a·b + c through the kernels' intrinsics; it
// differs from the twice-rounded value if the compiler fused them.
double emu_contract_probe(double a, double b, double c);
float emu_contract_probe32(float a, float b, float c);

#ifdef __cplusplus
}
#endif

#endif
