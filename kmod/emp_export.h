/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What emp.ko offers its companion modules other than tiers (emp_kvm.ko):
 * the version they are released with, and the instance behind a mapping.
 * Tier modules see kmod/emp_tier.h instead; emp.ko's own structures stay
 * in kmod/emp.h, which no other module includes.
 */
#ifndef _EMP_EXPORT_H
#define _EMP_EXPORT_H

#include <linux/types.h>

#define EMP_VERSION_CODE	((0 << 16) | (2 << 8) | 0)	/* 0.2.0 */
#define EMP_VERSION_STR		"0.2.0"

struct vm_area_struct;

bool emp_vma_instance(struct vm_area_struct *vma, char *name, u64 *offset);

#endif /* _EMP_EXPORT_H */
