/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HAVE_FLUSH_TLB_ALL: x86's __flush_tlb_all() may be called by any GPL
 * module. Kernels with EXPORT_SYMBOL_FOR_KVM() (sid's 7.2 among them)
 * export it to KVM's modules only, which the compiler cannot see; the
 * macro's presence stands for that.
 */
#include <linux/kvm_types.h>
#include <asm/tlbflush.h>
#ifdef EXPORT_SYMBOL_FOR_KVM
#error "__flush_tlb_all() is KVM's alone on this kernel"
#endif
void emp_probe(void);
void emp_probe(void)
{
	__flush_tlb_all();
}
