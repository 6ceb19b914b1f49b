// SPDX-License-Identifier: GPL-2.0
/* The remote-tier selftests over RDMA (rxe0): see emp_remote_test.c. */
#define EMP_REMOTE_RDMA 1
#include "emp_remote_test.c"
