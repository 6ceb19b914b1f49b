/* SPDX-License-Identifier: GPL-2.0 */
/* HAVE_VM_FLAGS_SET: vm_flags_set() since 6.3; before it, vm_flags was
 * written directly. */
#include <linux/mm.h>
void emp_probe(struct vm_area_struct *vma);
void emp_probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTEXPAND);
}
