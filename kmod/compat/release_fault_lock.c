/* SPDX-License-Identifier: GPL-2.0 */
/* HAVE_RELEASE_FAULT_LOCK: release_fault_lock() since 6.5 (a fault may hold
 * the per-VMA lock instead of mmap_lock); before it, only mmap_lock. */
#include <linux/mm.h>
void emp_probe(struct vm_fault *vmf);
void emp_probe(struct vm_fault *vmf)
{
	release_fault_lock(vmf);
}
