/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libemp's own helpers, shared between its files; not part of the library's
 * interface (libemp.h).
 */
#ifndef EMP_INTERNAL_H
#define EMP_INTERNAL_H

#include <stddef.h>

/* Write a message into @err (@len bytes), if there is room for one. */
void emp_say(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* EMP_INTERNAL_H */
